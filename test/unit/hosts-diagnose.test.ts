import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { AuthError, ConfigError, FaultCodes, NetworkError, TlsError, WsmanFaultError } from '../../src/core/errors';
import { errorCodeToAuthError } from '../../src/core/auth/credssp/client';
import { diagnose, sessionOptionsFor, testConnection, unsupportedSchemeReason, type HostSettings } from '../../src/core/hosts';
import { supportedSchemes } from '../../src/core/auth';

const CANARY = 'canary-Pa55-do-not-log';
const host: HostSettings = { id: 'h', name: 'DC', url: 'https://dc01:5986/wsman', auth: 'basic', user: 'LAB\\svc', style: 'dashed', profile: 'safe', tls: { serverName: 'dc01.lab', insecureSkipVerify: false } };

test('session options carry the settings; the password only in credentials', () => {
  const o = sessionOptionsFor(host, CANARY, { caPem: 'PEM' });
  assert.equal(o.url, host.url);
  assert.deepEqual(o.credentials, { user: 'LAB\\svc', password: CANARY, domain: undefined });
  assert.deepEqual(o.tls, { ca: 'PEM', serverName: 'dc01.lab', insecureSkipVerify: false });
});

test('diagnosis names the cause in an admin\'s words', () => {
  assert.equal(diagnose(new AuthError('bad-credentials', 'HTTP 401', 'Check the password.')).title, 'Wrong user name or password');
  assert.match(diagnose(new AuthError('bad-credentials', 'HTTP 401', 'x')).hint, /Authorization loop detected on Conduit/);
  assert.equal(diagnose(new AuthError('scheme-not-offered', 'no basic', 'enable it')).title, 'Authentication scheme disabled on the host');
  assert.equal(diagnose(new AuthError('encryption-required', 'x', 'y')).title, 'The host refuses unencrypted traffic');
  assert.equal(diagnose(new TlsError('bad name', 'h', 'ERR_TLS_CERT_ALTNAME_INVALID')).title, 'Certificate name mismatch');
  assert.equal(diagnose(new NetworkError('refused', 'h', 'ECONNREFUSED')).title, 'Port closed (WinRM not listening)');
  assert.equal(diagnose(new WsmanFaultError({ code: FaultCodes.tooManyShells, message: 'too many' })).title, 'Shell quota reached');
  const quota = diagnose(new WsmanFaultError({ code: FaultCodes.tooManyShells, message: 'too many' }));
  assert.match(quota.hint, /MaxShellsPerUser/);
});

test('encryption required: the hint names AllowUnencrypted and the fix that fits the scheme', () => {
  const err = new AuthError('encryption-required', 'The host refuses unencrypted traffic (AllowUnencrypted=false): it rejected a plain request after a successful NTLM logon.', 'Set encryption to "auto" or "always" for this host, or use HTTPS.');
  const ntlm = diagnose(err, { auth: 'ntlm', encryption: 'never' });
  assert.equal(ntlm.title, 'The host refuses unencrypted traffic');
  assert.equal(ntlm.detail, err.message, 'what the client saw stays in the detail');
  assert.match(ntlm.hint, /AllowUnencrypted=false/);
  assert.match(ntlm.hint, /"auto" or "always"/);
  assert.match(ntlm.hint, /HTTPS/);
  const basic = diagnose(new AuthError('encryption-required', 'x', 'y'), { auth: 'basic' });
  assert.match(basic.hint, /Basic cannot encrypt/);
  assert.doesNotMatch(basic.hint, /set this host's encryption/);
});

test('encryption refused: "never" is offered only when it can help; after "always", auto is the advice', () => {
  const refused = new AuthError('encryption-refused', 'The host refused our encrypted request (HTTP 400).', 'h');
  const auto = diagnose(refused, { auth: 'ntlm', encryption: 'auto' });
  assert.equal(auto.title, 'The host refused message encryption');
  assert.match(auto.hint, /AllowUnencrypted="true".*"never"/);
  const always = diagnose(refused, { auth: 'ntlm', encryption: 'always' });
  assert.match(always.hint, /Set encryption to "auto"/);
});

test('CredSSP: the errorCode of a refused logon, as the core maps it, in an admin\'s words', () => {
  const denied = diagnose(errorCodeToAuthError(0x8009030c, 'LAB\\alice'), { auth: 'credssp' });
  assert.equal(denied.title, 'Wrong user name or password');
  assert.match(denied.detail, /SEC_E_LOGON_DENIED/);
  assert.match(denied.hint, /DOMAIN\\user/);
  assert.doesNotMatch(denied.hint, /Authorization loop/, 'that message is the connector\'s for NTLM/Basic');
  const unsupported = diagnose(errorCodeToAuthError(0x80090302, 'LAB\\alice'), { auth: 'credssp' });
  assert.equal(unsupported.title, 'CredSSP refused by the host (0x80090302)');
  assert.match(unsupported.hint, /Enable-WSManCredSSP -Role Server/);
  assert.match(unsupported.hint, /Allow delegating fresh credentials/);
  assert.equal(diagnose(errorCodeToAuthError(0x80090322, 'LAB\\alice'), { auth: 'credssp' }).title, 'CredSSP: wrong target name (0x80090322)');
  const other = diagnose(errorCodeToAuthError(0x12345678, 'LAB\\alice'), { auth: 'credssp' });
  assert.equal(other.title, 'CredSSP logon refused by the host (0x12345678)');
  // Without the context the message still tells CredSSP apart.
  assert.equal(diagnose(errorCodeToAuthError(0x80090302, 'LAB\\alice')).title, 'CredSSP refused by the host (0x80090302)');
  // The diagnosis reads the code, not the wording of the message.
  assert.equal(errorCodeToAuthError(0x8009030e, 'LAB\\alice').code, 0x8009030e);
  assert.equal(errorCodeToAuthError(0xc000006d, 'LAB\\alice').code, 0xc000006d);
  const reworded = new AuthError('unknown', 'Authentication was refused.', 'h', [], 0x8009030e);
  assert.equal(diagnose(reworded, { auth: 'credssp' }).title, 'CredSSP: no credentials to delegate (0x8009030E)');
  assert.equal(diagnose(reworded).title, 'CredSSP: no credentials to delegate (0x8009030E)', 'a code is CredSSP\'s even without the context');
  assert.equal(diagnose(new AuthError('unknown', 'CredSSP failed with error 0x80090302.', 'h'), { auth: 'credssp' }).title, 'Authentication failed', 'text that looks like a code is not one');
});

test('CredSSP without a domain is a setting to fix, not a connection failure', () => {
  const d = diagnose(new ConfigError('CredSSP needs a domain: it delegates DOMAIN\\user and the password to the host.', 'x'), { auth: 'credssp' });
  assert.equal(d.title, 'CredSSP needs a domain');
  assert.match(d.hint, /Edit the host/);
});

test('schemes the core lacks are named as such', () => {
  for (const s of ['basic', 'ntlm', 'credssp']) {
    const reason = unsupportedSchemeReason(s);
    assert.equal(reason === undefined, (supportedSchemes() as string[]).includes(s), s);
  }
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

test('Test Connection against a closed port: "Port closed", quickly, no password in the report', async () => {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const report = await testConnection(sessionOptionsFor({ ...host, url: `http://127.0.0.1:${port}/wsman`, tls: undefined }, CANARY), { timeoutMs: 10_000 });
  assert.equal(report.ok, false);
  if (report.ok) return;
  assert.equal(report.diagnosis.title, 'Port closed (WinRM not listening)');
  assert.ok(report.elapsedMs < 10_000);
  assert.ok(!JSON.stringify(report).includes(CANARY));
});

test('Test Connection against HTTPS on a plain TCP port that drops the connection: a network diagnosis, not a hang', async () => {
  const server = createServer((socket) => socket.destroy());
  const port = await listen(server);
  try {
    const report = await testConnection(sessionOptionsFor({ ...host, url: `https://127.0.0.1:${port}/wsman`, tls: undefined }, CANARY), { timeoutMs: 10_000 });
    assert.equal(report.ok, false);
    if (report.ok) return;
    assert.ok(['network', 'tls'].includes(report.diagnosis.kind), report.diagnosis.kind);
    assert.ok(!JSON.stringify(report).includes(CANARY));
  } finally {
    server.close();
  }
});
