// Test Connection's diagnosis and the extension's session pool against the
// test WinRM host: real HTTP(S), real certificates, real shells.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SessionPool, sessionOptionsFor, testConnection, type HostSettings } from '../../src/core/hosts';
import { planLaunch } from '../../src/core/launch';
import { runScript } from '../../src/core/run-script';
import { WinrmSession } from '../../src/core/session';
import { startTestHost, type TestHost } from '../host/host';

const CANARY = 'canary-Pa55-do-not-log';

function hostFor(server: TestHost, extra: Partial<HostSettings> = {}): HostSettings {
  return { id: 'h', name: 'Test host', url: server.url, auth: 'basic', user: 'alice', style: 'dashed', profile: 'safe', ...extra };
}

describe('Test Connection against the test host over HTTPS', () => {
  let server: TestHost;
  before(async () => {
    server = await startTestHost({ https: true, user: 'alice', password: CANARY, hostName: 'LAB-DC01' });
  });
  after(async () => {
    await server?.close();
  });

  test('answers with the host name and leaves no shell open', async () => {
    const report = await testConnection(sessionOptionsFor(hostFor(server), CANARY, { caPem: server.caPem }));
    assert.deepEqual(report.ok ? report.hostname : report.diagnosis, 'LAB-DC01');
    assert.equal(server.openShells(), 0);
  });

  test('a wrong password is named as such, with the password nowhere in the report', async () => {
    const report = await testConnection(sessionOptionsFor(hostFor(server), 'wrong-' + CANARY, { caPem: server.caPem }));
    assert.equal(report.ok, false);
    if (report.ok) return;
    assert.equal(report.diagnosis.title, 'Wrong user name or password');
    assert.ok(!JSON.stringify(report).includes(CANARY));
  });

  test('a certificate from an unknown CA is "not trusted"; skipping verification (opt-in) connects', async () => {
    const untrusted = await testConnection(sessionOptionsFor(hostFor(server), CANARY));
    assert.equal(untrusted.ok, false);
    if (!untrusted.ok) assert.equal(untrusted.diagnosis.title, 'Certificate not trusted');
    const insecure = await testConnection(sessionOptionsFor(hostFor(server, { tls: { insecureSkipVerify: true } }), CANARY));
    assert.equal(insecure.ok, true);
  });

  test('a name the certificate does not carry is a "name mismatch"; the server-name override fixes it', async () => {
    const byOtherName = hostFor(server, { url: server.url.replace('127.0.0.1', 'localhost'), tls: { serverName: 'dc01.lab.example' } });
    const mismatch = await testConnection(sessionOptionsFor(byOtherName, CANARY, { caPem: server.caPem }));
    assert.equal(mismatch.ok, false);
    if (!mismatch.ok) assert.equal(mismatch.diagnosis.title, 'Certificate name mismatch');
    const fixed = await testConnection(sessionOptionsFor(hostFor(server, { tls: { serverName: 'localhost' } }), CANARY, { caPem: server.caPem }));
    assert.equal(fixed.ok, true, fixed.ok ? '' : JSON.stringify(fixed.diagnosis));
  });
});

describe('Test Connection against the test host over HTTP', () => {
  let server: TestHost;
  before(async () => {
    server = await startTestHost({ https: false, user: 'alice', password: CANARY, maxShellsPerUser: 1 });
  });
  after(async () => {
    await server?.close();
  });

  test('HTTPS to an HTTP listener is diagnosed, not hung', async () => {
    const report = await testConnection(sessionOptionsFor(hostFor(server, { url: server.url.replace('http:', 'https:') }), CANARY), { timeoutMs: 10_000 });
    assert.equal(report.ok, false);
    if (!report.ok) assert.equal(report.diagnosis.title, 'HTTPS on an HTTP port');
  });

  test('the shell quota reached is named in admin words', async () => {
    const holder = new WinrmSession(sessionOptionsFor(hostFor(server), CANARY));
    try {
      await holder.openShell();
      const report = await testConnection(sessionOptionsFor(hostFor(server), CANARY));
      assert.equal(report.ok, false);
      if (!report.ok) {
        assert.equal(report.diagnosis.title, 'Shell quota reached');
        assert.match(report.diagnosis.hint, /MaxShellsPerUser/);
      }
    } finally {
      await holder.close();
    }
    assert.equal(server.openShells(), 0);
  });
});

describe('session pool with real sessions', () => {
  let server: TestHost;
  before(async () => {
    server = await startTestHost({ https: false, user: 'alice', password: CANARY });
  });
  after(async () => {
    await server?.close();
  });

  test('the safe profile reuses one shell across runs through the pool; discarding the session deletes it', async () => {
    const pool = new SessionPool<WinrmSession>();
    const host = hostFor(server);
    const create = () => new WinrmSession(sessionOptionsFor(host, CANARY));
    const plan = planLaunch({ language: 'cmd', code: 'hostname', args: [], style: 'dashed', profile: 'safe' });
    assert.equal(plan.newShellPerRun, false);
    const outputs: string[] = [];
    let lease = pool.acquire(host.id, 'v1', create);
    const first = lease.resource;
    for (let i = 0; i < 2; i++) {
      if (i > 0) lease = pool.acquire(host.id, 'v1', create);
      assert.equal(lease.resource, first, 'same session for sequential runs');
      const run = runScript(lease.resource, plan);
      let text = '';
      for await (const chunk of run) text += chunk.text;
      assert.equal(await run.exitCode, 0);
      outputs.push(text.trim());
      await lease.release();
      assert.equal(server.openShells(), 1, 'the shell stays for the next run');
    }
    assert.deepEqual(outputs, ['WINRM-TEST', 'WINRM-TEST']);
    const last = pool.acquire(host.id, 'v1', create);
    await last.release(true);
    assert.equal(server.openShells(), 0, 'discarding the session deleted its shell');
    await pool.closeAll();
  });
});
