// A canary password, in use over real connections to the test host, under faults: it
// must not appear (in any encoding) in trace events, error messages, hints,
// describeError, inspected errors (causes included), the CLI's stdout/stderr, or any
// file the CLI writes (its HOME, TMPDIR and working directory are fresh folders that
// are searched afterwards). The extension's own surfaces are checked by the e2e tests.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { describeError } from '../../src/core/errors';
import { WinrmSession, type SessionOptions } from '../../src/core/session';
import type { TraceEvent } from '../../src/core/transport/http';
import { credSspCertificate, credSspScheme } from '../host/credssp/acceptor';
import { startTestHost, type TestHost } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { ntlmScheme } from '../host/ntlm/scheme';
import { BAD_REPLIES, actionOf, canaryLeaks, faultReply, notHanging } from '../support/faults';
import { CLI_PATH, runCli } from '../support/cli';
import { peerMissing } from '../support/peers';

const CANARY = 'Cnry-Secret-4b1d-Pässwörd!';
const WRONG = 'Cnry-Wrong-77e0-Kennwört?';
const USER = 'alice';

/** Everything a caller can see of an error. */
function surfaces(err: unknown): string {
  const e = err as { message?: string; hint?: string };
  return [describeError(err), e?.message, e?.hint, inspect(err, { depth: 6 }), JSON.stringify(err)].join('\n');
}

function assertNoCanary(what: string, text: string): void {
  for (const pw of [CANARY, WRONG]) {
    const found = canaryLeaks(text, pw, USER);
    assert.deepEqual(found, [], `${what}: the password leaked (${found.join(', ')})`);
  }
}

async function drainAll(session: WinrmSession, args: string[], extra: Parameters<WinrmSession['run']>[2] = {}): Promise<unknown> {
  try {
    const run = session.run('winrm-test', args, extra);
    for await (const _ of run) { /* drain */ }
    await run.exitCode;
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('core over Basic (HTTP and HTTPS), under faults', () => {
  for (const https of [false, true]) {
    test(`trace events and errors carry no password (${https ? 'HTTPS' : 'HTTP'})`, { timeout: 90_000 }, async () => {
      const host = await startTestHost({ https, user: USER, password: CANARY, wine: false, pwshPath: null, maxShellsPerUser: 3 });
      const events: TraceEvent[] = [];
      const errors: unknown[] = [];
      const base: SessionOptions = { url: host.url, credentials: { user: USER, password: CANARY }, tls: { ca: host.caPem }, operationTimeout: 2, cleanupTimeoutMs: 5000, trace: (e) => events.push(e) };
      try {
        const session = new WinrmSession(base);
        assert.equal(await drainAll(session, ['exit', '0', '--stdout', 'fine']), undefined);
        // Faults, one after another: a 401 loop, garbage, a drop, a quota fault on Create, a deadline.
        const faults: ((info: Parameters<typeof actionOf>[0]) => ReturnType<typeof BAD_REPLIES.garbage>)[] = [
          (info) => (actionOf(info) === 'Receive' ? BAD_REPLIES.unauthorized() : undefined),
          (info) => (actionOf(info) === 'Command' ? BAD_REPLIES.garbage() : undefined),
          (info) => (actionOf(info) === 'Receive' ? { drop: true } : undefined),
          (info) => (actionOf(info) === 'Create' ? faultReply(info, 'quotaExceeded') : undefined),
        ];
        for (const f of faults) {
          host.setHooks({ onRequest: f });
          errors.push(await notHanging(drainAll(session, ['hang'], { deadline: Date.now() + 3000 }), 30_000, 'run'));
        }
        host.setHooks(undefined);
        errors.push(await drainAll(session, ['hang'], { deadline: Date.now() + 800 }));
        await session.close();
        // A wrong password (itself a secret), and TLS without the CA.
        const wrong = new WinrmSession({ ...base, credentials: { user: USER, password: WRONG } });
        errors.push(await drainAll(wrong, ['exit', '0']));
        await wrong.close();
        if (https) {
          const untrusted = new WinrmSession({ ...base, tls: {} });
          errors.push(await drainAll(untrusted, ['exit', '0']));
          await untrusted.close();
        }
      } finally {
        await host.close();
      }
      assert.ok(errors.length >= 6 && errors.every((e) => e instanceof Error), `every fault ended in an error: ${errors.map(String).join('; ')}`);
      assertNoCanary('errors', errors.map(surfaces).join('\n'));
      assertNoCanary('trace', JSON.stringify(events));
      const authorizations = events.map((e) => e.headers.authorization).filter(Boolean);
      assert.ok(authorizations.length > 5 && authorizations.every((a) => a === 'Basic [redacted]'), 'Authorization headers are masked in the trace');
    });
  }
});

const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);

for (const auth of ['ntlm', 'credssp'] as const) {
  test(`${auth} over HTTP: handshake tokens${auth === 'credssp' ? ', TLS records and the delegated TSCredentials' : ''} never reach the trace`, { skip: noSidecar, timeout: 90_000 }, async () => {
    const sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: USER, password: CANARY }], domainName: 'LAB' });
    await sidecar.ready();
    const cert = auth === 'credssp' ? await credSspCertificate() : undefined;
    const scheme = cert
      ? credSspScheme({ sidecar, users: [{ domain: 'LAB', user: USER, password: CANARY }], keyPem: cert.keyPem, certPem: cert.certPem })
      : ntlmScheme({ sidecar });
    const host = await startTestHost({ user: USER, password: CANARY, schemes: () => [scheme], allowUnencrypted: false, wine: false, pwshPath: null });
    const events: TraceEvent[] = [];
    const errors: unknown[] = [];
    try {
      const base: SessionOptions = { url: host.url, auth, credentials: { user: USER, password: CANARY, domain: 'LAB' }, operationTimeout: 2, trace: (e) => events.push(e) };
      const session = new WinrmSession(base);
      assert.equal(await drainAll(session, ['exit', '0']), undefined);
      host.setHooks({ onRequest: (info) => (actionOf(info) === 'Receive' ? { drop: true } : undefined) });
      errors.push(await drainAll(session, ['exit', '0']));
      host.setHooks(undefined);
      await session.close();
      const wrong = new WinrmSession({ ...base, credentials: { user: USER, password: WRONG, domain: 'LAB' } });
      errors.push(await drainAll(wrong, ['exit', '0']));
      await wrong.close();
      if ('delegated' in scheme) assert.ok(scheme.delegated.some((d) => d.password === CANARY), 'the password really was delegated');
    } finally {
      await host.close();
      await sidecar.close();
      await cert?.remove();
    }
    assert.ok(errors.length === 2 && errors.every((e) => e instanceof Error));
    assertNoCanary('errors', errors.map(surfaces).join('\n'));
    assertNoCanary('trace', JSON.stringify(events));
    const wire = auth === 'credssp' ? 'CredSSP' : 'Negotiate';
    const headers = [...new Set(events.flatMap((e) => [e.headers.authorization, e.headers['www-authenticate']]).filter(Boolean))];
    assert.ok(headers.length > 0 && headers.every((a) => a === `${wire} [redacted]` || a === wire), `handshake headers masked: ${headers.join(' / ')}`);
    assert.ok(headers.includes(`${wire} [redacted]`));
  });
}

describe('winrm-run: stdout, stderr and every file it writes', () => {
  let host: TestHost;
  let garbage: Server;
  let garbageUrl: string;
  let home: string;
  let scripts: string;
  const outputs: string[] = [];

  before(async () => {
    host = await startTestHost({ https: true, user: USER, password: CANARY, wine: false, pwshPath: null });
    garbage = createServer((_req, res) => res.end('<html>not WinRM</html>'));
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    garbageUrl = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}/wsman`;
    home = mkdtempSync(join(tmpdir(), 'winrm-secrets-home-'));
    scripts = mkdtempSync(join(tmpdir(), 'winrm-secrets-scripts-'));
  });
  after(async () => {
    await host.close();
    garbage.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(scripts, { recursive: true, force: true });
  });

  async function cli(args: string[], password = CANARY): Promise<{ code: number | null; out: string }> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, WINRM_PASSWORD: password,
      // Everything the CLI could write goes under `home`.
      HOME: home, TMPDIR: join(home, 'tmp'), XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), XDG_STATE_HOME: join(home, '.state'),
    };
    const { code, stdout, stderr } = await runCli(args, { cwd: home, env });
    const out = stdout + stderr;
    outputs.push(out);
    return { code, out };
  }

  test('runs that succeed and runs that fail print no password', { skip: !existsSync(CLI_PATH) && 'winrm-run is not built (node .ci/build.mjs src/cli)', timeout: 120_000 }, async () => {
    const ps1 = join(scripts, 'hello.ps1');
    writeFileSync(ps1, "Write-Output 'hi'\n");
    const trusted = ['--host', host.url, '--ca', host.caPemPath!, '--user', USER];
    const ok = await cli([...trusted, '--command', 'winrm-test exit 0 --stdout fine']);
    assert.equal(ok.code, 0, ok.out);
    const cases: { args: string[]; password?: string; expect: RegExp }[] = [
      { args: [...trusted, '--command', 'winrm-test exit 0'], password: WRONG, expect: /rejected the user name or password/ },
      { args: ['--host', host.url, '--user', USER, '--command', 'winrm-test exit 0'], expect: /not trusted/ },
      { args: ['--host', garbageUrl, '--user', USER, '--command', 'winrm-test exit 0'], expect: /not XML|WinRM/ },
      { args: ['--host', 'http://127.0.0.1:1/wsman', '--user', USER, '--command', 'winrm-test exit 0'], expect: /Nothing accepts connections/ },
      { args: ['--host', `https://${USER}:${encodeURIComponent(CANARY)}@127.0.0.1:99999/wsman`, '--user', USER, '--command', 'x'], expect: /not a valid host/ },
      { args: [...trusted, '--timeout', '1.5', '--command', 'winrm-test hang'], expect: /deadline|time/i },
      { args: [...trusted, '--file', ps1, '--arg', 'x=1', '--preview'], expect: /EncodedCommand|-Command/ },
    ];
    for (const c of cases) {
      const r = await cli(c.args, c.password);
      assert.match(r.out, c.expect, `${c.args.join(' ')}\n${r.out}`);
    }
    assertNoCanary('CLI output', outputs.join('\n'));
  });

  test('no file the CLI wrote (under HOME, TMPDIR, the working directory) holds the password', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p); else files.push(p);
      }
    };
    walk(home);
    for (const f of files) assertNoCanary(f, readFileSync(f).toString('latin1') + readFileSync(f).toString('utf16le') + readFileSync(f, 'utf8'));
    // Today it writes none; should that change, the files above are still searched.
    assert.ok(outputs.length >= 8, 'the CLI ran');
  });
});
