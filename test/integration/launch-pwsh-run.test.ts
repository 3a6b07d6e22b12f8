// Runs planned command lines in real PowerShell (pwsh), the way the host would
// after cmd.exe: the exact -EncodedCommand lines, the safe profile's stdin
// fallback, and the persistent powerhell/exchange loops fed over stdin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  EXCHANGE_MISSING_MESSAGE, interpretResult, loopExitInput, parseLoopOutput, planLaunch, POWERHELL_PROMPT,
  type LaunchPlan, type LaunchRequest, type ScriptArgument,
} from '../../src/core/launch';
import { explainLoopFailure } from '../../src/core/launch/powerhell';
import { peerMissing, pwshPath } from '../support/peers';

const pwsh = pwshPath();
const skip = peerMissing('pwsh', pwsh !== undefined, 'Install it with `dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9`.');
const env = { ...process.env, NO_COLOR: '1', TERM: 'dumb', POWERSHELL_TELEMETRY_OPTOUT: '1' };

const req = (over: Partial<LaunchRequest>): LaunchRequest => ({ language: 'powershell', code: '', args: [], style: 'dashed', profile: 'safe', ...over });
const a = (name: string, value: ScriptArgument['value']): ScriptArgument => ({ name, value });

/** Runs the plan's command line as cmd.exe would hand it over: `powershell` is our pwsh. */
function runPlan(plan: LaunchPlan): { exitCode: number; stdout: string; stderr: string } {
  assert.ok(!plan.blocked);
  const words = plan.commandLine.split(' ');
  assert.equal(words[0], 'powershell');
  const r = spawnSync(pwsh!, words.slice(1), { input: plan.stdin ?? '', encoding: 'utf8', env, timeout: 60_000 });
  return { exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('connector 1.5 variables example runs and delivers the value', { skip }, () => {
  const plan = planLaunch(req({ profile: 'connector-1.5', style: 'variables', code: 'Write-Output "id=$identity"', args: [a('identity', "jd'oe x")] }));
  const r = runPlan(plan);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, "id=jd'oe x\n");
  assert.deepEqual(interpretResult(plan, r), { ok: true, connectorWouldShow: { result: "id=jd'oe x\n" }, stderrHiddenByConnector: false });
});

test("connector 1.5 dashed example: John O'Neil breaks the script (unterminated string)", { skip }, () => {
  const plan = planLaunch(req({ profile: 'connector-1.5', code: 'function Set-X { $args.Count }; Set-X', args: [a('name', "John O'Neil"), a('groups', ['a', 'b']), a('flag', null)] }));
  const r = runPlan(plan);
  // pwsh 7 exits 1 on a parse error in -EncodedCommand without printing it; ask the parser why.
  assert.equal(r.exitCode, 1);
  const encoded = plan.commandLine.split(' ')[2];
  const why = spawnSync(pwsh!, ['-NoProfile', '-NonInteractive', '-Command',
    `try { [void][ScriptBlock]::Create([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('${encoded}'))); 'parsed' } catch { $_.Exception.InnerException.Message }`],
  { encoding: 'utf8', env });
  assert.match(why.stdout, /missing the terminator: '/);
  const i = interpretResult(plan, r);
  assert.equal(i.ok, false);
  assert.equal(i.message, `Script execution failed: Exit code ${r.exitCode} received during command execution`);
});

test('connector 1.4 lowercase -encodedcommand line runs too, and its failure message carries stderr', { skip }, () => {
  const plan = planLaunch(req({ profile: 'connector-1.4', code: 'Write-Output $args.Count; exit 4; #', args: [a('x', null)] }));
  const r = runPlan(plan);
  assert.equal(r.exitCode, 4);
  assert.equal(interpretResult(plan, r).message, `Script execution failed (status code 4): ${r.stderr}`);
});

test('safe profile: `exit 3` gives exit code 3, inline and through the stdin fallback', { skip }, () => {
  const short = planLaunch(req({ code: 'Write-Output "a=$a"; exit 3', style: 'variables', args: [a('a', '1')] }));
  assert.equal(short.stdin, undefined);
  assert.deepEqual(runPlan(short), { exitCode: 3, stdout: 'a=1\n', stderr: '' });
  const padding = `# ${'x'.repeat(5000)}\n`;
  const long = planLaunch(req({ code: `${padding}Write-Output "a=$a é😀"; exit 3`, style: 'variables', args: [a('a', "it's ’ long")] }));
  assert.ok(long.stdin, 'the long script goes over stdin');
  assert.ok(long.commandLine.length < 8191);
  assert.deepEqual(runPlan(long), { exitCode: 3, stdout: "a=it's ’ long é😀\n", stderr: '' });
});

test('safe stdin fallback ends like -EncodedCommand would: exit codes and output match for many scripts', { skip }, () => {
  const padding = `# ${'p'.repeat(5000)}\n`;
  const scripts = [
    'Write-Output hi', 'exit 0', 'exit 7', 'Write-Error boom', 'Write-Error boom; "after"', 'throw "x"', 'Get-Item /nonexistent/x',
    '1/0', 'no-such-command-xyz', 'function f { exit 9 }; f', '$x = 2; exit $x * 3', '"tail" # comment', 'if ($true) {',
    '[Console]::Out.Write("no newline")', '$LASTEXITCODE = 5', 'param($p = "d") "p=$p"',
  ];
  for (const code of scripts) {
    const inline = runPlan(planLaunch(req({ code })));
    const viaStdin = planLaunch(req({ code: padding + code }));
    assert.ok(viaStdin.stdin);
    const fallback = runPlan(viaStdin);
    assert.equal(fallback.exitCode, inline.exitCode, `exit code of ${code}`);
    assert.equal(fallback.stdout, inline.stdout, `stdout of ${code}`);
    // A parse error is the exception: pwsh 7 prints nothing for it with -EncodedCommand, the bootstrap prints it.
    if (code !== 'if ($true) {') assert.equal(fallback.stderr === '', inline.stderr === '', `stderr presence of ${code}`);
    else assert.match(fallback.stderr, /Missing closing/);
  }
});

/** A running loop: send framed input, read stdout until the next marker line. */
class Loop {
  private out = '';
  private err = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number>;
  private readonly child;
  constructor(plan: LaunchPlan) {
    const words = plan.commandLine.split(' ');
    this.child = spawn(pwsh!, words.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => { this.out += d; this.wake(); });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => { this.err += d; });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => { this.wake(); resolve(code ?? -1); }));
  }
  private wake() { for (const w of this.waiters.splice(0)) w(); }
  private async until(done: () => boolean, what: string) {
    const deadline = Date.now() + 30_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout so far: ${JSON.stringify(this.out)} stderr: ${JSON.stringify(this.err)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }
  /** Waits for the first prompt that the loop prints when it is ready. */
  async ready() {
    await this.until(() => this.out.includes(`${POWERHELL_PROMPT}\n`) || this.child.exitCode !== null, 'the first prompt');
    const at = this.out.indexOf('\n', this.out.indexOf(POWERHELL_PROMPT));
    this.out = this.out.slice(at + 1);
  }
  /** Sends one script and returns what the loop printed for it (up to and including the marker line). */
  async run(input: Buffer): Promise<{ stdout: string; stderr: string }> {
    this.err = '';
    this.child.stdin.write(input);
    await this.until(() => parseLoopOutput(this.out) !== undefined, 'the prompt after a script');
    const parsed = parseLoopOutput(this.out)!;
    const stdout = this.out.slice(0, parsed.consumed);
    this.out = this.out.slice(parsed.consumed);
    return { stdout, stderr: this.err };
  }
  stderrSoFar() { return this.err; }
  async close() { this.child.stdin.end(loopExitInput()); return this.exited; }
}

test('connector powerhell loop (1.1): several scripts in one PowerShell, a variable kept, errors reported', { skip }, async () => {
  const first = planLaunch(req({ language: 'powerhell', profile: 'connector-1.5', style: 'variables', code: '$kept = "v-$who"', args: [a('who', "O'Neil")] }));
  assert.equal(first.persistent?.protocol, 'connector-1.1');
  const loop = new Loop(first);
  await loop.ready();
  const r1 = await loop.run(first.persistent!.input);
  assert.deepEqual(interpretResult(first, { exitCode: 0, ...r1 }).connectorWouldShow, { result: '' });
  const second = planLaunch(req({ language: 'powerhell', profile: 'connector-1.5', style: 'variables', code: 'Write-Output "kept=$kept"' }));
  const r2 = await loop.run(second.persistent!.input);
  assert.equal(interpretResult(second, { exitCode: 0, ...r2 }).connectorWouldShow.result, "kept=v-O'Neil\n");
  // An error written by the script: the loop prints it after the marker, the connector reports it.
  const third = planLaunch(req({ language: 'powerhell', profile: 'connector-1.5', style: 'variables', code: "Write-Error 'mailbox quota exceeded'" }));
  const r3 = interpretResult(third, { exitCode: 0, ...(await loop.run(third.persistent!.input)) });
  assert.equal(r3.ok, false);
  assert.match(r3.connectorWouldShow.error ?? '', /mailbox quota exceeded/);
  // The 1.1 argument bug: the dashed style sends "-name = 'v'; code", which fails as a command.
  const dashed = planLaunch(req({ language: 'powerhell', profile: 'connector-1.5', style: 'dashed', code: 'Write-Output ok', args: [a('name', 'v')] }));
  assert.ok(dashed.warnings.some((w) => w.code === 'powerhell-argument-bug'));
  assert.equal(dashed.script, "-name = 'v'; Write-Output ok");
  const r4 = interpretResult(dashed, { exitCode: 0, ...(await loop.run(dashed.persistent!.input)) });
  assert.equal(r4.ok, false);
  assert.equal(await loop.close(), 0);
});

test('connector powerhell loop: a blank line cuts the script (the warned limitation)', { skip }, async () => {
  const plan = planLaunch(req({ language: 'powerhell', profile: 'connector-1.5', style: 'variables', code: '$part = "one"\n\nWrite-Output "two"' }));
  assert.ok(plan.warnings.some((w) => w.code === 'powerhell-blank-lines'));
  const loop = new Loop(plan);
  await loop.ready();
  // Only the text before the blank line runs as this script; "two" becomes a script of its own.
  const first = await loop.run(plan.persistent!.input);
  assert.equal(parseLoopOutput(first.stdout)?.result, '');
  const rest = await loop.run(Buffer.alloc(0));
  assert.equal(parseLoopOutput(rest.stdout)?.result, 'two\n');
  assert.equal(await loop.close(), 0);
});

test('safe powerhell loop: blank lines and quotes survive, variables persist, errors reported', { skip }, async () => {
  const first = planLaunch(req({ language: 'powerhell', style: 'variables', code: '$kept = "v-$who"\n\n$n = 2', args: [a('who', "it’s 'x'")] }));
  assert.equal(first.persistent?.protocol, 'safe');
  const loop = new Loop(first);
  await loop.ready();
  assert.equal(interpretResult(first, { exitCode: 0, ...(await loop.run(first.persistent!.input)) }).ok, true);
  const second = planLaunch(req({ language: 'powerhell', style: 'variables', code: 'Write-Output "kept=$kept n=$n"\n\nGet-Date -Year 2001 -Format yyyy' }));
  const r2 = interpretResult(second, { exitCode: 0, ...(await loop.run(second.persistent!.input)) });
  assert.deepEqual(r2.connectorWouldShow, { result: "kept=v-it’s 'x' n=2\n2001\n" });
  const third = planLaunch(req({ language: 'powerhell', style: 'variables', code: 'Write-Error "first problem"; Write-Error "second"; "still runs"' }));
  const r3 = interpretResult(third, { exitCode: 0, ...(await loop.run(third.persistent!.input)) });
  assert.equal(r3.ok, false);
  assert.equal(r3.connectorWouldShow.error, 'first problem');
  const fourth = planLaunch(req({ language: 'powerhell', style: 'variables', code: 'throw "stop here"' }));
  const r4 = interpretResult(fourth, { exitCode: 0, ...(await loop.run(fourth.persistent!.input)) });
  assert.equal(r4.connectorWouldShow.error, 'stop here');
  assert.equal(await loop.close(), 0);
});

test('exchange: the safe loop says clearly that the host has no Exchange snap-in', { skip }, async () => {
  const plan = planLaunch(req({ language: 'exchange', style: 'variables', code: 'Get-Mailbox' }));
  const loop = new Loop(plan);
  const code = await loop.exited;
  assert.equal(code, 64);
  assert.match(loop.stderrSoFar(), /EXCHANGE SNAP-IN NOT AVAILABLE/);
  const r = interpretResult(plan, { exitCode: code, stdout: '', stderr: loop.stderrSoFar() });
  assert.equal(r.ok, false);
  assert.ok(r.message?.includes(EXCHANGE_MISSING_MESSAGE));
});

test('exchange: the connector loop starts anyway, and the missing cmdlet is explained', { skip }, async () => {
  const plan = planLaunch(req({ language: 'exchange', profile: 'connector-1.5', style: 'variables', code: 'Enable-Mailbox -Identity $id', args: [a('id', 'jdoe')] }));
  assert.ok(plan.persistent?.loopScript.startsWith('Add-PSSnapin *Exchange*\n'));
  const loop = new Loop(plan);
  await loop.ready();
  const out = await loop.run(plan.persistent!.input);
  const r = interpretResult(plan, { exitCode: 0, ...out });
  assert.equal(r.ok, false);
  assert.match(r.connectorWouldShow.error ?? '', /Enable-Mailbox/);
  assert.match(r.message ?? '', /Exchange/);
  assert.ok(explainLoopFailure('exchange', undefined, out.stdout, out.stderr));
  assert.equal(await loop.close(), 0);
});
