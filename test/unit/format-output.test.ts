import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChannelWriter, CtrlCPolicy, RED, RESET, RunTextFormatter, STDERR_PREFIX, TerminalTextEncoder, formatDuration, formatRunFooter,
  formatRunHeader, formatTraceEvent, type RunDescription,
} from '../../src/core/format';

const CANARY = 'canary-Pa55-do-not-log';

const run: RunDescription = {
  runId: 3, hostName: 'Lab DC', address: 'dc01:5986 (HTTPS)', language: 'powershell', style: 'dashed', profile: 'connector-1.5',
  source: 'New-User.ps1', startedAt: new Date(2024, 4, 1, 14, 3, 22), arguments: 'name=jdoe',
};

test('header names host, language, style, profile and local time; warnings follow; footer has exit code and duration', () => {
  const header = formatRunHeader(run, [{ severity: 'warning', message: 'value of "name" has a space\nsecond line' }]);
  assert.equal(header,
    '▶ Run #3 on Lab DC (dc01:5986 (HTTPS)) · language powershell · style dashed · profile connector-1.5 · 2024-05-01 14:03:22\n' +
    '▶ New-User.ps1 · name=jdoe\n' +
    '⚠ warning: value of "name" has a space ⏎ second line\n');
  assert.equal(formatRunFooter(3, { kind: 'exit', exitCode: 1, durationMs: 2440, connectorMessage: 'Script execution failed: Exit code 1 received during command execution' }),
    '■ Run #3 exit code 1 · 2.4 s\n■ The connector would report: Script execution failed: Exit code 1 received during command execution\n');
  assert.equal(formatRunFooter(3, { kind: 'cancelled', durationMs: 80 }), '■ Run #3 stopped · 80 ms · the remote command was terminated\n');
  assert.equal(formatDuration(125_000), '2 min 5 s');
});

test('stream text: CRLF (also split across chunks) becomes LF; stderr lines are marked; a stream switch closes the open line', () => {
  const f = new RunTextFormatter();
  let out = '';
  out += f.write('stdout', 'one\r');
  out += f.write('stdout', '\ntwo\r\nthr');
  out += f.write('stderr', 'Write-Error: boom\r\n+ CategoryInfo : NotSpecified\r\n');
  out += f.write('stdout', 'ee\n');
  out += f.end();
  assert.equal(out, `one\ntwo\nthr\n${STDERR_PREFIX}Write-Error: boom\n${STDERR_PREFIX}+ CategoryInfo : NotSpecified\nee\n`);
});

test('a stderr line split over chunks is marked once', () => {
  const f = new RunTextFormatter();
  const out = f.write('stderr', 'par') + f.write('stderr', 'tial\nnext') + f.end();
  assert.equal(out, `${STDERR_PREFIX}partial\n${STDERR_PREFIX}next\n`);
});

test('two runs writing at once: each change of writer closes the open line and says whose output follows', () => {
  const chunks: string[] = [];
  const w = new ChannelWriter((t) => chunks.push(t));
  w.begin(run);
  w.write(3, 'stderr', 'err-a');
  w.begin({ ...run, runId: 4, hostName: 'Exchange' });
  w.write(4, 'stdout', 'b1\n');
  w.write(3, 'stderr', ' more\n');
  w.end(3, { kind: 'exit', exitCode: 0, durationMs: 10 });
  w.write(4, 'stdout', 'b2\n');
  w.end(4, { kind: 'exit', exitCode: 2, durationMs: 20 });
  const text = chunks.join('');
  const lines = text.split('\n');
  assert.equal(lines[2], `${STDERR_PREFIX}err-a`, 'run 3 line closed when run 4 started');
  assert.match(lines[3], /^▶ Run #4 on Exchange/);
  assert.equal(lines[5], 'b1');
  assert.equal(lines[6], '… run #3 (Lab DC) continues');
  assert.equal(lines[7], `${STDERR_PREFIX} more`, 'the continued stderr line is marked again');
  assert.equal(lines[8], '■ Run #3 exit code 0 · 10 ms');
  assert.equal(lines[9], '… run #4 (Exchange) continues');
  assert.equal(lines[10], 'b2');
  assert.equal(lines[11], '■ Run #4 exit code 2 · 20 ms');
  assert.ok(chunks.length >= 8, 'appended as it streams, not at the end');
});

test('terminal: LF becomes CRLF, existing CRLF (even split) is kept, stderr is red', () => {
  const t = new TerminalTextEncoder();
  assert.equal(t.encode('stdout', 'a\nb\r'), 'a\r\nb\r');
  assert.equal(t.encode('stdout', '\nc\r\n'), '\nc\r\n');
  assert.equal(t.encode('stderr', 'bad\n'), `${RED}bad\r\n${RESET}`);
  assert.equal(t.encode('stdout', ''), '');
});

test('Ctrl+C: first interrupts, second terminates, then nothing; nothing after the run ended', () => {
  const p = new CtrlCPolicy();
  assert.deepEqual([p.press(), p.press(), p.press()], ['interrupt', 'terminate', 'none']);
  const q = new CtrlCPolicy();
  q.finish();
  assert.equal(q.press(), 'none');
});

test('trace: auth headers and the password in any form are redacted, also past the body limit cut', () => {
  const basic = Buffer.from(`LAB\\svc:${CANARY}`).toString('base64');
  const body = `<rsp:Arguments>-password ${CANARY}</rsp:Arguments><b64>${Buffer.from(CANARY, 'utf16le').toString('base64')}</b64>`;
  const text = formatTraceEvent({ direction: 'request', url: 'http://dc01:5985/wsman', headers: { Authorization: `Basic ${basic}`, 'content-type': 'application/soap+xml' }, body }, [CANARY]);
  assert.ok(!text.includes(CANARY));
  assert.ok(!text.includes(basic));
  assert.ok(!text.includes(Buffer.from(CANARY, 'utf16le').toString('base64')));
  assert.match(text, /Authorization: Basic \[redacted\]/);
  assert.match(text, /-password \[redacted\]/);
  const long = 'x'.repeat(15_990) + CANARY + 'y'.repeat(100);
  const cut = formatTraceEvent({ direction: 'reply', status: 200, url: 'u', headers: {}, body: long }, [CANARY]);
  assert.ok(!cut.includes(CANARY.slice(0, 8)), 'no half secret at the cut');
  assert.match(cut, /more characters/);
});

test('a run the user interrupted or stopped says so in its footer, with the exit code and no connector failure', () => {
  const connectorMessage = 'Script execution failed: Exit code 1 received during command execution';
  assert.equal(formatRunFooter(4, { kind: 'exit', exitCode: 1, durationMs: 2440, connectorMessage, stoppedBy: 'interrupt' }), '■ Run #4 interrupted · exit code 1 · 2.4 s\n');
  assert.equal(formatRunFooter(5, { kind: 'exit', exitCode: -1, durationMs: 80, connectorMessage, stoppedBy: 'stop' }), '■ Run #5 stopped · exit code -1 · 80 ms\n');
  let text = '';
  const w = new ChannelWriter((t) => { text += t; });
  w.begin(run);
  w.write(3, 'stdout', 'tick 1\ntick 2');
  w.note(3, 'Ctrl+C sent to the remote command.');
  w.end(3, { kind: 'exit', exitCode: 1, durationMs: 10, connectorMessage, stoppedBy: 'interrupt' });
  assert.ok(text.endsWith('tick 2\n▶ Ctrl+C sent to the remote command.\n■ Run #3 interrupted · exit code 1 · 10 ms\n'), text);
  assert.ok(!text.includes('would report'), text);
});
