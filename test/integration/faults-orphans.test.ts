// A Create whose reply is lost after the host made the shell: the connection drops, the
// reply breaks off, or it cannot be read. The client never learns the ShellId, so every
// shell it creates carries a unique rsp:Name; on a fresh connection it lists the host's
// shells (Enumerate, Pull), deletes the one with that name and reports the Create's own
// typed error. The search is bounded and never hides that error; a Command is never sent.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { NetworkError, ProtocolError, TimeoutError, WinrmError, WsmanFaultError, describeError } from '../../src/core/errors';
import { planLaunch } from '../../src/core/launch';
import { runScript } from '../../src/core/run-script';
import { WinrmSession, type CommandRun, type SessionOptions } from '../../src/core/session';
import type { HostHooks } from '../host/host';
import { startTestHost, type TestHost } from '../host/host';
import { RawClient } from '../host/testing';
import { RequestLog, actionOf, faultReply, lostCreateReply, notHanging, outcome, waitUntil, type LostReply } from '../support/faults';

const PASSWORD = 'canary-Orphan-Pa55-4!';
let host: TestHost;
let options: SessionOptions;

before(async () => {
  host = await startTestHost({ user: 'alice', password: PASSWORD, wine: false, pwshPath: null });
  options = { url: host.url, credentials: { user: 'alice', password: PASSWORD }, operationTimeout: 2, cleanupTimeoutMs: 8000 };
});
after(async () => host.close());
afterEach(async () => {
  host.setHooks(undefined);
  await waitUntil(() => host.openShells() === 0, 3000, 'all shells deleted');
});

async function drain(run: CommandRun): Promise<{ stdout: string; code: number }> {
  let stdout = '';
  for await (const c of run) if (c.stream === 'stdout') stdout += c.bytes.toString('utf8');
  return { stdout, code: await run.exitCode };
}

/** Logs every request, and applies `inner` (lost replies and the like). */
function logged(inner: HostHooks): RequestLog {
  const log = new RequestLog();
  host.setHooks(log.hooks(inner));
  return log;
}

const EXPECTED: Record<LostReply, new (...a: never[]) => WinrmError> = { dropped: NetworkError, cut: NetworkError, garbage: ProtocolError };

for (const how of Object.keys(EXPECTED) as LostReply[]) {
  test(`Create reply ${how} after the host made the shell: the typed error, and the shell found by name and deleted before it is reported`, { timeout: 30_000 }, async () => {
    const created: string[] = [];
    const log = logged(lostCreateReply(how, 1, (id) => created.push(id)));
    const session = new WinrmSession(options);
    try {
      const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0', '--stdout', 'never']))), 20_000, 'run');
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assert.ok(err instanceof EXPECTED[how], String(err));
      assert.match(describeError(err), / Hint: \S/);
      assert.doesNotMatch(describeError(err), /idle timeout/, 'a shell found and deleted is not worth a word');
      // Gone by the time the run reports, not later.
      assert.equal(host.openShells(), 0);
      assert.equal(created.length, 1);
      const name = /<rsp:Name>([^<]+)<\/rsp:Name>/.exec(log.requests.find((q) => q.action === 'Create')!.soap)?.[1];
      assert.match(name ?? '', /^winrm-runner-[0-9a-f]{16}$/);
      assert.deepEqual(err.orphanRecovery, { name, listed: true, deleted: created, failed: [] });
      assert.deepEqual(log.requests.map((q) => q.action), ['Create', 'Enumerate', 'Delete'], 'listed, deleted; no Command, no second Create');
      const [create, list, del] = log.requests;
      assert.notEqual(list.connectionId, create.connectionId, 'the listing went on a fresh connection');
      assert.equal(del.shellId, created[0]);
      assert.equal(session.openShellCount, 0);
      // The session goes on working.
      assert.deepEqual(await drain(session.run('winrm-test', ['exit', '4', '--stdout', 'after'])), { stdout: 'after\r\n', code: 4 });
    } finally {
      await session.close();
    }
  });
}

test('openShell: the lost Create\'s error carries what the search found; a reused-shell run recovers the same way', { timeout: 30_000 }, async () => {
  const created: string[] = [];
  logged(lostCreateReply('dropped', undefined, (id) => created.push(id)));
  const session = new WinrmSession(options);
  try {
    const r = await notHanging(outcome(session.openShell({}, { deadline: Date.now() + 8000 })), 15_000, 'openShell');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error as WinrmError;
    assert.ok(err instanceof NetworkError, String(err));
    assert.deepEqual(err.orphanRecovery?.deleted, created);
    assert.equal(host.openShells(), 0);
    const reused = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0'], { reuseShell: true }))), 15_000, 'run');
    assert.equal(reused.ok, false);
    assert.equal(created.length, 2);
    assert.equal(host.openShells(), 0);
    host.setHooks(undefined);
    assert.equal((await drain(session.run('winrm-test', ['exit', '5'], { reuseShell: true }))).code, 5, 'the next reused-shell run gets a new shell');
  } finally {
    await session.close();
  }
});

test('only the lost shell goes: other shells of the same user (other sessions, other names, none) stay', { timeout: 30_000 }, async () => {
  const raw = new RawClient(host.url, { user: 'alice', password: PASSWORD });
  const other = new WinrmSession(options);
  const session = new WinrmSession(options);
  try {
    assert.equal((await drain(other.run('winrm-test', ['exit', '0'], { reuseShell: true }))).code, 0);
    const keep = [host.shells()[0].id, await raw.create({ name: 'winrm-runner-0000000000000000' }), await raw.create({ name: 'ops' }), await raw.create()];
    const created: string[] = [];
    logged(lostCreateReply('dropped', 1, (id) => created.push(id)));
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0']))), 20_000, 'run');
    assert.equal(r.ok, false);
    assert.deepEqual(((r as { error: unknown }).error as WinrmError).orphanRecovery?.deleted, created);
    assert.deepEqual(host.shells().map((s) => s.id).sort(), [...keep].sort());
    for (const id of keep.slice(1)) await raw.delete(id);
  } finally {
    raw.close();
    await Promise.all([session.close(), other.close()]);
  }
});

test('the search pulls page after page until the list ends', { timeout: 40_000 }, async () => {
  const raw = new RawClient(host.url, { user: 'alice', password: PASSWORD });
  // Small envelopes and long names: a few shells per reply.
  const session = new WinrmSession({ ...options, maxEnvelopeSize: 8192 });
  try {
    const others = [];
    for (let i = 0; i < 12; i++) others.push(await raw.create({ name: `other-${i}-${'x'.repeat(1500)}` }));
    const created: string[] = [];
    const log = logged(lostCreateReply('cut', 1, (id) => created.push(id)));
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0']))), 20_000, 'run');
    assert.equal(r.ok, false);
    assert.ok(log.count('Pull') >= 2, `Pulls: ${log.count('Pull')}`);
    assert.deepEqual(((r as { error: unknown }).error as WinrmError).orphanRecovery?.deleted, created);
    assert.deepEqual(host.shells().map((s) => s.id).sort(), [...others].sort());
    for (const id of others) await raw.delete(id);
  } finally {
    raw.close();
    await session.close();
  }
});

test('a Create answered after its own time ran out: TimeoutError at the deadline, the shell deleted in the background (close waits for it)', { timeout: 30_000 }, async () => {
  const log = logged({ onReply: (info) => (actionOf(info) === 'Create' ? { delayMs: 4000 } : undefined) });
  const session = new WinrmSession(options);
  const started = Date.now();
  const r = await notHanging(outcome(session.openShell({}, { deadline: Date.now() + 800 })), 10_000, 'openShell');
  assert.ok(Date.now() - started < 2000, `ended near its deadline (${Date.now() - started} ms)`);
  assert.equal(r.ok, false);
  assert.ok((r as { error: unknown }).error instanceof TimeoutError, String((r as { error: unknown }).error));
  await notHanging(session.close(), 15_000, 'close');
  assert.equal(host.openShells(), 0, 'deleted before close returned');
  assert.deepEqual(log.requests.map((q) => q.action), ['Create', 'Enumerate', 'Delete']);
});

test('a search that fails does not hide the Create\'s error, and is not retried', { timeout: 30_000 }, async () => {
  const created: string[] = [];
  const lose = lostCreateReply('dropped', 1, (id) => created.push(id));
  const log = logged({ ...lose, onRequest: (info) => (actionOf(info) === 'Enumerate' ? { drop: true } : undefined) });
  const session = new WinrmSession(options);
  try {
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0']))), 20_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error as WinrmError;
    assert.ok(err instanceof NetworkError, String(err));
    assert.equal(err.orphanRecovery?.listed, false);
    assert.ok(err.orphanRecovery?.error instanceof NetworkError);
    assert.match(describeError(err), new RegExp(`a shell named ${err.orphanRecovery!.name} may stay open until the host's idle timeout`));
    assert.deepEqual(log.requests.map((q) => q.action), ['Create', 'Enumerate']);
    // Left for the host's idle timeout, as before this search existed.
    assert.deepEqual(host.shells().map((s) => s.id), created);
  } finally {
    await session.close();
    host.setHooks(undefined);
    const raw = new RawClient(host.url, { user: 'alice', password: PASSWORD });
    for (const id of created) await raw.delete(id);
    raw.close();
  }
});

test('no search when the Create\'s outcome is known (a fault), or when the caller named the shell itself', { timeout: 30_000 }, async () => {
  const session = new WinrmSession(options);
  try {
    let log = logged({ onRequest: (info) => (actionOf(info) === 'Create' ? faultReply(info, 'quotaExceeded') : undefined) });
    const refused = await outcome(session.openShell());
    assert.ok(!refused.ok && refused.error instanceof WsmanFaultError && refused.error.orphanRecovery === undefined);
    assert.deepEqual(log.requests.map((q) => q.action), ['Create']);
    // A caller's name need not be unique: deleting by it could hit another shell.
    const created: string[] = [];
    log = logged(lostCreateReply('dropped', 1, (id) => created.push(id)));
    const lost = await outcome(session.openShell({ name: 'chosen' }));
    assert.ok(!lost.ok && lost.error instanceof NetworkError);
    assert.deepEqual(log.requests.map((q) => q.action), ['Create']);
    assert.equal(host.shells()[0].name, 'chosen');
    host.setHooks(undefined);
    const raw = new RawClient(host.url, { user: 'alice', password: PASSWORD });
    for (const id of created) await raw.delete(id);
    raw.close();
  } finally {
    await session.close();
  }
});

test('connector profiles: the Create differs from the connector\'s only by the Name element (options, streams, command untouched)', { timeout: 30_000 }, async () => {
  const log = logged({});
  const session = new WinrmSession(options);
  try {
    const plan = planLaunch({ language: 'cmd', code: 'winrm-test exit 0 --stdout connector', args: [], style: 'dashed', profile: 'connector-1.5' });
    const run = runScript(session, plan);
    let out = '';
    for await (const c of run) out += c.text;
    assert.equal(await run.exitCode, 0);
    assert.equal(out, 'connector\r\n');
    const create = log.requests.find((q) => q.action === 'Create')!.soap;
    const body = /<s:Body>(.*)<\/s:Body>/.exec(create)![1];
    assert.match(body, /^<rsp:Shell><rsp:InputStreams>stdin<\/rsp:InputStreams><rsp:OutputStreams>stdout stderr<\/rsp:OutputStreams><rsp:Name>winrm-runner-[0-9a-f]{16}<\/rsp:Name><\/rsp:Shell>$/);
    assert.match(create, /<wsman:OptionSet s:mustUnderstand="true"><wsman:Option Name="WINRS_NOPROFILE">FALSE<\/wsman:Option><wsman:Option Name="WINRS_CODEPAGE">437<\/wsman:Option><\/wsman:OptionSet>/);
    const command = log.requests.find((q) => q.action === 'Command')!.soap;
    assert.match(command, /<rsp:CommandLine><rsp:Command>winrm-test exit 0 --stdout connector<\/rsp:Command><\/rsp:CommandLine>/);
  } finally {
    await session.close();
  }
});
