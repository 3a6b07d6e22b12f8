// Faults of the host's life: a certificate that changed, a restart (all shells gone), a
// shell's idle timeout, and dropped connections on encrypted NTLM and CredSSP sessions
// (sealed bodies, sequence numbers per connection) that must re-authenticate.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NetworkError, TlsError, WinrmError, WsmanFaultError, describeError } from '../../src/core/errors';
import { WinrmSession, type CommandRun } from '../../src/core/session';
import type { TraceEvent } from '../../src/core/transport/http';
import type { AuthScheme } from '../host/auth';
import { credSspCertificate, credSspScheme } from '../host/credssp/acceptor';
import { startTestHost, type TestHost, type TestHostOptions } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { ntlmScheme } from '../host/ntlm/scheme';
import { RequestLog, actionOf, notHanging, outcome, restartHost, waitUntil } from '../support/faults';
import { peerMissing } from '../support/peers';

const PASSWORD = 'canary-Lifecycle-Pa55-7!';
const credentials = { user: 'alice', password: PASSWORD };

async function drain(run: CommandRun): Promise<{ stdout: string; code: number }> {
  let stdout = '';
  for await (const c of run) if (c.stream === 'stdout') stdout += c.bytes.toString('utf8');
  return { stdout, code: await run.exitCode };
}

test('a certificate that changed (host restarted with a new CA on the same port) is a TLS error, not a hang', { timeout: 60_000 }, async () => {
  const first = await startTestHost({ https: true, user: 'alice', password: PASSWORD, wine: false, pwshPath: null });
  const session = new WinrmSession({ url: first.url, credentials, tls: { ca: first.caPem }, operationTimeout: 2, cleanupTimeoutMs: 6000 });
  let second: TestHost | undefined;
  try {
    assert.deepEqual(await drain(session.run('winrm-test', ['exit', '0', '--stdout', 'trusted'])), { stdout: 'trusted\r\n', code: 0 });
    await first.close();
    // Another set of names gets another CA and leaf: the old CA no longer vouches for the host.
    second = await startTestHost({ https: true, port: first.port, user: 'alice', password: PASSWORD, wine: false, pwshPath: null, certificateName: ['localhost', '127.0.0.1', 'rotated.winrm.test'] });
    assert.notEqual(second.caPem, first.caPem);
    const r = await notHanging(outcome(drain(session.run('winrm-test', ['exit', '0'], { deadline: Date.now() + 10_000 }))), 20_000, 'run');
    assert.equal(r.ok, false);
    const err = (r as { error: unknown }).error;
    assert.ok(err instanceof TlsError, String(err));
    assert.match(err.message, /not trusted/);
    assert.match(describeError(err), /Hint: .*CA/);
    assert.equal(second.openShells(), 0, 'nothing was sent to the unverified host');
  } finally {
    await session.close();
    await first.close();
    await second?.close();
  }
});

describe('the host restarts (all shells gone)', () => {
  const hostOptions: TestHostOptions = { user: 'alice', password: PASSWORD, wine: false, pwshPath: null };
  let host: TestHost;
  before(async () => { host = await startTestHost(hostOptions); });
  after(async () => host.close());

  test('between runs: the next reused-shell run gets a new shell transparently', { timeout: 60_000 }, async () => {
    const session = new WinrmSession({ url: host.url, credentials, operationTimeout: 2 });
    try {
      assert.equal((await drain(session.run('winrm-test', ['exit', '3'], { reuseShell: true }))).code, 3);
      assert.equal(host.openShells(), 1);
      host = await restartHost(host, hostOptions);
      assert.equal(host.openShells(), 0);
      const log = new RequestLog();
      host.setHooks(log.hooks());
      const r = await notHanging(drain(session.run('winrm-test', ['exit', '4', '--stdout', 'new-shell'], { reuseShell: true })), 20_000, 'run');
      assert.deepEqual(r, { stdout: 'new-shell\r\n', code: 4 });
      // The old shell's Command was refused with "shell not found" (it never ran); one more on the new shell.
      assert.deepEqual(log.requests.map((q) => q.action).filter((a) => a === 'Command' || a === 'Create'), ['Command', 'Create', 'Command']);
      const refused = log.replies.find((q) => q.action === 'Command');
      assert.ok(refused && refused.status === 500 && /2150858843/.test(refused.soap));
      assert.equal(host.openShells(), 1);
    } finally {
      await session.close();
    }
    assert.equal(host.openShells(), 0);
  });

  test('during a run: a typed error, no hang, and the session works afterwards', { timeout: 60_000 }, async () => {
    const session = new WinrmSession({ url: host.url, credentials, operationTimeout: 2, cleanupTimeoutMs: 6000 });
    try {
      const run = session.run('winrm-test', ['lines', '--count', '100', '--interval-ms', '100'], { reuseShell: true });
      let restarted: Promise<void> | undefined;
      const r = await notHanging(outcome((async () => {
        for await (const _ of run) restarted ??= restartHost(host, hostOptions).then((h) => { host = h; });
      })()), 30_000, 'run');
      await restarted;
      assert.equal(r.ok, false);
      const err = (r as { error: unknown }).error;
      assert.ok(err instanceof WinrmError, String(err));
      assert.ok(err instanceof NetworkError || (err instanceof WsmanFaultError && err.isShellGone), String(err));
      assert.match(describeError(err), / Hint: \S/);
      const again = await notHanging(drain(session.run('winrm-test', ['exit', '0', '--stdout', 'after-restart'], { reuseShell: true })), 20_000, 'next run');
      assert.deepEqual(again, { stdout: 'after-restart\r\n', code: 0 });
    } finally {
      await session.close();
    }
    assert.equal(host.openShells(), 0);
  });
});

test('a reused shell that reached its idle timeout is replaced transparently', { timeout: 60_000 }, async () => {
  const host = await startTestHost({ user: 'alice', password: PASSWORD, wine: false, pwshPath: null });
  const session = new WinrmSession({ url: host.url, credentials, operationTimeout: 2 });
  try {
    const shell = { codepage: 65001, idleTimeout: 1 };
    assert.equal((await drain(session.run('winrm-test', ['exit', '0'], { reuseShell: true, shell }))).code, 0);
    const id = host.shells()[0].id;
    await waitUntil(() => host.openShells() === 0, 10_000, 'the host closed the idle shell');
    const r = await notHanging(drain(session.run('winrm-test', ['exit', '9', '--stdout', 'fresh'], { reuseShell: true, shell })), 20_000, 'run');
    assert.deepEqual(r, { stdout: 'fresh\r\n', code: 9 });
    assert.equal(host.openShells(), 1);
    assert.notEqual(host.shells()[0].id, id);
  } finally {
    await session.close();
    assert.equal(host.openShells(), 0);
    await host.close();
  }
});

const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);

for (const auth of ['ntlm', 'credssp'] as const) {
  describe(`dropped connections on an encrypted ${auth === 'ntlm' ? 'NTLM' : 'CredSSP'} session over HTTP`, { skip: noSidecar }, () => {
    let sidecar: NtlmSidecar;
    let cert: Awaited<ReturnType<typeof credSspCertificate>> | undefined;
    /** Handshakes the host completed so far. */
    let handshakes: () => number;
    let host: TestHost;
    const creds = { user: 'alice', password: PASSWORD, domain: 'LAB' };
    before(async () => {
      sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: 'alice', password: PASSWORD }], domainName: 'LAB' });
      await sidecar.ready();
      let schemes: AuthScheme[];
      if (auth === 'ntlm') {
        const scheme = ntlmScheme({ sidecar });
        // An acceptor is made when a connection's first Authorization: Negotiate arrives.
        handshakes = () => scheme.acceptors.length;
        schemes = [scheme];
      } else {
        cert = await credSspCertificate();
        const scheme = credSspScheme({ sidecar, users: [{ domain: 'LAB', user: 'alice', password: PASSWORD }], keyPem: cert.keyPem, certPem: cert.certPem });
        handshakes = () => scheme.legs();
        schemes = [scheme];
      }
      // Unsealed requests are refused: after a drop, only a completed new handshake gets through.
      host = await startTestHost({ user: 'alice', password: PASSWORD, schemes: () => schemes, allowUnencrypted: false, wine: false, pwshPath: null });
    });
    after(async () => {
      await host?.close();
      await sidecar?.close();
      await cert?.remove();
    });

    test('a drop in the middle of a Receive: the run fails typed, cleanup and the next run authenticate anew and succeed', { timeout: 90_000 }, async () => {
      const trace: TraceEvent[] = [];
      const session = new WinrmSession({ url: host.url, auth, credentials: creds, operationTimeout: 2, cleanupTimeoutMs: 10_000, trace: (e) => trace.push(e) });
      try {
        assert.equal((await drain(session.run('winrm-test', ['exit', '0', '--stdout', 'sealed']))).stdout, 'sealed\r\n');
        const before = handshakes();
        const log = new RequestLog();
        let receives = 0;
        host.setHooks(log.hooks({ onRequest: (info) => (actionOf(info) === 'Receive' && ++receives === 2 ? { delayMs: 200, drop: true } : undefined) }));
        const r = await notHanging(outcome(drain(session.run('winrm-test', ['lines', '--count', '30', '--interval-ms', '100']))), 40_000, 'run');
        assert.equal(r.ok, false);
        assert.ok((r as { error: unknown }).error instanceof NetworkError, String((r as { error: unknown }).error));
        assert.equal(host.openShells(), 0, 'terminate and delete got through');
        assert.equal(log.count('Command'), 1);
        host.setHooks(undefined);
        const again = await notHanging(drain(session.run('winrm-test', ['echo-stdin'], { stdin: Buffer.from('after the drop ✓') })), 40_000, 'next run');
        assert.deepEqual(again, { stdout: 'after the drop ✓', code: 0 });
        assert.ok(handshakes() > before, 'a new handshake on the new connection');
        // Every SOAP request went sealed (the host would have refused a plain one with 401).
        const requests = trace.filter((e) => e.direction === 'request' && e.body.startsWith('<'));
        assert.ok(requests.length > 5 && requests.every((e) => /multipart\/(x-multi-)?encrypted/.test(e.headers['content-type'] ?? '')));
      } finally {
        await session.close();
      }
      assert.equal(host.openShells(), 0);
    });

    test('terminate and delete dropped: retried on new, freshly authenticated connections', { timeout: 90_000 }, async () => {
      const session = new WinrmSession({ url: host.url, auth, credentials: creds, operationTimeout: 2, cleanupTimeoutMs: 15_000 });
      const log = new RequestLog();
      const dropped = new Set<string>();
      host.setHooks(log.hooks({
        onRequest: (info) => {
          const a = actionOf(info);
          if ((a === 'Signal' || a === 'Delete') && !dropped.has(a)) { dropped.add(a); return { drop: true }; }
          return undefined;
        },
      }));
      try {
        const abort = new AbortController();
        const run = session.run('winrm-test', ['hang'], { signal: abort.signal });
        const r = await notHanging(outcome((async () => { for await (const _ of run) abort.abort(); })()), 60_000, 'run');
        assert.equal(r.ok, false);
        assert.equal(host.openShells(), 0);
        const ids = log.requests.filter((q) => q.action === 'Delete').map((q) => q.connectionId);
        assert.equal(ids.length, 2);
        assert.notEqual(ids[0], ids[1]);
      } finally {
        host.setHooks(undefined);
        await session.close();
      }
    });
  });
}
