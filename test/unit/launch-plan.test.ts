import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPreview, interpretResult, parseArgumentAssignment, parseArgumentAssignments, planLaunch, decodePowerShellCommand,
  type LaunchRequest, type ScriptArgument, STDIN_BOOTSTRAP,
} from '../../src/core/launch';
import { ConfigError } from '../../src/core/errors';

const req = (over: Partial<LaunchRequest>): LaunchRequest => ({ language: 'powershell', code: '', args: [], style: 'dashed', profile: 'connector-1.5', ...over });
const a = (name: string, value: ScriptArgument['value']): ScriptArgument => ({ name, value });
/** The script inside `powershell -EncodedCommand <b64>`, decoded from the command line itself. */
function decodedScript(commandLine: string): string {
  const m = /^powershell -(?:EncodedCommand|encodedcommand) ([A-Za-z0-9+/=]+)$/.exec(commandLine);
  assert.ok(m, `not an encoded command line: ${commandLine}`);
  return decodePowerShellCommand(m[1]);
}
const codes = (p: { warnings: { code: string }[] }) => p.warnings.map((w) => w.code);

test('connector 1.5 variables: identity=jdoe with Enable-Mailbox', () => {
  const p = planLaunch(req({ style: 'variables', code: 'Enable-Mailbox -Identity $identity', args: [a('identity', 'jdoe')] }));
  const script = "$identity = 'jdoe'; Enable-Mailbox -Identity $identity";
  assert.equal(p.script, script);
  assert.equal(p.command, `powershell -EncodedCommand ${Buffer.from(script, 'utf16le').toString('base64')}`);
  assert.deepEqual(p.arguments, []);
  assert.equal(p.commandLine, p.command);
  assert.equal(decodedScript(p.commandLine), script);
  // The base64 really is UTF-16LE: every ASCII character is followed by a zero byte.
  const bytes = Buffer.from(p.command.split(' ')[2], 'base64');
  assert.equal(bytes.length, script.length * 2);
  assert.equal(bytes[1], 0);
  assert.deepEqual(p.shell, { codepage: 437, noProfile: false });
  assert.equal(p.consoleModeStdin, true);
  assert.equal(p.skipCmdShell, false);
  assert.equal(p.newShellPerRun, true);
  assert.deepEqual(p.warnings, []);
});

test("connector 1.5 dashed: {name: John O'Neil, groups: [a, b], flag: null} in HashMap order, with warnings", () => {
  const p = planLaunch(req({ code: 'Set-X', args: [a('name', "John O'Neil"), a('groups', ['a', 'b']), a('flag', null)] }));
  assert.equal(p.script, "Set-X -flag -name John O'Neil -groups [a, b]");
  assert.equal(decodedScript(p.commandLine), p.script);
  assert.deepEqual(p.argumentOrder, ['flag', 'name', 'groups']);
  const misparsed = p.warnings.filter((w) => w.code === 'dashed-value-misparsed').map((w) => w.argument);
  assert.deepEqual(misparsed.sort(), ['groups', 'name']);
});

test('connector 1.5 variables: values quoted with doubled quotes, newlines literal, lists as toString', () => {
  const p = planLaunch(req({ style: 'variables', code: 'f', args: [a('name', "O'Neil\r\nx"), a('groups', ['a', "b'c"])] }));
  assert.equal(p.script, "$name = 'O''Neil\r\nx'; $groups = '[a, b''c]'; f");
});

test('connector 1.5: no arguments sends the code unchanged', () => {
  for (const style of ['dashed', 'variables', 'slashed'] as const) {
    assert.equal(planLaunch(req({ style, code: 'Get-Date' })).script, 'Get-Date');
  }
});

test('connector 1.5 slashed powershell and the jump.bat example of the connector docs', () => {
  const p = planLaunch(req({ style: 'slashed', code: 'Set-X', args: [a('height', '100'), a('distance', '200')] }));
  assert.equal(p.script, 'Set-X /distance 200 /height 100');
  assert.ok(codes(p).includes('slashed-not-parameters'));
  const cmd = planLaunch(req({ language: 'cmd', code: 'jump.bat', args: [a('height', '100'), a('distance', '200')] }));
  assert.equal(cmd.command, 'jump.bat -distance 200 -height 100');
  assert.equal(cmd.commandLine, 'jump.bat -distance 200 -height 100');
  assert.deepEqual(cmd.arguments, []);
  assert.equal(cmd.script, undefined);
});

test('connector 1.5 cmd: the $ prefix quirk under variables, / under slashed, null omitted, raw values', () => {
  const args = [a('height', '100'), a('distance', 'a b'), a('flag', null)];
  // HashMap order of {height, distance, flag} is flag, distance, height.
  assert.equal(planLaunch(req({ language: 'cmd', style: 'variables', code: 'jump.bat', args })).command, 'jump.bat $flag $distance a b $height 100');
  assert.equal(planLaunch(req({ language: 'cmd', style: 'slashed', code: 'jump.bat', args })).command, 'jump.bat /flag /distance a b /height 100');
  const p = planLaunch(req({ language: 'cmd', style: 'variables', code: 'jump.bat', args }));
  assert.ok(codes(p).includes('cmd-dollar-prefix'));
  assert.deepEqual(p.warnings.filter((w) => w.code === 'cmd-metacharacters').map((w) => w.argument), ['distance']);
});

test('connector 1.5 variables with a null: the connector throws, the plan is blocked', () => {
  const p = planLaunch(req({ style: 'variables', code: 'f', args: [a('x', 'v'), a('flag', null)] }));
  assert.ok(p.blocked && /NullPointerException/.test(p.blocked));
  assert.equal(p.command, '');
  assert.equal(p.commandLine, '');
  const w = p.warnings.find((x) => x.code === 'null-in-variables');
  assert.equal(w?.severity, 'error');
  assert.equal(w?.argument, 'flag');
  assert.match(formatPreview(p), /NOT RUNNABLE/);
});

test('connector 1.4: lowercase -encodedcommand, literal null in dashed, nulls skipped in variables, cmd always dashed', () => {
  const args = [a('name', 'jdoe'), a('flag', null)];
  const dashed = planLaunch(req({ profile: 'connector-1.4', code: 'Set-X', args }));
  assert.match(dashed.command, /^powershell -encodedcommand [A-Za-z0-9+/=]+$/);
  assert.equal(decodedScript(dashed.command), 'Set-X -flag null -name jdoe');
  const vars = planLaunch(req({ profile: 'connector-1.4', style: 'variables', code: 'Set-X $name', args }));
  assert.equal(vars.script, "$name = 'jdoe'; Set-X $name");
  assert.equal(vars.blocked, undefined);
  const cmd = planLaunch(req({ profile: 'connector-1.4', language: 'cmd', style: 'variables', code: 'run.bat', args }));
  assert.equal(cmd.command, 'run.bat -flag null -name jdoe');
  assert.ok(codes(cmd).includes('cmd-always-dashed'));
  assert.throws(() => planLaunch(req({ profile: 'connector-1.4', style: 'slashed', code: 'x' })), ConfigError);
});

test('argument order: the examples of connector-semantics.md', () => {
  const order = (names: string[]) => planLaunch(req({ code: 'f', args: names.map((n) => a(n, 'v')) })).argumentOrder;
  assert.deepEqual(order(['height', 'distance']), ['distance', 'height']);
  assert.deepEqual(order(['identity', 'winrm_user', 'winrm_password']), ['winrm_password', 'identity', 'winrm_user']);
  const kept = planLaunch(req({ profile: 'safe', code: 'f', args: [a('height', '1'), a('distance', '2')], keepArgumentOrder: true }));
  assert.deepEqual(kept.argumentOrder, ['height', 'distance']);
  assert.throws(() => planLaunch(req({ code: 'f', keepArgumentOrder: true })), ConfigError);
});

test('safe variables: literals, arrays, $null, typographic quotes doubled; UTF-8 and a reused shell', () => {
  const p = planLaunch(req({ profile: 'safe', style: 'variables', code: 'f', keepArgumentOrder: true,
    args: [a('name', "it’s O'Neil"), a('groups', ['a', "b'c"]), a('none', null), a('empty', '')] }));
  assert.equal(p.script, "$name = 'it’’s O''Neil'; $groups = @('a','b''c'); $none = $null; $empty = ''; f");
  assert.equal(p.command, 'powershell');
  assert.deepEqual(p.arguments.slice(0, 3), ['-NoProfile', '-NonInteractive', '-EncodedCommand']);
  assert.equal(decodePowerShellCommand(p.arguments[3]), p.script);
  assert.equal(p.commandLine, `powershell -NoProfile -NonInteractive -EncodedCommand ${p.arguments[3]}`);
  assert.deepEqual(p.shell, { codepage: 65001, noProfile: false });
  assert.equal(p.newShellPerRun, false);
  assert.equal(p.stdin, undefined);
});

test('safe dashed: quoted values, bare switch for null, booleans as -name:$true', () => {
  const p = planLaunch(req({ profile: 'safe', code: 'Set-X', keepArgumentOrder: true,
    args: [a('name', "John O'Neil"), a('groups', ['a', 'b']), a('flag', null), a('enabled', 'true'), a('off', 'False')] }));
  assert.equal(p.script, "Set-X -name:'John O''Neil' -groups:@('a','b') -flag -enabled:$true -off:$false");
  assert.deepEqual(p.warnings.map((w) => [w.code, w.argument]), [['boolean-switch', 'enabled'], ['boolean-switch', 'off']]);
});

test('safe: argument names must be identifiers; duplicates refused; list items merge', () => {
  assert.throws(() => planLaunch(req({ profile: 'safe', code: 'f', args: [a('bad name', 'v')] })), ConfigError);
  assert.throws(() => planLaunch(req({ profile: 'safe', code: 'f', args: [a('x;y', 'v')] })), ConfigError);
  assert.throws(() => planLaunch(req({ profile: 'safe', code: 'f', args: [a('x', '1'), a('x', '2')] })), ConfigError);
  const merged = planLaunch(req({ profile: 'safe', style: 'variables', code: 'f', args: [a('g', ['a']), a('g', ['b'])] }));
  assert.equal(merged.script, "$g = @('a','b'); f");
  const dup = planLaunch(req({ code: 'f', args: [a('x', '1'), a('x', '2')] }));
  assert.equal(dup.script, 'f -x 2');
  assert.ok(codes(dup).includes('duplicate-argument'));
});

test('safe: a script too long for cmd.exe goes over stdin with a short bootstrap', () => {
  const long = `Write-Output 'x'\n`.repeat(400); // 6800 characters -> 13600+ bytes of UTF-16 -> far over 8191
  const p = planLaunch(req({ profile: 'safe', code: long }));
  assert.ok(p.commandLine.length <= 8191);
  assert.equal(decodePowerShellCommand(p.arguments[3]), STDIN_BOOTSTRAP);
  assert.equal(Buffer.from(p.stdin!.toString('ascii'), 'base64').toString('utf8'), long);
  assert.equal(p.script, long);
  assert.ok(codes(p).includes('stdin-fallback'));
  // The same script under the connector profile: over the limit, and it says so.
  const c = planLaunch(req({ code: long }));
  assert.ok(c.commandLine.length > 8191);
  assert.ok(codes(c).includes('command-line-too-long'));
});

test('safe cmd: quoting rules, refusals, and no variables style', () => {
  const p = planLaunch(req({ profile: 'safe', language: 'cmd', code: 'run.bat', keepArgumentOrder: true,
    args: [a('a', 'plain'), a('b', 'two words'), a('c', 'x&y'), a('d', ''), a('e', null), a('f', ['1', '2 3']), a('g', '50%')] }));
  assert.equal(p.command, 'run.bat -a plain -b "two words" -c "x&y" -d "" -e -f 1 "2 3" -g 50%');
  assert.deepEqual(codes(p), ['cmd-percent']);
  assert.throws(() => planLaunch(req({ profile: 'safe', language: 'cmd', code: 'x', args: [a('a', 'say "hi"')] })), ConfigError);
  assert.throws(() => planLaunch(req({ profile: 'safe', language: 'cmd', code: 'x', args: [a('a', 'l1\nl2')] })), ConfigError);
  assert.throws(() => planLaunch(req({ profile: 'safe', language: 'cmd', style: 'variables', code: 'x' })), ConfigError);
});

test('warnings: dashed misparse reasons, numbers, non-ASCII under 437', () => {
  const p = planLaunch(req({ code: 'f', args: [a('ok', 'simple'), a('sp', 'a b'), a('dollar', 'a$b'), a('semi', 'a;b'), a('tick', 'a`b'),
    a('paren', '(x)'), a('at', '@x'), a('brace', '{x}'), a('comma', 'a,b'), a('nl', 'a\nb'), a('empty', ''), a('dash', '-x'), a('num', '007'), a('uni', 'Žluť')] }));
  const flagged = new Set(p.warnings.filter((w) => w.code === 'dashed-value-misparsed').map((w) => w.argument));
  for (const n of ['sp', 'dollar', 'semi', 'tick', 'paren', 'at', 'brace', 'comma', 'nl', 'empty', 'dash']) assert.ok(flagged.has(n), n);
  assert.ok(!flagged.has('ok') && !flagged.has('uni') && !flagged.has('num'));
  assert.deepEqual(p.warnings.filter((w) => w.code === 'dashed-value-number').map((w) => w.argument), ['num']);
  assert.ok(codes(p).includes('non-ascii-codepage-437'));
  assert.ok(!codes(planLaunch(req({ profile: 'safe', code: 'Žluť' }))).includes('non-ascii-codepage-437'));
});

test('connector variables: typographic quotes are flagged (the connector does not double them)', () => {
  const p = planLaunch(req({ style: 'variables', code: 'f', args: [a('n', 'it’s')] }));
  assert.equal(p.script, "$n = 'it’s'; f");
  assert.deepEqual(codes(p), ['smart-quote-in-variables', 'non-ascii-codepage-437']);
});

test('bad input: unknown language (case-sensitive), style, profile', () => {
  assert.throws(() => planLaunch(req({ language: 'PowerShell' as never })), (e: unknown) => e instanceof ConfigError && /case-sensitive/.test(e.hint));
  assert.throws(() => planLaunch(req({ style: 'dotted' as never })), ConfigError);
  assert.throws(() => planLaunch(req({ profile: 'connector-9' as never })), ConfigError);
  assert.throws(() => planLaunch(req({ args: [a('', 'x')] })), ConfigError);
});

test('results: connector 1.5 and 1.4 messages, stderr hidden by the connector', () => {
  const p15 = planLaunch(req({ code: 'f' }));
  assert.deepEqual(interpretResult(p15, { exitCode: 0, stdout: 'out\r\n', stderr: 'warn' }),
    { ok: true, connectorWouldShow: { result: 'out\r\n' }, stderrHiddenByConnector: true });
  assert.deepEqual(interpretResult(p15, { exitCode: 3, stdout: '', stderr: 'boom' }), {
    ok: false,
    message: 'Script execution failed: Exit code 3 received during command execution',
    connectorWouldShow: { error: 'Script execution failed: Exit code 3 received during command execution' },
    stderrHiddenByConnector: true,
  });
  const p14 = planLaunch(req({ profile: 'connector-1.4', code: 'f' }));
  assert.deepEqual(interpretResult(p14, { exitCode: 2, stdout: '', stderr: 'boom' }), {
    ok: false, message: 'Script execution failed (status code 2): boom', connectorWouldShow: { error: 'Script execution failed (status code 2): boom' }, stderrHiddenByConnector: false,
  });
  const safe = planLaunch(req({ profile: 'safe', code: 'f' }));
  const r = interpretResult(safe, { exitCode: 1, stdout: '', stderr: '' });
  assert.equal(r.ok, false);
  assert.equal(r.connectorWouldShow.error, 'Script execution failed: Exit code 1 received during command execution');
  assert.equal(r.stderrHiddenByConnector, false);
});

test('results: the connector reads code page 437 output as UTF-8', () => {
  const p = planLaunch(req({ code: 'f' }));
  // "é" printed by the console in 437 is byte 0x82, which is not valid UTF-8 for the connector.
  assert.equal(interpretResult(p, { exitCode: 0, stdout: 'café', stderr: '' }).connectorWouldShow.result, 'caf\ufffd');
});

test('preview shows profile, shell options, the exact command line, the decoded script and warnings', () => {
  const p = planLaunch(req({ code: 'Set-X', args: [a('name', "John O'Neil")] }));
  const text = formatPreview(p);
  assert.ok(text.includes('connector-1.5'));
  assert.ok(text.includes('WINRS_CODEPAGE=437 WINRS_NOPROFILE=FALSE'));
  assert.ok(text.includes('WINRS_CONSOLEMODE_STDIN=TRUE WINRS_SKIP_CMD_SHELL=FALSE'));
  assert.ok(text.includes(p.commandLine));
  assert.ok(text.includes("Set-X -name John O'Neil"));
  assert.ok(text.includes('[dashed-value-misparsed]'));
  assert.ok(text.includes('Java HashMap order'));
});

test('parseArgumentAssignment: split at the first =, null without =, list items', () => {
  assert.deepEqual(parseArgumentAssignment('name=John O\'Neil = x'), { name: 'name', value: "John O'Neil = x" });
  assert.deepEqual(parseArgumentAssignment('flag'), { name: 'flag', value: null });
  assert.deepEqual(parseArgumentAssignment('empty='), { name: 'empty', value: '' });
  assert.deepEqual(parseArgumentAssignment('g[]=a'), { name: 'g', value: ['a'] });
  assert.deepEqual(parseArgumentAssignment('g[]'), { name: 'g', value: [] });
  assert.deepEqual(parseArgumentAssignments(['g[]=a', 'x=1', 'g[]=b,c']), [{ name: 'g', value: ['a', 'b,c'] }, { name: 'x', value: '1' }]);
  for (const bad of ['', '=value', 'two words=x', 'a[b=x']) assert.throws(() => parseArgumentAssignment(bad), ConfigError, bad);
});
