// Host settings for NTLM and CredSSP: the encryption mode (stored, read from the
// team file, passed to the session), the domain CredSSP requires (checked as the
// user types in the Domain and User steps), and what the tree shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CREDSSP_DOMAIN_REQUIRED, HostRegistry, describeAuth, describeEncryption, encryptionChoices, hasDomain, hostEncryption, parseWorkspaceHostsFile,
  readHost, sessionOptionsFor, toStoredHost, validateDomain, validateUserFor, type HostSettings, type KeyValueStore, type SecretStore,
} from '../../src/core/hosts';
import { WinrmSession } from '../../src/core/session';

const CANARY = 'canary-Pa55-do-not-log';

const ntlm: HostSettings = { id: 'n', name: 'Lab DC', url: 'http://dc01:5985/wsman', auth: 'ntlm', user: 'LAB\\alice', encryption: 'never', style: 'dashed', profile: 'safe' };

test('CredSSP Domain step: refused empty unless the user name already names a domain; the shape is checked for every scheme', () => {
  assert.equal(validateDomain('', { auth: 'credssp', user: '' }), CREDSSP_DOMAIN_REQUIRED);
  assert.equal(validateDomain('  ', { auth: 'credssp', user: 'alice' }), CREDSSP_DOMAIN_REQUIRED);
  assert.match(CREDSSP_DOMAIN_REQUIRED, /CredSSP needs a domain/);
  assert.equal(validateDomain('', { auth: 'credssp', user: 'LAB\\alice' }), undefined, 'editing a host whose user is DOMAIN\\user');
  assert.equal(validateDomain('', { auth: 'credssp', user: 'alice@lab.example' }), undefined);
  assert.equal(validateDomain('LAB', { auth: 'credssp', user: 'alice' }), undefined);
  assert.equal(validateDomain('lab.example.com', { auth: 'credssp', user: '' }), undefined);
  assert.equal(validateDomain('', { auth: 'ntlm', user: 'alice' }), undefined, 'optional for NTLM');
  assert.equal(validateDomain('', { auth: 'basic', user: 'alice' }), undefined);
  assert.match(validateDomain('LAB\\alice', { auth: 'ntlm', user: '' }) ?? '', /domain alone/);
  assert.match(validateDomain('alice@lab', { auth: 'credssp', user: '' }) ?? '', /domain alone/);
  assert.match(validateDomain('my lab', { auth: 'credssp', user: '' }) ?? '', /no spaces/);
});

test('CredSSP User step: a plain user name needs the Domain field; DOMAIN\\user and user@domain carry their own', () => {
  assert.match(validateUserFor('alice', { auth: 'credssp', domain: '' }) ?? '', /CredSSP needs a domain.*DOMAIN\\user or user@domain/);
  assert.equal(validateUserFor('alice', { auth: 'credssp', domain: 'LAB' }), undefined);
  assert.equal(validateUserFor('LAB\\alice', { auth: 'credssp', domain: '' }), undefined);
  assert.equal(validateUserFor('alice@lab.example', { auth: 'credssp' }), undefined);
  assert.match(validateUserFor('alice@', { auth: 'credssp' }) ?? '', /CredSSP needs a domain/, 'a trailing @ names no domain');
  assert.match(validateUserFor('\\alice', { auth: 'credssp' }) ?? '', /CredSSP needs a domain/, 'a leading backslash names no domain');
  assert.equal(validateUserFor('alice', { auth: 'ntlm' }), undefined);
  assert.match(validateUserFor('', { auth: 'ntlm' }) ?? '', /user name/, 'the general user checks still apply');
  assert.match(validateUserFor('LAB\\\\alice', { auth: 'credssp', domain: 'LAB' }) ?? '', /single backslash/);
  assert.equal(hasDomain(undefined, 'LAB\\alice'), true);
  assert.equal(hasDomain(' ', 'alice'), false);
});

test('encryption choices: auto, always, never in that order; auto explained by the transport', () => {
  const http = encryptionChoices(false);
  const https = encryptionChoices(true);
  assert.deepEqual(http.map((c) => c.mode), ['auto', 'always', 'never']);
  assert.deepEqual(https.map((c) => c.mode), ['auto', 'always', 'never']);
  assert.match(http[0].detail, /Encrypt every message.*AllowUnencrypted=false/);
  assert.match(https[0].detail, /TLS already protects HTTPS/);
  assert.match(http[2].detail, /AllowUnencrypted="true"/, 'never over HTTP says what the host must allow');
  assert.equal(http[0].description, 'recommended');
});

test('the mode in effect: Basic has none; NTLM/CredSSP default to auto; the tree text says what protects the messages', () => {
  assert.equal(hostEncryption({ auth: 'basic', encryption: 'always' }), undefined);
  assert.equal(hostEncryption({ auth: 'ntlm' }), 'auto');
  assert.equal(hostEncryption({ auth: 'credssp', encryption: 'never' }), 'never');
  assert.equal(describeAuth({ auth: 'basic' }), 'basic');
  assert.equal(describeAuth({ auth: 'ntlm' }), 'ntlm, encryption auto');
  assert.equal(describeAuth({ auth: 'credssp', encryption: 'always' }), 'credssp, encryption always');
  assert.equal(describeEncryption({ auth: 'ntlm', url: 'http://dc01:5985/wsman' }), 'auto (message encryption)');
  assert.equal(describeEncryption({ auth: 'ntlm', url: 'https://dc01:5986/wsman' }), 'auto (TLS)');
  assert.equal(describeEncryption({ auth: 'ntlm', encryption: 'always', url: 'https://dc01:5986/wsman' }), 'always (message encryption inside TLS)');
  assert.equal(describeEncryption({ auth: 'credssp', encryption: 'never', url: 'http://dc01:5985/wsman' }), 'never (none: plain HTTP)');
  assert.equal(describeEncryption({ auth: 'basic', url: 'http://dc01:5985/wsman' }), undefined);
});

test('session options carry the mode; Basic gets none, so its session can be built', async () => {
  assert.equal(sessionOptionsFor(ntlm, CANARY).encryption, 'never');
  assert.equal(sessionOptionsFor({ ...ntlm, encryption: undefined }, CANARY).encryption, 'auto');
  const basic = sessionOptionsFor({ ...ntlm, auth: 'basic', encryption: 'always' }, CANARY);
  assert.equal(basic.encryption, undefined);
  // createAuthProvider refuses Basic with "always": a leftover mode must never reach it.
  const session = new WinrmSession(basic);
  await session.close();
});

test('stored shape: the mode is kept for NTLM/CredSSP only, and a password never reaches storage', () => {
  const stored = toStoredHost({ ...ntlm, password: CANARY } as unknown as HostSettings);
  assert.equal(stored.encryption, 'never');
  assert.ok(!JSON.stringify(stored).includes(CANARY));
  assert.deepEqual(Object.keys(stored).sort(), ['auth', 'encryption', 'id', 'name', 'profile', 'style', 'url', 'user']);
  assert.equal(toStoredHost({ ...ntlm, auth: 'basic' }).encryption, undefined);
  assert.equal(toStoredHost({ ...ntlm, encryption: 'sometimes' as never }).encryption, undefined);
});

test('readHost: the mode is read case-insensitively; unknown modes, modes on Basic and CredSSP without a domain are reported', () => {
  const r = readHost({ id: 'x', name: 'Box', url: 'box', auth: 'NTLM', user: 'LAB\\svc', encryption: 'Always' });
  assert.equal(r.host?.auth, 'ntlm');
  assert.equal(r.host?.encryption, 'always');
  assert.deepEqual(r.problems, []);
  const bad = readHost({ id: 'x', name: 'Box', url: 'box', auth: 'ntlm', user: 'svc', encryption: 'maybe' });
  assert.equal(bad.host?.encryption, undefined);
  assert.match(bad.problems.join(' '), /unknown encryption "maybe".*using auto/);
  const basic = readHost({ id: 'x', name: 'Box', url: 'box', auth: 'basic', user: 'svc', encryption: 'never' });
  assert.equal(basic.host?.encryption, undefined);
  assert.match(basic.problems.join(' '), /applies to ntlm and credssp only/);
  assert.deepEqual(readHost({ id: 'x', name: 'Box', url: 'box', auth: 'basic', user: 'svc', encryption: 'auto' }).problems, [], '"auto" on Basic is harmless');
  const credssp = readHost({ id: 'x', name: 'Box', url: 'box', auth: 'credssp', user: 'svc' });
  assert.ok(credssp.host, 'kept: the run then fails with the same message');
  assert.match(credssp.problems.join(' '), /"Box": CredSSP needs a domain/);
  assert.deepEqual(readHost({ id: 'x', name: 'Box', url: 'box', auth: 'credssp', user: 'svc', domain: 'LAB' }).problems, []);
});

test('team file: encryption per host round-trips; the registry stores it without the password', async () => {
  const file = parseWorkspaceHostsFile(`{ "hosts": [ { "id": "ex", "name": "Exchange", "url": "http://ex01:5985/wsman", "auth": "credssp", "user": "svc", "domain": "LAB", "encryption": "always", "password": "${CANARY}" } ] }`);
  assert.equal(file.hosts[0].encryption, 'always');
  assert.match(file.problems.join(' '), /"password" was ignored/);
  const state = new Map<string, string>();
  const kv: KeyValueStore = { get: <T>(k: string) => (state.has(k) ? (JSON.parse(state.get(k)!) as T) : undefined), update: async (k, v) => void state.set(k, JSON.stringify(v)) };
  const secrets: SecretStore = { get: async () => undefined, store: async () => undefined, delete: async () => undefined };
  const registry = new HostRegistry(kv, secrets, () => 'id-1');
  const { id: _id, ...draft } = { ...ntlm, encryption: 'always' as const, password: CANARY };
  const added = await registry.add(draft as never);
  assert.equal(registry.get(added.id)?.encryption, 'always');
  assert.ok(![...state.values()].some((v) => v.includes(CANARY)));
});
