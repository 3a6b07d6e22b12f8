// Test Connection with NTLM and CredSSP host settings, through src/core/hosts as
// the extension calls it (sessionOptionsFor → testConnection), against the test
// host whose NTLM is gss-ntlmssp (sidecar) and whose CredSSP acceptor checks the
// delegated credentials. The host refuses unencrypted traffic like a default
// Windows host (allowUnencrypted: false).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sessionOptionsFor, testConnection, type ConnectionReport, type HostSettings } from '../../src/core/hosts';
import type { TraceEvent } from '../../src/core/transport/http';
import { credSspCertificate, credSspScheme, type CredSspScheme } from '../host/credssp/acceptor';
import { startTestHost, type TestHost } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { ntlmScheme, type NtlmScheme } from '../host/ntlm/scheme';
import { peerMissing } from '../support/peers';

const PASSWORD = 'Hosts-auth-pässwörd-7!';
const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);
const users = [{ domain: 'LAB', user: 'alice', password: PASSWORD }];

let sidecar: NtlmSidecar;
before(async () => {
  if (noSidecar) return;
  sidecar = new NtlmSidecar({ users, domainName: 'LAB', computerName: 'WINRM-TEST' });
  await sidecar.ready();
});
after(async () => {
  await sidecar?.close();
});

function settings(server: TestHost, over: Partial<HostSettings>): HostSettings {
  return { id: 'h', name: 'Lab', url: server.url, auth: 'ntlm', user: 'LAB\\alice', style: 'dashed', profile: 'safe', ...over };
}

/** The report, with the password checked to be nowhere in it. */
async function test_(server: TestHost, host: HostSettings, password = PASSWORD, trace?: TraceEvent[]): Promise<ConnectionReport> {
  const report = await testConnection(sessionOptionsFor(host, password, { caPem: server.caPem, trace: trace ? (e) => trace.push(e) : undefined }), { timeoutMs: 20_000 });
  assert.ok(!JSON.stringify(report).includes(password), 'no password in the report');
  return report;
}

function bodyTypes(trace: TraceEvent[]): string[] {
  return trace.filter((e) => e.direction === 'reply' && e.body !== '').map((e) => e.headers['content-type'] ?? '');
}

describe('Test Connection with NTLM', { skip: noSidecar }, () => {
  let http: TestHost;
  let https: TestHost;
  let httpScheme: NtlmScheme;
  const start = async (secure: boolean) => {
    let scheme!: NtlmScheme;
    const server = await startTestHost({
      https: secure, user: 'alice', password: PASSWORD, allowUnencrypted: false, hostName: secure ? 'LAB-NTLM-TLS' : 'LAB-NTLM01',
      schemes: (ctx) => [(scheme = ntlmScheme({ sidecar, offer: () => ([] as string[]).concat(ctx.unauthorized().headers['WWW-Authenticate'] ?? []) }))],
    });
    return { server, scheme };
  };
  before(async () => {
    ({ server: http, scheme: httpScheme } = await start(false));
    ({ server: https } = await start(true));
  });
  after(async () => {
    await http?.close();
    await https?.close();
  });

  test('HTTP, encryption auto: the host name comes back over sealed messages, gss-ntlmssp saw LAB\\alice, no shell left', async () => {
    const trace: TraceEvent[] = [];
    const report = await test_(http, settings(http, { encryption: 'auto' }), PASSWORD, trace);
    assert.deepEqual(report.ok ? report.hostname : report.diagnosis, 'LAB-NTLM01');
    const types = bodyTypes(trace);
    assert.ok(types.length > 0);
    for (const t of types) assert.match(t, /^multipart\/encrypted;protocol="application\/HTTP-SPNEGO-session-encrypted"/);
    assert.ok(httpScheme.acceptors.some((a) => a.logons.some((u) => /^LAB\\alice$/i.test(u))));
    assert.equal(http.openShells(), 0);
  });

  test('HTTP, no mode stored (older settings): auto applies and the connection works', async () => {
    const report = await test_(http, settings(http, { encryption: undefined }));
    assert.equal(report.ok, true, report.ok ? '' : JSON.stringify(report.diagnosis));
  });

  test('HTTP, encryption "never" against AllowUnencrypted=false: the encryption diagnosis, with the fix', async () => {
    const report = await test_(http, settings(http, { encryption: 'never' }));
    assert.equal(report.ok, false);
    if (report.ok) return;
    assert.equal(report.diagnosis.title, 'The host refuses unencrypted traffic');
    assert.match(report.diagnosis.detail, /AllowUnencrypted=false/);
    assert.match(report.diagnosis.hint, /set this host's encryption to "auto" or "always", or use HTTPS/);
    assert.equal(http.openShells(), 0);
  });

  test('HTTPS, encryption auto: TLS with channel binding, no message encryption', async () => {
    const trace: TraceEvent[] = [];
    const report = await test_(https, settings(https, { encryption: 'auto' }), PASSWORD, trace);
    assert.deepEqual(report.ok ? report.hostname : report.diagnosis, 'LAB-NTLM-TLS');
    for (const t of bodyTypes(trace)) assert.doesNotMatch(t, /encrypted/);
  });

  test('HTTPS, encryption "always": sealed inside TLS', async () => {
    const trace: TraceEvent[] = [];
    const report = await test_(https, settings(https, { encryption: 'always' }), PASSWORD, trace);
    assert.deepEqual(report.ok ? report.hostname : report.diagnosis, 'LAB-NTLM-TLS');
    for (const t of bodyTypes(trace)) assert.match(t, /^multipart\/encrypted/);
  });

  test('a wrong password is named as such', async () => {
    const report = await test_(http, settings(http, {}), 'Wrong-' + PASSWORD);
    assert.equal(report.ok, false);
    if (!report.ok) assert.equal(report.diagnosis.title, 'Wrong user name or password');
  });
});

describe('Test Connection with CredSSP', { skip: noSidecar }, () => {
  let cert: Awaited<ReturnType<typeof credSspCertificate>>;
  const servers: TestHost[] = [];
  async function start(extra: { version?: number; tamperBinding?: boolean; https?: boolean } = {}): Promise<{ server: TestHost; scheme: CredSspScheme }> {
    const scheme = credSspScheme({ sidecar, users, keyPem: cert.keyPem, certPem: cert.certPem, version: extra.version, tamperBinding: extra.tamperBinding });
    const server = await startTestHost({ https: extra.https ?? false, user: 'alice', password: PASSWORD, schemes: () => [scheme], allowUnencrypted: false, hostName: 'LAB-EXCH01' });
    servers.push(server);
    return { server, scheme };
  }
  const credssp = (server: TestHost, over: Partial<HostSettings> = {}) => settings(server, { auth: 'credssp', user: 'alice', domain: 'LAB', ...over });
  before(async () => {
    if (!noSidecar) cert = await credSspCertificate();
  });
  after(async () => {
    for (const s of servers) await s.close();
    await cert?.remove();
  });

  test('HTTP (encrypted) with the domain field: the host name comes back; the host got LAB\\alice and the password delegated', async () => {
    const { server, scheme } = await start();
    const report = await test_(server, credssp(server, { encryption: 'auto' }));
    assert.deepEqual(report.ok ? report.hostname : report.diagnosis, 'LAB-EXCH01');
    assert.ok(scheme.delegated.length >= 1);
    for (const d of scheme.delegated) assert.deepEqual([d.domain, d.user, d.password, d.valid], ['LAB', 'alice', PASSWORD, true]);
    assert.equal(server.openShells(), 0);
  });

  test('HTTPS with the domain in the user name (LAB\\alice)', async () => {
    const { server } = await start({ https: true });
    const report = await test_(server, credssp(server, { user: 'LAB\\alice', domain: undefined }));
    assert.deepEqual(report.ok ? report.hostname : report.diagnosis, 'LAB-EXCH01');
  });

  test('no domain: "CredSSP needs a domain", and nothing reached the host', async () => {
    const { server, scheme } = await start();
    const report = await test_(server, credssp(server, { domain: undefined }));
    assert.equal(report.ok, false);
    if (!report.ok) {
      assert.equal(report.diagnosis.title, 'CredSSP needs a domain');
      assert.match(report.diagnosis.hint, /fill in the Domain/);
    }
    assert.equal(scheme.legs(), 0);
  });

  test('encryption "never" over HTTP against AllowUnencrypted=false: the encryption diagnosis', async () => {
    const { server } = await start();
    const report = await test_(server, credssp(server, { encryption: 'never' }));
    assert.equal(report.ok, false);
    if (!report.ok) {
      assert.equal(report.diagnosis.title, 'The host refuses unencrypted traffic');
      assert.match(report.diagnosis.hint, /"auto" or "always"/);
    }
  });

  test('a wrong password: the logon refusal, with the domain in the advice', async () => {
    const { server } = await start();
    const report = await test_(server, credssp(server), 'Wrong-' + PASSWORD);
    assert.equal(report.ok, false);
    if (!report.ok) {
      assert.equal(report.diagnosis.title, 'Wrong user name or password');
      assert.match(report.diagnosis.hint, /CredSSP checks the domain too/);
    }
  });

  test('a version 4 host: the CVE-2018-0886 diagnosis, no credentials delegated', async () => {
    const { server, scheme } = await start({ version: 4 });
    const report = await test_(server, credssp(server));
    assert.equal(report.ok, false);
    if (!report.ok) {
      assert.match(report.diagnosis.title, /CredSSP is out of date \(CVE-2018-0886\)/);
      assert.match(report.diagnosis.hint, /March 2018/);
    }
    assert.equal(scheme.delegated.length, 0);
  });

  test('a key-binding answer that does not match: credentials withheld, said so', async () => {
    const { server, scheme } = await start({ tamperBinding: true });
    const report = await test_(server, credssp(server));
    assert.equal(report.ok, false);
    if (!report.ok) assert.equal(report.diagnosis.title, 'CredSSP key check failed (credentials withheld)');
    assert.equal(scheme.delegated.length, 0);
  });
});
