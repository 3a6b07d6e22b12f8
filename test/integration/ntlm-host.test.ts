// NTLM end to end through the test WinRM host, whose NTLM side is gss-ntlmssp (via the
// sidecar, plugged in with the host's `schemes` option): our client (WinrmSession)
// runs real PowerShell over HTTP with message encryption, over HTTPS with channel
// binding, and over HTTP unencrypted where the host allows it; pywinrm with
// transport='ntlm', message_encryption='always' runs run_cmd and run_ps against it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNtlmProvider } from '../../src/core/auth/ntlm-provider';
import type { EncryptionMode } from '../../src/core/auth/types';
import { AuthError } from '../../src/core/errors';
import { planLaunch } from '../../src/core/launch';
import { runScript, type TextChunk } from '../../src/core/run-script';
import { WinrmSession } from '../../src/core/session';
import type { TraceEvent } from '../../src/core/transport/http';
import { startTestHost, type TestHost, type TestHostOptions } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { ntlmScheme, type NtlmScheme } from '../host/ntlm/scheme';
import { runCli } from '../support/cli';
import { findRoot, peerMissing, pwshPath, runs } from '../support/peers';

const PASSWORD = 'Ntlm-pässwörd-42!';
const PYTHON = '/usr/bin/python3';
const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);
const noPwsh = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');
const noPywinrm = peerMissing('pywinrm with NTLM (python3-winrm, python3-requests-ntlm, python3-ntlm-auth)', runs(PYTHON, ['-c', 'import winrm, requests_ntlm, ntlm_auth']),
  'DEBIAN_FRONTEND=noninteractive apt-get install -y python3-winrm python3-requests-ntlm python3-ntlm-auth');

let sidecar: NtlmSidecar;
let tmp: string;
before(async () => {
  if (noSidecar) return;
  sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: 'alice', password: PASSWORD }], domainName: 'LAB', computerName: 'WINRM-TEST' });
  await sidecar.ready();
  tmp = mkdtempSync(join(tmpdir(), 'ntlm-host-'));
});
after(async () => {
  await sidecar?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function startNtlmHost(options: TestHostOptions & { refuseEncryption?: boolean; schemeName?: 'Negotiate' | 'NTLM' } = {}): Promise<{ host: TestHost; scheme: NtlmScheme }> {
  let scheme!: NtlmScheme;
  const host = await startTestHost({
    user: 'alice',
    password: PASSWORD,
    ...options,
    schemes: (ctx) => {
      scheme = ntlmScheme({ sidecar, name: options.schemeName, refuseEncryption: options.refuseEncryption, offer: () => ([] as string[]).concat(ctx.unauthorized().headers['WWW-Authenticate'] ?? []) });
      return [scheme];
    },
  });
  return { host, scheme };
}

async function collect(run: AsyncIterable<TextChunk>): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const c of run) {
    if (c.stream === 'stdout') stdout += c.text; else stderr += c.text;
  }
  return { stdout, stderr };
}

async function drain(run: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of run) { /* output is not the point here */ }
}

function session(host: TestHost, encryption: EncryptionMode, extra: { password?: string; user?: string; trace?: TraceEvent[] } = {}): WinrmSession {
  return new WinrmSession({
    url: host.url,
    credentials: { user: extra.user ?? 'LAB\\alice', password: extra.password ?? PASSWORD },
    authProvider: createNtlmProvider({ credentials: { user: extra.user ?? 'LAB\\alice', password: extra.password ?? PASSWORD }, encryption }),
    tls: host.caPem ? { ca: host.caPem } : undefined,
    trace: extra.trace ? (e) => extra.trace!.push(e) : undefined,
  });
}

const modes = [
  { name: 'HTTP with message encryption (host refuses unencrypted traffic)', https: false, allowUnencrypted: false, encryption: 'auto' as const, sealed: true },
  { name: 'HTTPS with channel binding, no message encryption', https: true, allowUnencrypted: false, encryption: 'auto' as const, sealed: false },
  { name: 'HTTP without encryption (host allows it)', https: false, allowUnencrypted: true, encryption: 'never' as const, sealed: false },
];

for (const mode of modes) {
  describe(`NTLM ${mode.name}`, { skip: noSidecar }, () => {
    let host: TestHost;
    let scheme: NtlmScheme;
    before(async () => ({ host, scheme } = await startNtlmHost({ https: mode.https, allowUnencrypted: mode.allowUnencrypted })));
    after(async () => host?.close());

    test('real PowerShell runs; output, stderr and exit code come back; the host saw LAB\\alice', { skip: noPwsh }, async () => {
      const trace: TraceEvent[] = [];
      const s = session(host, mode.encryption, { trace });
      try {
        const plan = planLaunch({ language: 'powershell', code: "Write-Output \"hello $who ✓\"; [Console]::Error.WriteLine('to stderr'); exit 3", args: [{ name: 'who', value: 'ntlm' }], style: 'variables', profile: 'safe' });
        const run = runScript(s, plan);
        const out = await collect(run);
        assert.equal(await run.exitCode, 3);
        assert.equal(out.stdout.replace(/\r\n/g, '\n'), 'hello ntlm ✓\n');
        assert.match(out.stderr, /to stderr/);
      } finally {
        await s.close();
      }
      assert.ok(scheme.acceptors.some((a) => a.logons.some((u) => /^LAB\\alice$/i.test(u))), 'gss-ntlmssp logged LAB\\alice on');
      const types = trace.filter((e) => e.direction === 'reply' && e.body !== '').map((e) => e.headers['content-type'] ?? '');
      assert.ok(types.length > 0);
      for (const t of types) assert.equal(/^multipart\/encrypted;protocol="application\/HTTP-SPNEGO-session-encrypted"/.test(t), mode.sealed, t);
      assert.equal(host.openShells(), 0);
    });

    test('large output (3 MB) and stdin echoed byte for byte', async () => {
      const s = session(host, mode.encryption);
      const input = Buffer.from('line ✓ 0123456789 abcdefghijklmnopqrstuvwxyz\r\n'.repeat(20_000));
      let out = 0;
      const parts: Buffer[] = [];
      try {
        const big = s.run('winrm-test', ['emit', '--stdout', String(3_000_000)], { shell: { codepage: 65001 } });
        for await (const chunk of big) out += chunk.bytes.length;
        assert.equal(await big.exitCode, 0);
        const echo = s.run('winrm-test', ['echo-stdin'], { stdin: input });
        for await (const chunk of echo) parts.push(chunk.bytes);
        assert.equal(await echo.exitCode, 0);
      } finally {
        await s.close();
      }
      assert.equal(out, 3_000_000);
      assert.ok(Buffer.concat(parts).equals(input));
    });
  });
}

describe('winrm-run --auth ntlm', { skip: noSidecar || noPwsh }, () => {
  const cli = (args: string[]) => runCli(args, { password: PASSWORD });

  test('runs PowerShell over HTTP with encryption against a host that refuses plain traffic; "never" is explained', async () => {
    const { host, scheme } = await startNtlmHost({ allowUnencrypted: false });
    try {
      const ok = await cli(['--host', host.url, '--user', 'LAB\\alice', '--auth', 'ntlm', '--language', 'powershell', '--command', 'Write-Output "über NTLM"; exit 6']);
      assert.equal(ok.code, 6, ok.stderr);
      assert.equal(ok.stdout.replace(/\r\n/g, '\n'), 'über NTLM\n');
      assert.ok(scheme.acceptors.some((a) => a.legs > 0));
      const never = await cli(['--host', host.url, '--user', 'alice@LAB', '--auth', 'ntlm', '--encryption', 'never', '--command', 'hostname']);
      assert.equal(never.code, 255);
      assert.match(never.stderr, /refuses unencrypted traffic.*Hint: .*encryption/);
      assert.ok(!never.stderr.includes(PASSWORD) && !ok.stderr.includes(PASSWORD));
    } finally {
      await host.close();
    }
  });
});

describe('NTLM failures through the test host', { skip: noSidecar }, () => {
  test('wrong password: a bad-credentials error without the password, and no retry storm', async () => {
    const { host, scheme } = await startNtlmHost({ allowUnencrypted: false });
    const wrong = 'not-the-Passw0rd';
    const s = session(host, 'auto', { password: wrong });
    try {
      await assert.rejects(drain(s.run('winrm-test', ['exit', '0'])), (e: unknown) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.equal(e.reason, 'bad-credentials');
        assert.ok(!`${e.message} ${e.hint}`.includes(wrong));
        return true;
      });
    } finally {
      await s.close();
      await host.close();
    }
    const legs = scheme.acceptors.reduce((n, a) => n + a.legs, 0);
    assert.ok(legs <= 2, `${legs} handshake requests reached the host`);
  });

  test('a host that offers only Basic: "scheme not offered" listing Basic', async () => {
    const { host } = await startNtlmHost({ offerSchemes: ['Basic realm="WSMAN"'] });
    const s = session(host, 'auto');
    try {
      await assert.rejects(drain(s.run('winrm-test', ['exit', '0'])), (e: unknown) => e instanceof AuthError && e.reason === 'scheme-not-offered' && e.offeredSchemes.includes('Basic'));
    } finally {
      await s.close();
      await host.close();
    }
  });

  test('a host offering the "NTLM" scheme name instead of Negotiate works', async () => {
    const { host } = await startNtlmHost({ schemeName: 'NTLM', allowUnencrypted: false });
    const s = session(host, 'auto');
    try {
      const parts: Buffer[] = [];
      const run = s.run('winrm-test', ['echo-stdin'], { stdin: Buffer.from('via NTLM scheme') });
      for await (const c of run) parts.push(c.bytes);
      assert.equal(Buffer.concat(parts).toString(), 'via NTLM scheme');
    } finally {
      await s.close();
      await host.close();
    }
  });

  test('a host that refuses message encryption: "encryption refused"', async () => {
    const { host } = await startNtlmHost({ refuseEncryption: true });
    const s = session(host, 'always');
    try {
      await assert.rejects(drain(s.run('winrm-test', ['exit', '0'])), (e: unknown) => e instanceof AuthError && e.reason === 'encryption-refused');
    } finally {
      await s.close();
      await host.close();
    }
  });

  test('encryption "never" against a host that refuses unencrypted traffic: "encryption required"', async () => {
    const { host } = await startNtlmHost({ allowUnencrypted: false });
    const s = session(host, 'never');
    try {
      await assert.rejects(drain(s.run('winrm-test', ['exit', '0'])), (e: unknown) => e instanceof AuthError && e.reason === 'encryption-required');
    } finally {
      await s.close();
      await host.close();
    }
  });
});

describe('pywinrm (transport=ntlm, message_encryption=always) against the test host', { skip: noSidecar || noPywinrm }, () => {
  let host: TestHost;
  let opensslConf: string;
  before(async () => {
    ({ host } = await startNtlmHost({ allowUnencrypted: false }));
    // ntlm-auth needs MD4, which Debian's OpenSSL 3 only has in the legacy provider.
    opensslConf = join(tmp, 'openssl-legacy.cnf');
    writeFileSync(opensslConf, 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\nlegacy = legacy_sect\n[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n');
  });
  after(async () => host?.close());

  function pywinrm(spec: object): Promise<{ ok: boolean; status?: number; stdout?: string; stderr?: string; error?: string; message?: string }[]> {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENSSL_CONF: opensslConf };
    delete env.REQUESTS_CA_BUNDLE;
    delete env.CURL_CA_BUNDLE;
    return new Promise((resolve, reject) => {
      const child = spawn(PYTHON, [join(findRoot(), 'test', 'host', 'peers', 'pywinrm_run.py')], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`pywinrm runner exited ${code}: ${err}`));
        resolve(JSON.parse(out));
      });
      child.stdin.end(JSON.stringify(spec));
    });
  }
  const text = (b64?: string) => Buffer.from(b64 ?? '', 'base64').toString('utf8').replace(/\r\n/g, '\n');

  // The host refuses unsealed requests (allowUnencrypted: false), so success means pywinrm sealed them all.
  test('run_cmd and run_ps succeed, every message sealed', { skip: noPwsh }, async () => {
    const results = await pywinrm({
      url: host.url, user: 'LAB\\alice', password: PASSWORD, transport: 'ntlm', message_encryption: 'always',
      ops: [{ kind: 'cmd', command: 'winrm-test', args: ['lines', '--count', '3', '--text', 'sealed'] }, { kind: 'ps', script: "Write-Output ('ps ' + (6*7))" }],
    });
    assert.equal(results[0].ok, true, results[0].message);
    assert.equal(results[0].status, 0);
    assert.equal(text(results[0].stdout), 'sealed 1\nsealed 2\nsealed 3\n');
    assert.equal(results[1].ok, true, results[1].message);
    assert.equal(results[1].status, 0);
    assert.equal(text(results[1].stdout), 'ps 42\n');
  });

  test('a wrong password fails in pywinrm too', async () => {
    const results = await pywinrm({ url: host.url, user: 'LAB\\alice', password: 'wrong', transport: 'ntlm', message_encryption: 'always', ops: [{ kind: 'cmd', command: 'winrm-test', args: ['exit', '0'] }] });
    assert.equal(results[0].ok, false);
    assert.match(`${results[0].error} ${results[0].message}`, /InvalidCredentialsError|401|credentials/i);
  });
});
