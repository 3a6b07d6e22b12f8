// The test host's pure pieces: Windows command-line splitting, cmd's view of a line,
// PowerShell CLI translation, xs:duration, code-page streaming, namespace-aware XML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as iconv from 'iconv-lite';
import { expandPercent, hasCmdOperators, parseArguments, programBase, splitProgram, translatePowerShellArgs, unwrapCmdC } from '../host/cmdline';
import { Transcoder, completeUtf8Length, charsetOfCodePage } from '../host/codepage';
import { formatDayTime, formatSeconds, parseDuration, parseRequest, NS } from '../host/wsman';
import { parseXml, child, text, attr } from '../host/xml';
import { planLaunch, Runtime } from '../host/launch';
import { patternByte, patternBytes, unicodePieces, UNICODE_TEXT } from '../host/scripted';

test('parseArguments follows the MS C runtime rules', () => {
  // The examples of Microsoft's "Parsing C++ command-line arguments" table.
  assert.deepEqual(parseArguments('"abc" d e'), ['abc', 'd', 'e']);
  assert.deepEqual(parseArguments('a\\\\b d"e f"g h'), ['a\\\\b', 'de fg', 'h']);
  assert.deepEqual(parseArguments('a\\\\\\"b c d'), ['a\\"b', 'c', 'd']);
  assert.deepEqual(parseArguments('a\\\\\\\\"b c" d e'), ['a\\\\b c', 'd', 'e']);
  assert.deepEqual(parseArguments('a"b"" c d'), ['ab" c d']);
  assert.deepEqual(parseArguments('  -EncodedCommand   SQBm\t-NoProfile '), ['-EncodedCommand', 'SQBm', '-NoProfile']);
  assert.deepEqual(parseArguments('""'), ['']);
});

test('splitProgram takes the program name without backslash rules', () => {
  assert.deepEqual(splitProgram('"C:\\Program Files\\x\\pwsh.exe" -c 1'), { program: 'C:\\Program Files\\x\\pwsh.exe', rest: ' -c 1' });
  assert.deepEqual(splitProgram('  powershell -encodedcommand AAA'), { program: 'powershell', rest: ' -encodedcommand AAA' });
  assert.equal(programBase('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell.EXE'), 'powershell');
  assert.equal(programBase('pwsh'), 'pwsh');
});

test('cmd line model: percent expansion, operators, cmd /c unwrapping', () => {
  const env = { USERNAME: 'vagrant', Path: 'C:\\x' };
  assert.equal(expandPercent('echo %username% %PATH% %nope% 100%', env), 'echo vagrant C:\\x %nope% 100%');
  assert.equal(expandPercent('echo %USERNAME:~0,2%', env), 'echo %USERNAME:~0,2%');
  assert.equal(hasCmdOperators('powershell -c "a & b | c"'), false);
  assert.equal(hasCmdOperators('echo a & echo b'), true);
  assert.equal(hasCmdOperators('echo a ^> b'), true);
  assert.equal(unwrapCmdC('cmd /c echo hi'), 'echo hi');
  assert.equal(unwrapCmdC('cmd.exe /C "powershell -c 1"'), 'powershell -c 1');
  assert.equal(unwrapCmdC('cmd /s /c ""C:\\a b\\x.exe" arg"'), '"C:\\a b\\x.exe" arg');
  assert.equal(unwrapCmdC('cmd /c "C:\\a b\\x.exe"'), '"C:\\a b\\x.exe"');
  assert.equal(unwrapCmdC('cmd /k echo hi'), undefined);
  assert.equal(unwrapCmdC('echo hi'), undefined);
});

test('powershell.exe arguments become pwsh arguments with the same meaning', () => {
  // 5.1's positional argument is -Command; pwsh's is -File.
  assert.deepEqual(translatePowerShellArgs(['(pwd).Path'], 'windows-powershell'), ['-Command', '(pwd).Path']);
  assert.deepEqual(translatePowerShellArgs(['Write-Host', 'hi'], 'windows-powershell'), ['-Command', 'Write-Host', 'hi']);
  assert.deepEqual(translatePowerShellArgs(['script.ps1'], 'pwsh'), ['script.ps1']);
  // A bare "-" reads commands from stdin without prompts.
  assert.deepEqual(translatePowerShellArgs(['-'], 'windows-powershell'), ['-Command', '-']);
  assert.deepEqual(translatePowerShellArgs(['-NoProfile', '-WindowStyle', 'Hidden', '-Sta', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', 'AAA'], 'windows-powershell'),
    ['-NoProfile', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', 'AAA']);
  assert.deepEqual(translatePowerShellArgs(['-NonInteractive', '-Command', '-'], 'windows-powershell'), ['-NonInteractive', '-Command', '-']);
  assert.deepEqual(translatePowerShellArgs(['-c', 'exit', '3'], 'pwsh'), ['-c', 'exit', '3']);
});

test('xs:duration parsing and the forms Windows echoes', () => {
  assert.equal(parseDuration('PT20S'), 20_000);
  assert.equal(parseDuration('PT60.000S'), 60_000);
  assert.equal(parseDuration('PT0.5S'), 500);
  assert.equal(parseDuration('P0DT1H2M3S'), 3_723_000);
  assert.equal(parseDuration('PT1M'), 60_000);
  assert.equal(parseDuration('3600000'), undefined);
  assert.equal(parseDuration('PT'), undefined);
  assert.equal(parseDuration('P'), undefined);
  assert.equal(formatSeconds(60_000), 'PT60.000S');
  assert.equal(formatSeconds(7_200_000), 'PT7200.000S');
  assert.equal(formatDayTime(0), 'P0DT0H0M0S');
  assert.equal(formatDayTime(90_061_000), 'P1DT1H1M1S');
});

test('UTF-8 to code page 437, one byte at a time, keeps split characters whole', () => {
  const utf8 = Buffer.from(UNICODE_TEXT, 'utf8');
  const t = new Transcoder('utf8', charsetOfCodePage(437)!);
  const parts: Buffer[] = [];
  for (const b of utf8) parts.push(t.push(Buffer.from([b])));
  parts.push(t.flush());
  assert.deepEqual(Buffer.concat(parts), iconv.encode(UNICODE_TEXT, 'cp437'));
  assert.equal(Buffer.concat(parts)[1], 0x82); // é in code page 437
  // The same text in the host's unicode pieces.
  const t2 = new Transcoder('utf8', 'cp437');
  assert.deepEqual(Buffer.concat([...unicodePieces().map((p) => t2.push(p)), t2.flush()]), iconv.encode(UNICODE_TEXT, 'cp437'));
  // 65001 passes bytes through untouched, split or not.
  const t3 = new Transcoder('utf8', charsetOfCodePage(65001)!);
  assert.deepEqual(Buffer.concat(unicodePieces().map((p) => t3.push(p))), utf8);
  assert.equal(completeUtf8Length(Buffer.from([0x61, 0xe2, 0x82])), 1);
  assert.equal(completeUtf8Length(Buffer.from([0x61, 0xe2, 0x82, 0xac])), 4);
});

test('wine output (Windows-1252) becomes the shell code page', () => {
  const t = new Transcoder('cp1252', 'cp437');
  assert.deepEqual(t.push(Buffer.from([0x68, 0xe9, 0x0d, 0x0a])), Buffer.from([0x68, 0x82, 0x0d, 0x0a]));
  const u = new Transcoder('cp1252', 'utf8');
  assert.equal(u.push(Buffer.from([0xe9, 0x80])).toString('utf8'), 'é€');
});

test('the emit pattern is printable ASCII with CRLF line ends and repeats every 2304 bytes', () => {
  const b = patternBytes('stdout', 0, 4608);
  assert.equal(b.subarray(62, 64).toString(), '\r\n');
  assert.ok([...b].every((c) => c === 13 || c === 10 || (c >= 0x20 && c < 0x7f)));
  assert.deepEqual(b.subarray(0, 2304), b.subarray(2304));
  const e = patternBytes('stderr', 0, 4608);
  assert.deepEqual(e.subarray(0, 2304), e.subarray(2304));
  assert.notEqual(patternByte('stdout', 5), patternByte('stderr', 5));
});

test('XML is read by namespace whatever the prefixes', () => {
  const a = parseXml('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x:Y xmlns:x="urn:y" N="1&amp;2">a &lt; &#x42;</x:Y></e:Body></e:Envelope>');
  const y = child(child(a, NS.s, 'Body'), 'urn:y', 'Y');
  assert.equal(text(y), 'a < B');
  assert.equal(attr(y, 'N'), '1&2');
  const b = parseXml('<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>');
  assert.ok(child(b, NS.s, 'Body'));
  assert.throws(() => parseXml('<a><b></a>'));
  assert.throws(() => parseXml('<x:a/>'));
  assert.throws(() => parseXml('<!DOCTYPE a [<!ENTITY x "y">]><a/>'));
});

test('a request envelope yields action, ids, selectors and options', () => {
  const r = parseRequest(
    `<s:Envelope xmlns:s="${NS.s}" xmlns:wsa="${NS.a}" xmlns:wsman="${NS.w}"><s:Header>` +
    `<wsa:Action s:mustUnderstand="true"> http://x/Receive </wsa:Action><wsa:MessageID>uuid:1</wsa:MessageID>` +
    `<wsman:MaxEnvelopeSize>153600</wsman:MaxEnvelopeSize><wsman:OperationTimeout>PT20S</wsman:OperationTimeout>` +
    `<wsman:SelectorSet><wsman:Selector Name="ShellId">ABC</wsman:Selector></wsman:SelectorSet>` +
    `<wsman:OptionSet><wsman:Option Name="WINRS_CODEPAGE">437</wsman:Option></wsman:OptionSet></s:Header><s:Body/></s:Envelope>`);
  assert.equal(r.action, 'http://x/Receive');
  assert.equal(r.messageId, 'uuid:1');
  assert.equal(r.maxEnvelopeSize, 153600);
  assert.equal(r.operationTimeout, 'PT20S');
  assert.equal(r.selectors.get('ShellId'), 'ABC');
  assert.equal(r.options.get('WINRS_CODEPAGE'), '437');
});

const rt = (o: Partial<Runtime> = {}): Runtime => ({
  pwsh: '/opt/pwsh', pwshExpected: '/opt/pwsh', wine: '/usr/bin/wine', winePrefix: '/p', wineReady: Promise.resolve(true),
  driveC: '/p/drive_c', scriptedMain: '/s/main.js', hostName: 'H', log: () => {}, ...o,
});
const faultCode = (f: () => unknown) => { try { f(); } catch (e) { return (e as { fault?: { wsmanCode: number } }).fault?.wsmanCode; } return undefined; };

test('planLaunch routes a line as a Windows host would run it', () => {
  const env = { USERNAME: 'vagrant' };
  const p1 = planLaunch({ command: 'powershell', args: ['-NoProfile', '-Command', 'echo %USERNAME%'], skipCmdShell: false, windowsEnv: env }, rt());
  assert.ok(p1.kind === 'spawn' && p1.what === 'pwsh');
  assert.deepEqual(p1.kind === 'spawn' && p1.args, ['-NoProfile', '-Command', 'echo', 'vagrant']);
  const p2 = planLaunch({ command: 'cmd', args: ['/c', 'powershell -c 1'], skipCmdShell: false, windowsEnv: env }, rt());
  assert.ok(p2.kind === 'spawn' && p2.what === 'pwsh');
  const p3 = planLaunch({ command: 'echo hi & exit 3', args: [], skipCmdShell: false, windowsEnv: env }, rt());
  assert.ok(p3.kind === 'spawn' && p3.what === 'wine');
  const p4 = planLaunch({ command: 'echo', args: ['hi'], skipCmdShell: false, windowsEnv: env }, rt({ wine: undefined }));
  assert.ok(p4.kind === 'builtin' && p4.exitCode === 9009 && p4.stderr.startsWith("'echo' is not recognized as an internal or external command,"));
  const p5 = planLaunch({ command: 'hostname', args: [], skipCmdShell: false, windowsEnv: env }, rt({ wine: undefined }));
  assert.ok(p5.kind === 'builtin' && p5.stdout === 'H\r\n' && p5.exitCode === 0);
  const p6 = planLaunch({ command: 'powershell', args: ['-c', '1'], skipCmdShell: false, windowsEnv: env }, rt({ pwsh: undefined }));
  assert.ok(p6.kind === 'builtin' && p6.exitCode !== 0 && p6.stderr.includes('dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9'));
  // wine's powershell.exe is a stub: a pipeline with PowerShell in it is refused, not faked.
  const p7 = planLaunch({ command: 'echo 1 | powershell -c -', args: [], skipCmdShell: false, windowsEnv: env }, rt());
  assert.ok(p7.kind === 'builtin' && p7.exitCode === 1);
  assert.equal(faultCode(() => planLaunch({ command: 'echo', args: ['x'.repeat(8187)], skipCmdShell: false, windowsEnv: env }, rt())), 2147942606);
  assert.equal(faultCode(() => planLaunch({ command: 'echo', args: ['x'.repeat(8186)], skipCmdShell: false, windowsEnv: env }, rt())), undefined);
  assert.equal(faultCode(() => planLaunch({ command: 'powershell.exe', args: ['Write-Host', 'hi'], skipCmdShell: true, windowsEnv: env }, rt())), 2147942402);
  const p8 = planLaunch({ command: 'C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe', args: ['Write-Host', 'hi'], skipCmdShell: true, windowsEnv: env }, rt());
  assert.deepEqual(p8.kind === 'spawn' && p8.args, ['-Command', 'Write-Host', 'hi']);
});
