// The verdict of a powerhell/exchange run as the extension shows it: from the
// loop's PersistentScriptResult (never from the streamed text), with the
// connector's message for connector profiles and our words for the safe one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRunFooter, persistentVerdict } from '../../src/core/format';
import { EXCHANGE_MISSING_MESSAGE } from '../../src/core/launch';
import type { PersistentScriptResult } from '../../src/core/run-script';

const ok = (over: Partial<PersistentScriptResult> = {}): PersistentScriptResult => ({ outcome: 'ok', exitCode: 0, newLoop: false, stderrHiddenByConnector: false, ...over });
const powerhell = (profile: string) => ({ language: 'powerhell', profile });

test('success in a new loop, then in the kept one: the notes say whether variables were there', () => {
  const first = persistentVerdict(ok({ newLoop: true }), powerhell('connector-1.5'));
  assert.equal(first.ok, true);
  assert.equal(first.exitCode, 0);
  assert.equal(first.connectorMessage, undefined);
  assert.equal(first.detail, undefined);
  assert.deepEqual(first.notes, ['Started a new powerhell loop: the variables this run set are kept for the next powerhell run on this host (WinRM: Reset Session ends the loop).']);
  const second = persistentVerdict(ok(), powerhell('safe'));
  assert.deepEqual(second.notes, ['Ran in the powerhell loop kept from earlier runs: their variables were still set.']);
});

test('a script error: the connector\'s message for connector profiles, our words for safe; the footer shows it on one line', () => {
  const error: PersistentScriptResult = { outcome: 'error', exitCode: 1, connectorError: 'mailbox quota exceeded', message: 'mailbox quota exceeded', newLoop: false, stderrHiddenByConnector: false };
  const connector = persistentVerdict(error, powerhell('connector-1.5'));
  assert.equal(connector.ok, false);
  assert.equal(connector.exitCode, 1);
  assert.equal(connector.connectorMessage, 'mailbox quota exceeded');
  assert.equal(connector.detail, undefined);
  const footer = formatRunFooter(7, { kind: 'exit', exitCode: 1, durationMs: 1200, connectorMessage: connector.connectorMessage, detail: connector.detail });
  assert.equal(footer, '■ Run #7 exit code 1 · 1.2 s\n■ The connector would report: mailbox quota exceeded\n');
  const safe = persistentVerdict({ ...error, message: 'line one\nline two' }, powerhell('safe'));
  assert.equal(safe.connectorMessage, undefined);
  assert.equal(safe.detail, 'The script reported an error: line one\nline two');
  assert.equal(formatRunFooter(8, { kind: 'exit', exitCode: 1, durationMs: 5, detail: safe.detail }), '■ Run #8 exit code 1 · 5 ms\n■ The script reported an error: line one ⏎ line two\n');
});

test('the script called exit: a success, and the note says the next run starts a new loop', () => {
  const v = persistentVerdict({ outcome: 'loop-exit', exitCode: 0, loopExitCode: 0, newLoop: false, stderrHiddenByConnector: false }, powerhell('connector-1.5'));
  assert.equal(v.ok, true);
  assert.equal(v.connectorMessage, undefined);
  assert.match(v.notes[1], /The script called exit: the powerhell loop ended, the next run starts a new one \(variables are gone\)/);
});

test('the loop ended with a code: failed, with the connector\'s "Exit code received" message', () => {
  const message = 'Exit code received during command execution (exit code 3)';
  const v = persistentVerdict({ outcome: 'loop-exit', exitCode: 3, loopExitCode: 3, connectorError: message, message, newLoop: true, stderrHiddenByConnector: false }, powerhell('connector-1.4'));
  assert.equal(v.ok, false);
  assert.equal(v.exitCode, 3);
  assert.equal(v.connectorMessage, message);
  assert.match(v.notes.join('\n'), /ended with exit code 3/);
  const safe = persistentVerdict({ outcome: 'loop-exit', exitCode: 3, loopExitCode: 3, connectorError: message, message, newLoop: false, stderrHiddenByConnector: false }, powerhell('safe'));
  assert.equal(safe.detail, `The powerhell loop ended: ${message}`);
});

test('exchange without the snap-in: the loop did not start, no note about variables', () => {
  const result: PersistentScriptResult = { outcome: 'start-failed', exitCode: 1, loopExitCode: 0, connectorError: 'Exit code received before first prompt (exit code 0)', message: EXCHANGE_MISSING_MESSAGE, newLoop: true, stderrHiddenByConnector: false };
  const safe = persistentVerdict(result, { language: 'exchange', profile: 'safe' });
  assert.equal(safe.ok, false);
  assert.equal(safe.detail, `The exchange loop did not start: ${EXCHANGE_MISSING_MESSAGE}`);
  assert.deepEqual(safe.notes, []);
  const connector = persistentVerdict(result, { language: 'exchange', profile: 'connector-1.5' });
  assert.equal(connector.connectorMessage, EXCHANGE_MISSING_MESSAGE, 'the explanation, not only the bare exit code');
});

test('stderr on success: noted as dropped by the connector in connector profiles only', () => {
  assert.deepEqual(persistentVerdict(ok({ stderrHiddenByConnector: true }), powerhell('connector-1.5')).notes.slice(1), ['The stderr lines above are dropped by the connector (only its trace log sees them).']);
  assert.deepEqual(persistentVerdict(ok({ stderrHiddenByConnector: true }), powerhell('safe')).notes.slice(1), []);
});

test('a message missing (older cores): the connector error is used', () => {
  const v = persistentVerdict({ outcome: 'error', exitCode: 1, connectorError: 'boom', newLoop: false, stderrHiddenByConnector: false }, powerhell('connector-1.5'));
  assert.equal(v.connectorMessage, 'boom');
});
