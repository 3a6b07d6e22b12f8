// Fault injection, one fault at a time, against the test host: every WS-Man fault shape,
// broken 200s, dropped connections, late answers and a 401 loop. Each operation must end
// with a typed error and a hint (never hang: every test has a hard timeout), cleanup must
// leave no shell behind, and a Command that may have run is never sent twice.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { AuthError, CancelledError, NetworkError, ProtocolError, TimeoutError, WinrmError, WsmanFaultError, describeError } from '../../src/core/errors';
import { WinrmSession, type CommandRun, type SessionOptions } from '../../src/core/session';
import type { HookDecision, HostHooks, RequestInfo, TestHost } from '../host/host';
import { startTestHost } from '../host/host';
import { BAD_REPLIES, FAULT_SHAPES, RequestLog, actionOf, faultReply, notHanging, outcome, waitUntil, type BadReply, type FaultShape } from '../support/faults';

const PASSWORD = 'canary-Fault-Pa55-9!';
let host: TestHost;
let options: SessionOptions;

before(async () => {
  host = await startTestHost({ user: 'alice', password: PASSWORD, wine: false, pwshPath: null });
  options = { url: host.url, credentials: { user: 'alice', password: PASSWORD }, operationTimeout: 2, cleanupTimeoutMs: 8000 };
});
after(async () => host.close());
afterEach(async () => {
  host.setHooks(undefined);
  // Whatever a test did, the host must end up with no shells (cleanup is bounded, so wait briefly).
  await waitUntil(() => host.openShells() === 0, 3000, 'all shells deleted');
});

/** Applies `decide` to the `nth` (1-based) request with this action, at request or reply time; logs everything. */
function inject(action: string, nth: number, phase: 'request' | 'reply', decide: (info: RequestInfo) => HookDecision): RequestLog {
  const log = new RequestLog();
  let seen = 0;
  const hit = (info: RequestInfo) => actionOf(info) === action && ++seen === nth;
  const inner: HostHooks = phase === 'request'
    ? { onRequest: (info) => (hit(info) ? decide(info) : undefined) }
    : { onReply: (info) => (hit(info) ? decide(info) : undefined) };
  host.setHooks(log.hooks(inner));
  return log;
}

async function drain(run: CommandRun): Promise<{ stdout: string; code: number }> {
  let stdout = '';
  for await (const c of run) if (c.stream === 'stdout') stdout += c.bytes.toString('utf8');
  return { stdout, code: await run.exitCode };
}

function assertExplained(err: unknown): asserts err is WinrmError {
  assert.ok(err instanceof WinrmError, `a typed error, got ${err instanceof Error ? err.stack : String(err)}`);
  const line = describeError(err);
  assert.ok(!line.includes('\n'), `one line: ${line}`);
  assert.match(line, / Hint: \S/);
  assert.ok(!line.includes(PASSWORD));
}

const HINTS: Record<FaultShape, RegExp> = {
  timedOut: /operation timeout/i,
  shellNotFound: /no longer exists/,
  quotaExceeded: /MaxShellsPerUser/,
  schemaError: /request format/,
  filenameTooLong: /8191/,
  exchangeProviderFault: /host's message/,
};

describe('HTTP 500 with each fault shape', () => {
  for (const shape of Object.keys(FAULT_SHAPES) as FaultShape[]) {
    test(`${shape} on Create: a WsmanFaultError with its code, machine and hint`, { timeout: 20_000 }, async () => {
      inject('Create', 1, 'request', (info) => faultReply(info, shape));
      const session = new WinrmSession(options);
      const r = await notHanging(outcome(session.openShell({}, { deadline: Date.now() + 5000 })), 10_000, 'openShell');
      await session.close();
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assertExplained(err);
      assert.ok(err instanceof WsmanFaultError, String(err));
      assert.equal(err.code, FAULT_SHAPES[shape]().wsmanCode);
      assert.equal(err.machine, 'WINRM-TEST');
      assert.match(err.hint, HINTS[shape]);
      if (shape === 'exchangeProviderFault') assert.match(err.message, /isn't assigned to any management roles/);
      if (shape === 'filenameTooLong') assert.match(err.message, /filename or extension is too long/);
    });
  }

  test('a TimedOut fault on Receive is re-polled: the run still succeeds, with one more Receive', { timeout: 20_000 }, async () => {
    const log = inject('Receive', 1, 'request', (info) => faultReply(info, 'timedOut'));
    const session = new WinrmSession(options);
    const r = await notHanging(drain(session.run('winrm-test', ['exit', '6', '--stdout', 'after-timeout'])), 10_000, 'run');
    await session.close();
    assert.deepEqual(r, { stdout: 'after-timeout\r\n', code: 6 });
    assert.ok(log.count('Receive') >= 2);
  });

  for (const shape of ['quotaExceeded', 'schemaError', 'exchangeProviderFault', 'shellNotFound'] as FaultShape[]) {
    test(`${shape} on Receive ends the run with that fault; the command is stopped and the shell deleted`, { timeout: 20_000 }, async () => {
      const log = inject('Receive', 1, 'request', (info) => faultReply(info, shape));
      const session = new WinrmSession(options);
      const run = session.run('winrm-test', ['hang']);
      const r = await notHanging(outcome(drain(run)), 15_000, 'run');
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assertExplained(err);
      assert.ok(err instanceof WsmanFaultError && err.code === FAULT_SHAPES[shape]().wsmanCode, String(err));
      await assert.rejects(run.exitCode, WsmanFaultError);
      // The shell is gone right after the run, before close.
      assert.equal(host.openShells(), 0);
      if (shape !== 'shellNotFound') assert.equal(log.count('Signal'), 1, 'the command was terminated');
      assert.equal(log.count('Command'), 1);
      await session.close();
    });
  }
});

describe('a 200 that is not a good answer', () => {
  for (const kind of Object.keys(BAD_REPLIES).filter((k) => k !== 'unauthorized') as BadReply[]) {
    test(`${kind} to Create: ProtocolError, no hang`, { timeout: 20_000 }, async () => {
      inject('Create', 1, 'request', (info) => BAD_REPLIES[kind](info));
      const session = new WinrmSession(options);
      const r = await notHanging(outcome(session.openShell({}, { deadline: Date.now() + 5000 })), 10_000, 'openShell');
      await session.close();
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assertExplained(err);
      assert.ok(err instanceof ProtocolError, String(err));
      if (kind === 'wrongRelatesTo') assert.match(err.message, /does not answer our request/);
      if (kind === 'oversized') assert.match(err.message, /larger than/);
    });

    test(`${kind} to a Receive mid-run: ProtocolError, command stopped, shell deleted`, { timeout: 20_000 }, async () => {
      const log = inject('Receive', 2, 'reply', (info) => BAD_REPLIES[kind](info));
      const session = new WinrmSession(options);
      const run = session.run('winrm-test', ['lines', '--count', '50', '--interval-ms', '100']);
      const r = await notHanging(outcome(drain(run)), 15_000, 'run');
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assertExplained(err);
      assert.ok(err instanceof ProtocolError, String(err));
      assert.equal(host.openShells(), 0);
      assert.equal(log.count('Command'), 1);
      assert.equal(log.count('Signal'), 1);
      await session.close();
    });
  }

  test('a garbage answer to Command (it ran, we cannot know its id): never re-sent, and even a reused shell is deleted', { timeout: 20_000 }, async () => {
    for (const reuseShell of [false, true]) {
      const log = inject('Command', 1, 'reply', () => BAD_REPLIES.garbage());
      const session = new WinrmSession(options);
      const r = await notHanging(outcome(drain(session.run('winrm-test', ['hang'], { reuseShell }))), 15_000, 'run');
      assert.equal(r.ok, false);
      assert.ok((r as { error: unknown }).error instanceof ProtocolError);
      assert.equal(log.count('Command'), 1, 'a Command that may have run is not sent again');
      // The hung program would otherwise run on in the shell: the shell goes, reused or not.
      assert.equal(host.openShells(), 0, `reuseShell ${reuseShell}`);
      const again = await drain(session.run('winrm-test', ['exit', '2'], { reuseShell }));
      assert.equal(again.code, 2);
      await session.close();
    }
  });
});

describe('dropped connections', () => {
  test('dropped while a Receive waits for output: NetworkError, shell deleted, the session works again', { timeout: 30_000 }, async () => {
    const log = inject('Receive', 2, 'request', () => ({ delayMs: 300, drop: true }));
    const session = new WinrmSession(options);
    const run = session.run('winrm-test', ['lines', '--count', '40', '--interval-ms', '200']);
    const r = await notHanging(outcome(drain(run)), 20_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error;
    assertExplained(err);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, /dropped/);
    assert.equal(host.openShells(), 0);
    assert.equal(log.count('Command'), 1);
    const again = await notHanging(drain(session.run('winrm-test', ['exit', '0', '--stdout', 'back'])), 10_000, 'second run');
    assert.deepEqual(again, { stdout: 'back\r\n', code: 0 });
    await session.close();
  });

  test('dropped half-way through a Receive reply (headers and part of the body sent)', { timeout: 30_000 }, async () => {
    inject('Receive', 1, 'reply', () => ({ cut: 120 }));
    const session = new WinrmSession(options);
    const run = session.run('winrm-test', ['emit', '--stdout', '100000', '--delay-ms', '50', '--chunk', '1000']);
    const r = await notHanging(outcome(drain(run)), 20_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error;
    assertExplained(err);
    assert.ok(err instanceof NetworkError, String(err));
    assert.equal(host.openShells(), 0);
    await session.close();
  });

  test('dropped after the host ran the Command: the Command is not re-sent', { timeout: 30_000 }, async () => {
    const log = inject('Command', 1, 'reply', () => ({ drop: true }));
    const session = new WinrmSession(options);
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['hang']))), 20_000, 'run');
    assert.equal(r.ok, false);
    assert.ok((r as { error: unknown }).error instanceof NetworkError);
    assert.equal(log.count('Command'), 1);
    assert.equal(host.openShells(), 0);
    await session.close();
  });

  test('cleanup is retried on a fresh connection when terminate and delete are dropped', { timeout: 30_000 }, async () => {
    const log = new RequestLog();
    const dropped = new Set<string>();
    host.setHooks(log.hooks({
      // The first Signal and the first Delete die with their connection.
      onRequest: (info) => {
        const a = actionOf(info);
        if ((a === 'Signal' || a === 'Delete') && !dropped.has(a)) { dropped.add(a); return { drop: true }; }
        return undefined;
      },
    }));
    const session = new WinrmSession(options);
    const abort = new AbortController();
    const run = session.run('winrm-test', ['hang'], { signal: abort.signal });
    const r = await notHanging(outcome((async () => { for await (const _ of run) abort.abort(); })()), 20_000, 'run');
    assert.equal(r.ok, false);
    assert.ok((r as { error: unknown }).error instanceof CancelledError);
    assert.equal(host.openShells(), 0, `the shell was deleted by a retry: ${log.requests.map((q) => `${q.action}@${q.connectionId}`).join(' ')}`);
    const deletes = log.requests.filter((q) => q.action === 'Delete');
    assert.equal(deletes.length, 2);
    assert.notEqual(deletes[0].connectionId, deletes[1].connectionId, 'the retry used a new connection');
    assert.equal(log.count('Signal'), 2);
    await session.close();
  });
});

describe('late answers', () => {
  test('a Receive answered after the run deadline: TimeoutError near the deadline, shell deleted', { timeout: 30_000 }, async () => {
    inject('Receive', 1, 'request', () => ({ delayMs: 6000 }));
    const session = new WinrmSession(options);
    const started = Date.now();
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0'], { deadline: Date.now() + 1500 }))), 20_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error;
    assertExplained(err);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.ok(Date.now() - started < 1500 + 8000, 'ended within the deadline plus the cleanup budget');
    assert.equal(host.openShells(), 0);
    await session.close();
  });

  test('without a deadline, a Receive unanswered past OperationTimeout + 15 s grace is a TimeoutError', { timeout: 60_000 }, async () => {
    inject('Receive', 1, 'request', () => ({ delayMs: 25_000 }));
    const session = new WinrmSession({ ...options, operationTimeout: 1 });
    const started = Date.now();
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0']))), 40_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error;
    assertExplained(err);
    assert.ok(err instanceof TimeoutError && /within 16 s/.test(err.message), String(err));
    assert.ok(Date.now() - started < 16_000 + 8000);
    assert.equal(host.openShells(), 0);
    await session.close();
  });

  test('a fractional deadline (a --timeout of 0.9005 s) ends in a TimeoutError, not a RangeError', { timeout: 30_000 }, async () => {
    const session = new WinrmSession(options);
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['hang'], { deadline: Date.now() + 900.5 }))), 20_000, 'run');
    assert.equal(r.ok, false);
    assertExplained((r as { error: unknown }).error);
    assert.ok((r as { error: unknown }).error instanceof TimeoutError, String((r as { error: unknown }).error));
    assert.equal(host.openShells(), 0);
    await session.close();
  });

  for (const how of ['cancel', 'deadline'] as const) {
    test(`a Create that answers late is not abandoned on the host: ${how} ends the run, the late shell is deleted`, { timeout: 30_000 }, async () => {
      // The host creates the shell at once but answers 1.5 s later.
      inject('Create', 1, 'reply', () => ({ delayMs: 1500 }));
      const session = new WinrmSession(options);
      const abort = new AbortController();
      const started = Date.now();
      const run = session.run('winrm-test', ['exit', '0'], how === 'cancel' ? { signal: abort.signal } : { deadline: Date.now() + 400 });
      if (how === 'cancel') setTimeout(() => abort.abort(), 300);
      const r = await notHanging(outcome(drain(run)), 20_000, 'run');
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assert.ok(how === 'cancel' ? err instanceof CancelledError : err instanceof TimeoutError, String(err));
      assert.ok(Date.now() - started < 1400, `the run ended at the ${how} (${Date.now() - started} ms), not when the reply came`);
      await waitUntil(() => host.openShells() === 1, 3000, 'the host made the shell');
      await waitUntil(() => host.openShells() === 0, 8000, 'the late shell deleted');
      await session.close();
    });
  }
});

describe('a 401 loop after a good handshake', () => {
  test('bounded: AuthError, the Command sent once, the shell deleted once the host accepts us again', { timeout: 30_000 }, async () => {
    const log = new RequestLog();
    let created = false;
    host.setHooks(log.hooks({
      onRequest: (info) => (created && actionOf(info) !== 'Create' ? BAD_REPLIES.unauthorized() : undefined),
      onReply: (info) => { if (actionOf(info) === 'Create') created = true; return undefined; },
    }));
    const session = new WinrmSession(options);
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0']))), 20_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error;
    assertExplained(err);
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(log.count('Command'), 1);
    // Cleanup tried, boundedly: a few Deletes, not a storm.
    assert.ok(log.count('Delete') >= 1 && log.count('Delete') <= 3, `Deletes: ${log.count('Delete')}`);
    assert.equal(host.openShells(), 1, 'the host still refuses us, so the shell is still there');
    host.setHooks(undefined);
    await session.close();
    assert.equal(host.openShells(), 0, 'close deleted it once the host accepted us again');
  });
});
