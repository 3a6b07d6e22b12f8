// A corpus of argument maps run through real PowerShell (pwsh), many cases per
// process. For each map:
// - connector variables style and the safe profile (variables and dashed): every
//   value must reach the script exactly (typographic quotes excepted for the
//   connector, where our single-quote model says what breaks);
// - connector dashed style: what PowerShell makes of the raw values must match
//   a model of PowerShell's argument-mode parsing written here (tokens, types,
//   parse errors, and statements that `;` or a line break split off).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planLaunch, type ArgumentValue, type LaunchRequest } from '../../src/core/launch';
import { connectorSingleQuoted, javaToString } from '../../src/core/launch/quoting';
import { peerMissing, pwshPath } from '../support/peers';
import { Prng } from '../support/faults';

const pwsh = pwshPath();
const skip = peerMissing('pwsh', pwsh !== undefined, 'Install it with `dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9`.');

// ---------------------------------------------------------------- what pwsh reports

/** A value as the driver describes it (strings as base64 of UTF-16LE, decoded below). */
type Observed =
  | { k: 'null' }
  | { k: 'str'; v: string }
  | { k: 'param'; v: string }
  | { k: 'num'; type: string; v: string }
  | { k: 'bool'; v: boolean }
  | { k: 'switch'; v: boolean }
  | { k: 'arr'; items: Observed[] };

interface CaseResult {
  parseError?: string;
  records: Observed[][];
  errors: string[];
}

const DRIVER = String.raw`
$ErrorActionPreference = 'Continue'
function ConvertTo-Rec($v) {
  if ($null -eq $v) { return @{ k = 'null' } }
  if ($v -is [System.Management.Automation.SwitchParameter]) { return @{ k = 'switch'; v = $v.IsPresent } }
  if ($v -is [bool]) { return @{ k = 'bool'; v = $v } }
  if ($v -is [array]) { return @{ k = 'arr'; items = @(foreach ($x in $v) { ConvertTo-Rec $x }) } }
  if ($v -is [string]) {
    $b = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($v))
    if ($v.PSObject.Properties['<CommandParameterName>']) { return @{ k = 'param'; b = $b } }
    return @{ k = 'str'; b = $b }
  }
  if ($v -is [int] -or $v -is [long] -or $v -is [double] -or $v -is [decimal]) {
    return @{ k = 'num'; type = $v.GetType().Name; v = [string]::Format([Globalization.CultureInfo]::InvariantCulture, '{0}', $v) }
  }
  return @{ k = 'other'; type = $v.GetType().FullName }
}
function Show-Args { $global:recs.Add(@(foreach ($a in $args) { ConvertTo-Rec $a })) }
function Show-Vars([string[]]$names) { $global:recs.Add(@(foreach ($n in $names) { ConvertTo-Rec (Get-Variable -Name $n -Scope 1 -ValueOnly) })) }
function Show-Bound($bound, [string[]]$names) { $global:recs.Add(@(foreach ($n in $names) { if ($bound.ContainsKey($n)) { ConvertTo-Rec $bound[$n] } else { @{ k = 'missing' } } })) }
foreach ($line in [IO.File]::ReadLines($args[0])) {
  $id, $b64 = $line.Split("` + '`' + String.raw`t")
  $text = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($b64))
  $global:recs = [Collections.Generic.List[object]]::new()
  $errs = [Collections.Generic.List[string]]::new()
  $parseError = $null
  $sb = $null
  try { $sb = [ScriptBlock]::Create($text) } catch { $parseError = $_.Exception.InnerException.Message; if (-not $parseError) { $parseError = $_.Exception.Message } }
  if ($sb) {
    # No try/catch here: inside one, a statement-terminating error (an unknown command)
    # would stop the whole case instead of only its statement, as in a real script.
    & $sb 2>&1 | ForEach-Object { if ($_ -is [Management.Automation.ErrorRecord]) { $errs.Add($_.FullyQualifiedErrorId) } }
  }
  $json = @{ parseError = $parseError; records = @($global:recs); errors = @($errs) } | ConvertTo-Json -Depth 20 -Compress
  [Console]::Out.WriteLine($id + ' ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json)))
}
`;

function decodeObserved(raw: any): Observed {
  if (raw.k === 'str' || raw.k === 'param') return { k: raw.k, v: Buffer.from(raw.b, 'base64').toString('utf16le') };
  if (raw.k === 'arr') return { k: 'arr', items: (Array.isArray(raw.items) ? raw.items : raw.items == null ? [] : [raw.items]).map(decodeObserved) };
  // Same key order as the model's objects, so that JSON texts compare.
  if (raw.k === 'num') return { k: 'num', type: raw.type, v: raw.v };
  if (raw.k === 'bool' || raw.k === 'switch') return { k: raw.k, v: raw.v };
  if (raw.k === 'null') return { k: 'null' };
  return { k: raw.k, type: raw.type } as unknown as Observed;
}

/** Runs all cases in one pwsh process. */
function runCases(scripts: string[]): CaseResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'corpus-'));
  try {
    const casesPath = join(dir, 'cases.txt');
    const driverPath = join(dir, 'driver.ps1');
    writeFileSync(casesPath, scripts.map((s, i) => `${i}\t${Buffer.from(s, 'utf8').toString('base64')}`).join('\n') + '\n');
    writeFileSync(driverPath, DRIVER);
    const r = spawnSync(pwsh!, ['-NoProfile', '-NonInteractive', '-File', driverPath, casesPath], {
      encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 240_000, env: { ...process.env, NO_COLOR: '1', TERM: 'dumb' },
    });
    assert.equal(r.status, 0, r.stderr);
    const results: CaseResult[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^(\d+) ([A-Za-z0-9+/=]+)$/.exec(line.trim());
      if (!m) continue;
      const raw = JSON.parse(Buffer.from(m[2], 'base64').toString('utf8'));
      const toList = (x: any) => (x === null || x === undefined ? [] : Array.isArray(x) ? x : [x]);
      results[Number(m[1])] = {
        parseError: raw.parseError ?? undefined,
        records: toList(raw.records).map((rec: any) => toList(rec).map(decodeObserved)),
        errors: toList(raw.errors),
      };
    }
    assert.equal(results.filter(Boolean).length, scripts.length, 'a result for every case');
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- generators

/** The shared seeded PRNG (mulberry32), so the generated sets are the same every run. */
function prng(seed: number): () => number {
  const r = new Prng(seed);
  return () => r.next();
}
const rand = prng(20240611);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const int = (n: number) => Math.floor(rand() * n);

/** Words no PowerShell command or alias answers to (so a split-off word fails predictably). */
function word(): string {
  const r = rand();
  if (r < 0.15) return pick(['Žluťoučký', 'kůň', '日本語', 'naïve', 'ДЖ', 'λx']);
  if (r < 0.25) return pick(['😀', '𝔘nicode', 'a🇨🇿b']);
  let s = 'w' + pick(['q', 'x', 'z', 'j']);
  const len = int(6);
  for (let i = 0; i < len; i++) s += pick([...'qxzjkv0123456789']);
  return s;
}

/** Hostile text for the styles that must deliver it unchanged. */
function hostileValue(): string {
  const pieces = ["'", '"', '$', '$x', '$(whoami)', '`', '`n', ';', '\n', '\r\n', ' ', '  ', '\t', '@{}', '@(', '(', ')', '{', '}', ',', '#',
    '|', '&', '<', '>', '’', '‘', '‚', '‛', '“', '”', '😀', '𝔘', 'Ž', '日本', "''", '--%', '-x', '[a, b]', '%PATH%', '\\', '/', '=', ':'];
  const r = rand();
  if (r < 0.05) return '';
  if (r < 0.08) return 'L' + 'x'.repeat(3000 + int(3000)) + "'$`;" + '😀'.repeat(200);
  let s = '';
  const n = 1 + int(6);
  for (let i = 0; i < n; i++) s += rand() < 0.6 ? pick(pieces) : word();
  return s;
}

/** Dashed-style values made of the pieces our model of argument-mode parsing covers. */
function dashedValue(): ArgumentValue {
  const r = rand();
  if (r < 0.06) return null;
  if (r < 0.12) return Array.from({ length: int(4) }, word);
  if (r < 0.17) return '';
  if (r < 0.25) return pick(['42', '007', '1e3', '0x1F', '3.5', '2147483648', '1kb', '12abc']);
  if (r < 0.3) return '-' + word().replace(/^[^a-z]+/i, 'd');
  const atoms: (() => string)[] = [
    word, word, word,
    () => ' ',
    () => "'",
    () => '"',
    () => `$zz${pick(['a', 'b', 'q'])}${int(100)} `,
    () => '$ ',
    () => `;zqcmd${int(10)}`,
    () => `\nzqcmd${int(10)}`,
    () => `,${word()}`,
    () => '`' + pick([...'ntaxz0$ "\'`']),
    () => '#',
    () => '(',
    () => '{',
  ];
  let s = '';
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) s += pick(atoms)();
  return s;
}

function argName(taken: Set<string>): string {
  for (;;) {
    let s = 'q';
    const len = 1 + int(6);
    for (let i = 0; i < len; i++) s += pick([...'abcdefghijklmnopqrstuvwxyz0123456789']);
    if (!taken.has(s)) { taken.add(s); return s; }
  }
}

// ---------------------------------------------------------------- the model

const SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b";
const DOUBLE_QUOTES = '"\u201c\u201d\u201e';
const ESCAPES: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
type ParseErrorKind = 'terminator' | 'missing-closing' | 'missing-expression' | 'missing-argument';
const PARSE_ERROR_TEXT: Record<ParseErrorKind, RegExp> = {
  terminator: /missing the terminator/,
  'missing-closing': /Missing closing/i,
  'missing-expression': /Missing expression/,
  'missing-argument': /Missing argument in parameter list/,
};
const isNameChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
class ModelParseError extends Error {
  constructor(readonly kind: ParseErrorKind) { super(kind); }
}

/** Reads a single-quoted string starting at `at` (the opening quote): [content, index after it]. */
function readSingleQuoted(text: string, at: number): [string, number] {
  let i = at + 1;
  let v = '';
  for (;;) {
    if (i >= text.length) throw new ModelParseError('terminator');
    const c = text[i];
    if (SINGLE_QUOTES.includes(c)) {
      // Two quote characters of any kind in a row stand for the second one.
      if (i + 1 < text.length && SINGLE_QUOTES.includes(text[i + 1])) { v += text[i + 1]; i += 2; continue; }
      return [v, i + 1];
    }
    v += c;
    i++;
  }
}

/** Reads an expandable string: undefined `$vars` expand to nothing, backticks escape. */
function readDoubleQuoted(text: string, at: number): [string, number] {
  let i = at + 1;
  let v = '';
  for (;;) {
    if (i >= text.length) throw new ModelParseError('terminator');
    const c = text[i];
    if (DOUBLE_QUOTES.includes(c)) {
      if (i + 1 < text.length && DOUBLE_QUOTES.includes(text[i + 1])) { v += text[i + 1]; i += 2; continue; }
      return [v, i + 1];
    }
    if (c === '`') { const n = text[i + 1]; v += ESCAPES[n] ?? n; i += 2; continue; }
    if (c === '$' && isNameChar(text[i + 1])) { i++; while (isNameChar(text[i])) i++; continue; }
    v += c;
    i++;
  }
}

type ModelArg = Observed;

/** A bareword that is a number literal in argument mode, as PowerShell types it. */
function numberLiteral(s: string): ModelArg | undefined {
  let m: RegExpExecArray | null;
  if (/^\d+$/.test(s)) {
    const n = BigInt(s);
    return { k: 'num', type: n <= 2147483647n ? 'Int32' : 'Int64', v: n.toString() };
  }
  if ((m = /^0x([0-9a-f]{1,7})$/i.exec(s))) return { k: 'num', type: 'Int32', v: String(parseInt(m[1], 16)) };
  if (/^\d+\.\d+$|^\d+e\d+$/i.test(s)) return { k: 'num', type: 'Double', v: String(Number(s)) };
  if ((m = /^(\d+)kb$/i.exec(s))) return { k: 'num', type: 'Int32', v: String(Number(m[1]) * 1024) };
  return undefined;
}

interface ModelResult { parseError?: ParseErrorKind; calls: ModelArg[][]; errors: string[] }

/** Argument-mode parsing of `Show-Args <args>` and any statements split off by `;` or line breaks. */
function modelDashed(text: string): ModelResult {
  const calls: ModelArg[][] = [];
  const errors: string[] = [];
  let i = 0;
  // Between tokens a backtick before a space, tab or line break is only whitespace
  // (inside a bareword the same backtick escapes the space into the value).
  const ws = () => {
    for (;;) {
      if (text[i] === ' ' || text[i] === '\t') i++;
      else if (text[i] === '`' && [' ', '\t', '\n'].includes(text[i + 1])) i += 2;
      else return;
    }
  };
  const atStatementEnd = () => i >= text.length || text[i] === '\n' || text[i] === ';';
  const skipComment = () => { while (i < text.length && text[i] !== '\n') i++; };

  function bareword(): ModelArg {
    let v = '';
    let plain = true;
    while (i < text.length) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === ';' || c === ',') break;
      if (c === '(' || c === '{') throw new ModelParseError('missing-closing');
      if (c === '`') {
        const n = text[i + 1];
        if (n === '\n') { i += 2; continue; } // line continuation
        v += ESCAPES[n] ?? n;
        i += 2;
        plain = false;
        continue;
      }
      if (SINGLE_QUOTES.includes(c)) { const [s, j] = readSingleQuoted(text, i); v += s; i = j; plain = false; continue; }
      if (DOUBLE_QUOTES.includes(c)) { const [s, j] = readDoubleQuoted(text, i); v += s; i = j; plain = false; continue; }
      if (c === '$' && isNameChar(text[i + 1])) { i++; while (isNameChar(text[i])) i++; plain = false; continue; }
      v += c;
      i++;
    }
    return (plain && numberLiteral(v)) || { k: 'str', v };
  }

  function argument(): ModelArg {
    const c = text[i];
    if (c === '-' && /[A-Za-z_]/.test(text[i + 1] ?? '')) {
      const start = i;
      i++;
      while (i < text.length && !/[\s;,]/.test(text[i])) i++;
      return { k: 'param', v: text.slice(start, i) };
    }
    if (SINGLE_QUOTES.includes(c)) { const [v, j] = readSingleQuoted(text, i); i = j; return { k: 'str', v }; }
    if (DOUBLE_QUOTES.includes(c)) { const [v, j] = readDoubleQuoted(text, i); i = j; return { k: 'str', v }; }
    if (c === '$' && isNameChar(text[i + 1])) { i++; while (isNameChar(text[i])) i++; return { k: 'null' }; }
    if (c === '(' || c === '{') throw new ModelParseError('missing-closing');
    return bareword();
  }

  try {
    while (i < text.length) {
      ws();
      if (text[i] === '\n' || text[i] === ';') { i++; continue; }
      if (text[i] === '#') { skipComment(); continue; }
      if (i >= text.length) break;
      const command = bareword();
      const args: ModelArg[] = [];
      for (;;) {
        ws();
        if (atStatementEnd()) break;
        if (text[i] === '#') { skipComment(); break; }
        if (text[i] === ',') {
          // A comma needs an argument before it; a parameter name does not count.
          const last = args[args.length - 1];
          if (!last || last.k === 'param') throw new ModelParseError('missing-argument');
          i++;
          ws();
          if (atStatementEnd() || text[i] === '#') throw new ModelParseError('missing-expression');
          const next = argument();
          const prev = args.pop();
          if (!prev) throw new ModelParseError('missing-expression');
          const items = prev.k === 'arr' ? prev.items : [prev];
          args.push({ k: 'arr', items: [...items, next.k === 'param' ? { k: 'str', v: next.v } : next] });
          continue;
        }
        args.push(argument());
      }
      if (command.k === 'str' && command.v === 'Show-Args') calls.push(args);
      else errors.push('CommandNotFoundException');
    }
  } catch (e) {
    if (e instanceof ModelParseError) return { parseError: e.kind, calls: [], errors: [] };
    throw e;
  }
  return { calls, errors };
}

/**
 * What the connector's `$name = '<value>'; ` delivers: the value itself, unless a
 * typographic quote ends the string early (then 'broken'), or pairs of quote
 * characters collapse (then the collapsed text).
 */
function modelConnectorVariable(value: string): string | 'broken' {
  const literal = connectorSingleQuoted(value);
  try {
    const [v, end] = readSingleQuoted(literal, 0);
    return end === literal.length ? v : 'broken';
  } catch {
    return 'broken';
  }
}

const str = (v: string): Observed => ({ k: 'str', v });
const valueAsObserved = (v: ArgumentValue): Observed => (v === null ? { k: 'null' } : Array.isArray(v) ? { k: 'arr', items: v.map(str) } : str(v));
const show = (x: unknown) => JSON.stringify(x).slice(0, 400);
/** deepEqual with a short message: values can be thousands of characters long. */
function same(actual: unknown, expected: unknown, context: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a === e) return;
  let at = 0;
  while (at < a.length && a[at] === e[at]) at++;
  const from = Math.max(0, at - 80);
  assert.fail(`${context}\n  differs at ${at}:\n  actual:   …${a.slice(from, at + 120)}\n  expected: …${e.slice(from, at + 120)}`);
}

// ---------------------------------------------------------------- the test

test('corpus: 240 argument maps through real PowerShell (variables, safe, connector dashed)', { skip, timeout: 300_000 }, () => {
  const started = Date.now();
  type Case = { script: string; check: (r: CaseResult) => void };
  const cases: Case[] = [];
  const req = (over: Partial<LaunchRequest>): LaunchRequest => ({ language: 'powershell', code: '', args: [], style: 'dashed', profile: 'connector-1.5', ...over });
  let brokenPredicted = 0;
  let parseErrorsPredicted = 0;
  let splitStatementsPredicted = 0;

  for (let m = 0; m < 240; m++) {
    const taken = new Set<string>();
    const size = 1 + int(5);
    const names = Array.from({ length: size }, () => argName(taken));
    const hostile = names.map((name) => ({ name, value: hostileValue() as ArgumentValue }));
    // Lists and nulls too, for the styles that support them.
    const safeArgs = hostile.map((a, i) => (i === 0 && m % 5 === 1 ? { ...a, value: null } : i === 1 && m % 4 === 2 ? { ...a, value: [hostileValue(), hostileValue()] } : a));

    // 1. Connector variables: `$name = '<toString>'; ` (no nulls: the connector throws on them).
    {
      const plan = planLaunch(req({ style: 'variables', code: `Show-Vars ${names.map((n) => `'${n}'`).join(',')}`, args: hostile }));
      // Show-Vars prints in the order it is given the names (the resource order).
      const expected = names.map((n) => modelConnectorVariable(javaToString(hostile.find((a) => a.name === n)!.value)));
      cases.push({
        script: plan.script!,
        check: (r) => {
          if (expected.includes('broken')) {
            brokenPredicted++;
            const allDelivered = !r.parseError && r.records.length === 1 && JSON.stringify(r.records[0]) === JSON.stringify(names.map((n) => str(hostile.find((a) => a.name === n)!.value as string)));
            assert.ok(!allDelivered, `connector variables should break: ${show(plan.script)}`);
            return;
          }
          assert.equal(r.parseError, undefined, show(plan.script));
          same(r.records, [expected.map((v) => str(v))], show(plan.script));
        },
      });
    }
    // 2. Safe variables: literals, arrays, $null; every value exactly.
    {
      const plan = planLaunch(req({ profile: 'safe', style: 'variables', code: `Show-Vars ${names.map((n) => `'${n}'`).join(',')}`, args: safeArgs }));
      const expected = names.map((n) => valueAsObserved(safeArgs.find((a) => a.name === n)!.value));
      cases.push({
        script: plan.script!,
        check: (r) => {
          assert.equal(r.parseError, undefined, show(plan.script));
          assert.deepEqual(r.errors, [], show(plan.script));
          same(r.records, [expected], show(plan.script));
        },
      });
    }
    // 3. Safe dashed: bound parameters; null is a present switch, true/false booleans.
    {
      const decl = names.map((n) => (safeArgs.find((a) => a.name === n)!.value === null ? `[switch]$${n}` : `$${n}`)).join(', ');
      const code = `function Show-Params { param(${decl}) Show-Bound $PSBoundParameters ${names.map((n) => `'${n}'`).join(',')} }; Show-Params`;
      const plan = planLaunch(req({ profile: 'safe', code, args: safeArgs }));
      const expected = names.map((n): Observed => {
        const v = safeArgs.find((a) => a.name === n)!.value;
        if (v === null) return { k: 'switch', v: true };
        if (typeof v === 'string' && /^(true|false)$/i.test(v)) return { k: 'bool', v: v.toLowerCase() === 'true' };
        return valueAsObserved(v);
      });
      cases.push({
        script: plan.script!,
        check: (r) => {
          assert.equal(r.parseError, undefined, show(plan.script));
          assert.deepEqual(r.errors, [], show(plan.script));
          same(r.records, [expected], show(plan.script));
        },
      });
    }
    // 4. Connector dashed: raw values; the model says what PowerShell does with them.
    {
      const args = names.map((name) => ({ name, value: dashedValue() }));
      const plan = planLaunch(req({ code: 'Show-Args', args }));
      const expected = modelDashed(plan.script!);
      if (expected.parseError) parseErrorsPredicted++;
      if (expected.errors.length) splitStatementsPredicted++;
      cases.push({
        script: plan.script!,
        check: (r) => {
          if (expected.parseError) {
            assert.ok(r.parseError, `expected a parse error (${expected.parseError}) for ${show(plan.script)}`);
            assert.match(r.parseError!, PARSE_ERROR_TEXT[expected.parseError], show(plan.script));
            return;
          }
          assert.equal(r.parseError, undefined, show(plan.script));
          same(r.records, expected.calls, show(plan.script));
          same(r.errors, expected.errors, show(plan.script));
        },
      });
    }
  }
  // The semantics example, explicitly.
  {
    const plan = planLaunch(req({ code: 'Show-Args', args: [{ name: 'name', value: "John O'Neil" }, { name: 'groups', value: ['a', 'b'] }, { name: 'flag', value: null }] }));
    assert.equal(plan.script, "Show-Args -flag -name John O'Neil -groups [a, b]");
    assert.equal(modelDashed(plan.script!).parseError, 'terminator');
    cases.push({ script: plan.script!, check: (r) => assert.match(r.parseError ?? '', /missing the terminator/) });
  }

  const results = runCases(cases.map((c) => c.script));
  cases.forEach((c, i) => {
    try {
      c.check(results[i]);
    } catch (e) {
      // CORPUS_DUMP=file keeps the failing case's script for a closer look.
      if (process.env.CORPUS_DUMP) writeFileSync(process.env.CORPUS_DUMP, c.script);
      throw e;
    }
  });
  // The corpus must really exercise the hard cases.
  assert.ok(cases.length >= 961);
  assert.ok(brokenPredicted >= 5, `typographic-quote breakages: ${brokenPredicted}`);
  assert.ok(parseErrorsPredicted >= 20, `dashed parse errors: ${parseErrorsPredicted}`);
  assert.ok(splitStatementsPredicted >= 10, `dashed split statements: ${splitStatementsPredicted}`);
  assert.ok(Date.now() - started < 120_000, 'the corpus should run well under two minutes');
});
