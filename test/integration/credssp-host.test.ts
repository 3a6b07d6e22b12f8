// Our CredSSP client (WinrmSession, auth 'credssp') against the test WinRM host with
// its CredSSP acceptor: Node's TLS server inside, NTLM accepted by gss-ntlmssp
// through the sidecar, delegated credentials checked, encrypted bodies both ways.
// Real PowerShell (pwsh) runs the scripts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCredSspProvider } from '../../src/core/auth/credssp-provider';
import { AuthError } from '../../src/core/errors';
import { planLaunch } from '../../src/core/launch';
import { runScript, type TextChunk } from '../../src/core/run-script';
import { WinrmSession, type SessionOptions } from '../../src/core/session';
import type { TraceEvent } from '../../src/core/transport/http';
import { credSspCertificate, credSspScheme, type CredSspScheme } from '../host/credssp/acceptor';
import { startTestHost, type TestHost } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { cliMissing, runCli } from '../support/cli';
import { peerMissing, pwshPath } from '../support/peers';

const PASSWORD = 'Cred-SSP-pässwörd-1!';
const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);
const noPwsh = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

const noCli = cliMissing();

const cli = (args: string[]) => runCli(args, { password: PASSWORD });

async function collect(run: AsyncIterable<TextChunk>): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const c of run) {
    if (c.stream === 'stdout') stdout += c.text; else stderr += c.text;
  }
  return { stdout, stderr };
}

let sidecar: NtlmSidecar;
let cert: Awaited<ReturnType<typeof credSspCertificate>>;
before(async () => {
  if (noSidecar) return;
  sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: 'alice', password: PASSWORD }], domainName: 'LAB' });
  await sidecar.ready();
  cert = await credSspCertificate();
});
after(async () => {
  await sidecar?.close();
  await cert?.remove();
});

for (const https of [false, true]) {
  describe(`CredSSP over ${https ? 'HTTPS' : 'HTTP (encrypted)'} against the test host`, { skip: noSidecar }, () => {
    let host: TestHost;
    let scheme: CredSspScheme;
    let options: SessionOptions;
    before(async () => {
      scheme = credSspScheme({ sidecar, users: [{ domain: 'LAB', user: 'alice', password: PASSWORD }], keyPem: cert.keyPem, certPem: cert.certPem });
      host = await startTestHost({ https, user: 'alice', password: PASSWORD, schemes: () => [scheme], allowUnencrypted: false });
      options = { url: host.url, auth: 'credssp', credentials: { user: 'alice', password: PASSWORD, domain: 'LAB' }, tls: { ca: host.caPem } };
    });
    after(async () => host?.close());

    test('PowerShell runs with the delegated credentials; the host saw LAB\\alice and the password', { skip: noPwsh }, async () => {
      const before = scheme.delegated.length;
      const session = new WinrmSession(options);
      try {
        const plan = planLaunch({
          language: 'powershell',
          code: "Write-Output \"hello $who ✓\"; [Console]::Error.WriteLine('to stderr'); exit 4",
          args: [{ name: 'who', value: 'double hop' }],
          style: 'variables',
          profile: 'safe',
        });
        const run = runScript(session, plan);
        const out = await collect(run);
        assert.equal(await run.exitCode, 4);
        assert.equal(out.stdout.replace(/\r\n/g, '\n'), 'hello double hop ✓\n');
        assert.match(out.stderr, /to stderr/);
      } finally {
        await session.close();
      }
      const got = scheme.delegated.slice(before);
      assert.ok(got.length >= 1, 'credentials were delegated');
      for (const d of got) assert.deepEqual({ domain: d.domain, user: d.user, password: d.password, valid: d.valid }, { domain: 'LAB', user: 'alice', password: PASSWORD, valid: true });
      assert.equal(host.openShells(), 0);
    });

    test('large output and large input: 16 KiB parts both ways (multipart/x-multi-encrypted on HTTP)', async () => {
      const trace: TraceEvent[] = [];
      const session = new WinrmSession({ ...options, trace: (e) => trace.push(e) });
      const input = Buffer.from('input line ✓ 0123456789\r\n'.repeat(12_000));
      let out = 0;
      const parts: Buffer[] = [];
      try {
        const big = session.run('winrm-test', ['emit', '--stdout', String(600_000)], { shell: { codepage: 65001 } });
        for await (const chunk of big) out += chunk.bytes.length;
        assert.equal(await big.exitCode, 0);
        const echo = session.run('winrm-test', ['echo-stdin'], { stdin: input });
        for await (const chunk of echo) parts.push(chunk.bytes);
        assert.equal(await echo.exitCode, 0);
      } finally {
        await session.close();
      }
      assert.equal(out, 600_000);
      assert.ok(Buffer.concat(parts).equals(input), 'stdin came back byte for byte');
      const types = (dir: string) => trace.filter((e) => e.direction === dir).map((e) => e.headers['content-type'] ?? '');
      if (https) {
        assert.ok(types('reply').every((t) => !/encrypted/.test(t)), 'HTTPS: no message encryption');
      } else {
        const credssp = /protocol="application\/HTTP-CredSSP-session-encrypted"/;
        assert.ok(types('request').some((t) => /^multipart\/x-multi-encrypted/.test(t) && credssp.test(t)), 'a request over 16 KiB went in parts');
        assert.ok(types('reply').some((t) => /^multipart\/x-multi-encrypted/.test(t) && credssp.test(t)), 'a reply over 16 KiB came in parts');
        assert.ok(types('reply').some((t) => /^multipart\/encrypted/.test(t) && credssp.test(t)), 'small replies in one part');
        assert.ok(types('request').filter((t) => t !== '').every((t) => credssp.test(t)), 'every request was encrypted');
      }
    });

    for (const variant of [
      { name: 'raw NTLM, TLS 1.2', rawNtlm: true, tls: 'TLSv1.2' as const },
      { name: 'SPNEGO, TLS 1.2', rawNtlm: false, tls: 'TLSv1.2' as const },
      { name: 'SPNEGO, TLS 1.3', rawNtlm: false, tls: 'TLSv1.3' as const },
      { name: 'raw NTLM, TLS 1.3', rawNtlm: true, tls: 'TLSv1.3' as const },
    ]) {
      test(`inner ${variant.name}: a command runs and the credentials arrive`, async () => {
        const before = scheme.delegated.length;
        const authProvider = createCredSspProvider({ credentials: options.credentials, rawNtlm: variant.rawNtlm, minTlsVersion: variant.tls, maxTlsVersion: variant.tls });
        const session = new WinrmSession({ ...options, authProvider });
        const parts: Buffer[] = [];
        try {
          const run = session.run('winrm-test', ['echo-stdin'], { stdin: Buffer.from(`via ${variant.name}`) });
          for await (const chunk of run) parts.push(chunk.bytes);
          assert.equal(await run.exitCode, 0);
        } finally {
          await session.close();
        }
        assert.equal(Buffer.concat(parts).toString(), `via ${variant.name}`);
        const got = scheme.delegated.slice(before);
        assert.ok(got.length >= 1 && got.every((d) => d.valid && d.domain === 'LAB' && d.user === 'alice' && d.password === PASSWORD));
      });
    }

    test('winrm-run --auth credssp --domain LAB runs a script; without a domain it refuses before connecting', { skip: noCli }, async () => {
      const before = scheme.delegated.length;
      const args = ['--host', host.url, ...(https ? ['--ca', host.caPemPath!] : []), '--user', 'alice', '--auth', 'credssp'];
      const r = await cli([...args, '--domain', 'LAB', '--language', 'powershell', '--command', "Write-Output ('cli ' + (6*7)); exit 2"]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout.replace(/\r\n/g, '\n'), 'cli 42\n');
      assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
      assert.ok(scheme.delegated.slice(before).some((d) => d.valid && d.domain === 'LAB' && d.user === 'alice'));
      const legs = scheme.legs();
      const n = await cli([...args, '--command', 'winrm-test exit 0']);
      assert.equal(n.code, 255);
      assert.match(n.stderr, /CredSSP needs a domain/);
      assert.equal(scheme.legs(), legs, 'no handshake was attempted');
    });

    test('a wrong password is refused with a clear error, and nothing is delegated', async () => {
      const before = scheme.delegated.length;
      const session = new WinrmSession({ ...options, credentials: { user: 'alice', password: 'wrong-password', domain: 'LAB' } });
      try {
        const run = session.run('winrm-test', ['echo-stdin'], { stdin: Buffer.from('x') });
        await assert.rejects(async () => { for await (const _ of run) { /* no output expected */ } }, (err: unknown) => {
          assert.ok(err instanceof AuthError, String(err));
          assert.equal(err.reason, 'bad-credentials');
          assert.match(err.message, /LAB\\alice/);
          assert.match(err.message, /0x8009030C/);
          assert.doesNotMatch(err.message + err.hint, /wrong-password/);
          return true;
        });
      } finally {
        await session.close();
      }
      assert.equal(scheme.delegated.length, before, 'no credentials reach a host that failed the logon');
    });
  });
}

describe('CredSSP version and key-binding checks against the test host', { skip: noSidecar }, () => {
  const users = [{ domain: 'LAB', user: 'alice', password: PASSWORD }];
  async function hostWith(extra: { version?: number; tamperBinding?: boolean }): Promise<{ host: TestHost; scheme: CredSspScheme }> {
    const scheme = credSspScheme({ sidecar, users, keyPem: cert.keyPem, certPem: cert.certPem, ...extra });
    const host = await startTestHost({ user: 'alice', password: PASSWORD, schemes: () => [scheme], allowUnencrypted: false });
    return { host, scheme };
  }
  async function runOnce(host: TestHost, allowOldVersions?: boolean): Promise<string> {
    const credentials = { user: 'alice', password: PASSWORD, domain: 'LAB' };
    const session = new WinrmSession({ url: host.url, credentials, authProvider: createCredSspProvider({ credentials, allowOldVersions }) });
    const parts: Buffer[] = [];
    try {
      const run = session.run('winrm-test', ['echo-stdin'], { stdin: Buffer.from('old or new') });
      for await (const chunk of run) parts.push(chunk.bytes);
    } finally {
      await session.close();
    }
    return Buffer.concat(parts).toString();
  }

  test('a version 4 host is refused by default (CVE-2018-0886) before any credentials go out; allowed on request', async () => {
    const { host, scheme } = await hostWith({ version: 4 });
    try {
      await assert.rejects(runOnce(host), (err: unknown) => {
        assert.ok(err instanceof AuthError, String(err));
        assert.match(err.message, /version 4/);
        assert.match(err.message, /CVE-2018-0886/);
        return true;
      });
      assert.equal(scheme.delegated.length, 0);
      // With the user's explicit consent the old binding (the bare key, +1 in the answer) is used.
      assert.equal(await runOnce(host, true), 'old or new');
      // One logon per connection (the session's data and control connections).
      assert.ok(scheme.delegated.length >= 1);
      for (const d of scheme.delegated) assert.deepEqual([d.domain, d.user, d.password, d.valid], ['LAB', 'alice', PASSWORD, true]);
    } finally {
      await host.close();
    }
  });

  test('a server whose key-binding answer is wrong never receives the credentials', async () => {
    const { host, scheme } = await hostWith({ tamperBinding: true });
    try {
      await assert.rejects(runOnce(host), (err: unknown) => {
        assert.ok(err instanceof AuthError, String(err));
        assert.match(err.message, /public-key check/);
        assert.match(err.message, /NOT sent/);
        return true;
      });
      assert.equal(scheme.delegated.length, 0);
    } finally {
      await host.close();
    }
  });
});
