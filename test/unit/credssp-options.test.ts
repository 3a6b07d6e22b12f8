// The two CredSSP choices users can make (raw NTLM inside CredSSP; accepting
// CredSSP versions 2-4, refused by default for CVE-2018-0886): as host settings
// (stored shape, the team file and its schema, the registry), as the session
// options built from a host, in the diagnosis, and as winrm-run flags (the real
// CLI process, refused before it connects anywhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthProvider } from '../../src/core/auth';
import { AuthError, ConfigError } from '../../src/core/errors';
import {
  CREDSSP_OLD_VERSIONS_RISK, CREDSSP_OPTION_KEYS, HostRegistry, credSspChoiceOf, credSspChoices, describeCredSsp, diagnose, hostCredSsp,
  parseWorkspaceHostsFile, readHost, sessionOptionsFor, toStoredHost, type HostSettings, type KeyValueStore, type SecretStore,
} from '../../src/core/hosts';
import { cliMissing, runCli } from '../support/cli';
import { findRoot } from '../support/peers';

const CANARY = 'canary-Cred55p-do-not-store';
const host: HostSettings = { id: 'x', name: 'Exchange', url: 'http://ex01:5985/wsman', auth: 'credssp', user: 'svc', domain: 'LAB', style: 'dashed', profile: 'safe' };
const entry = (over: Record<string, unknown>) => ({ id: 'x', name: 'Exchange', url: 'http://ex01:5985/wsman', auth: 'credssp', user: 'svc', domain: 'LAB', ...over });

test('readHost: credssp.rawNtlm / allowOldVersions are read for a CredSSP host; false and absent leave nothing stored', () => {
  const both = readHost(entry({ credssp: { rawNtlm: true, allowOldVersions: true } }));
  assert.deepEqual(both.problems, []);
  assert.deepEqual(both.host?.credssp, { rawNtlm: true, allowOldVersions: true });
  const raw = readHost(entry({ credssp: { rawNtlm: true, allowOldVersions: false } }));
  assert.deepEqual(raw.problems, []);
  assert.deepEqual(raw.host?.credssp, { rawNtlm: true });
  const none = readHost(entry({ credssp: { rawNtlm: false } }));
  assert.deepEqual(none.problems, []);
  assert.equal(none.host?.credssp, undefined);
  assert.ok(!('credssp' in none.host!), 'no empty object is stored');
  assert.equal(readHost(entry({})).host?.credssp, undefined);
  assert.deepEqual(readHost(entry({ credssp: null })).problems, [], 'null is "not set"');
});

test('readHost: wrong types, unknown keys, a password and options on another scheme are reported; only valid booleans are kept', () => {
  const strings = readHost(entry({ credssp: { rawNtlm: 'yes', allowOldVersions: 1 } }));
  assert.equal(strings.host?.credssp, undefined);
  assert.equal(strings.problems.length, 2, strings.problems.join('\n'));
  assert.match(strings.problems[0], /^"Exchange": "credssp\.rawNtlm" must be true or false \(got "yes"\); using false\.$/);
  assert.match(strings.problems[1], /"credssp\.allowOldVersions" must be true or false \(got 1\)/);

  const mixed = readHost(entry({ credssp: { rawNtlm: true, allowOldVersion: true } }));
  assert.deepEqual(mixed.host?.credssp, { rawNtlm: true }, 'a misspelt key does not switch anything on');
  assert.match(mixed.problems.join('\n'), /unknown key "credssp\.allowOldVersion" ignored \(known: rawNtlm, allowOldVersions\)/);

  for (const bad of [true, 'raw', ['rawNtlm'], 3]) {
    const r = readHost(entry({ credssp: bad }));
    assert.ok(r.host, 'the host itself is kept');
    assert.equal(r.host.credssp, undefined);
    assert.match(r.problems.join('\n'), /"credssp" must be an object such as \{ "rawNtlm": true, "allowOldVersions": false \}; ignored\./, JSON.stringify(bad));
  }

  const secret = readHost(entry({ credssp: { rawNtlm: true, password: CANARY } }));
  assert.deepEqual(secret.host?.credssp, { rawNtlm: true });
  assert.match(secret.problems.join('\n'), /"credssp\.password" was ignored; passwords are kept only in the editor's secret storage/);
  assert.ok(!JSON.stringify(secret).includes(CANARY), 'the password is in neither the host nor the problems');

  for (const auth of ['ntlm', 'basic']) {
    const other = readHost(entry({ auth, credssp: { allowOldVersions: true } }));
    assert.ok(other.host);
    assert.equal(other.host.credssp, undefined);
    assert.match(other.problems.join('\n'), new RegExp(`"credssp" options apply to auth "credssp" only \\(this host uses ${auth}\\); ignored`));
  }
  assert.deepEqual(readHost(entry({ auth: 'ntlm', credssp: { rawNtlm: false } })).problems, [], 'all-false options on another scheme are harmless');
});

test('stored shape: booleans copied one by one, CredSSP hosts only; nothing else (a password) gets through', () => {
  const stored = toStoredHost({ ...host, credssp: { rawNtlm: true, allowOldVersions: false, password: CANARY } as never });
  assert.deepEqual(stored.credssp, { rawNtlm: true });
  assert.ok(!JSON.stringify(stored).includes(CANARY));
  assert.equal(toStoredHost({ ...host, credssp: { rawNtlm: 'true' as never } }).credssp, undefined, 'only a real true counts');
  assert.equal(toStoredHost({ ...host, auth: 'ntlm', credssp: { rawNtlm: true } }).credssp, undefined, 'switching a host to NTLM drops them');
  assert.equal(hostCredSsp({ auth: 'basic', credssp: { allowOldVersions: true } }), undefined);
});

test('team file and registry: the options round-trip; the schema names the same keys, booleans, nothing more', async () => {
  const file = parseWorkspaceHostsFile(`{
    // FreeRDP-like acceptor and an old host
    "hosts": [
      { "id": "rdp", "name": "Raw", "url": "http://gw:5985/wsman", "auth": "credssp", "user": "LAB\\\\svc", "credssp": { "rawNtlm": true } },
      { "id": "old", "name": "Old", "url": "https://old:5986/wsman", "auth": "credssp", "user": "svc", "domain": "LAB", "credssp": { "allowOldVersions": true }, },
    ]
  }`);
  assert.deepEqual(file.problems, []);
  assert.deepEqual(file.hosts.map((h) => h.credssp), [{ rawNtlm: true }, { allowOldVersions: true }]);

  const state = new Map<string, string>();
  const kv: KeyValueStore = { get: <T>(k: string) => (state.has(k) ? (JSON.parse(state.get(k)!) as T) : undefined), update: async (k, v) => void state.set(k, JSON.stringify(v)) };
  const secrets: SecretStore = { get: async () => undefined, store: async () => undefined, delete: async () => undefined };
  const registry = new HostRegistry(kv, secrets, () => 'id-1');
  const { id: _id, ...draft } = { ...host, credssp: { allowOldVersions: true }, password: CANARY };
  const added = await registry.add(draft as never);
  assert.deepEqual(registry.get(added.id)?.credssp, { allowOldVersions: true });
  await registry.update({ ...registry.get(added.id)!, credssp: undefined });
  assert.equal(registry.get(added.id)?.credssp, undefined, 'Edit Host back to the default clears them');
  assert.ok(![...state.values()].some((v) => v.includes(CANARY)));

  const schema = JSON.parse(readFileSync(join(findRoot(), 'media', 'winrm-hosts.schema.json'), 'utf8'));
  const credssp = schema.properties.hosts.items.properties.credssp;
  assert.equal(credssp.type, 'object');
  assert.equal(credssp.additionalProperties, false);
  assert.deepEqual(Object.keys(credssp.properties), [...CREDSSP_OPTION_KEYS]);
  for (const k of CREDSSP_OPTION_KEYS) assert.deepEqual([credssp.properties[k].type, credssp.properties[k].default], ['boolean', false], k);
  assert.match(credssp.properties.allowOldVersions.description, /CVE-2018-0886.*man in the middle/);
});

test('the editor\'s choices: the safe default first; the old-version ones say why they are dangerous', () => {
  const choices = credSspChoices();
  assert.deepEqual(choices.map((c) => c.key), ['spnego', 'raw', 'spnego-old', 'raw-old']);
  assert.equal(choices[0].label, 'SPNEGO, version 5+ only');
  assert.deepEqual(choices[0].options, {});
  assert.equal(choices[0].description, 'recommended');
  for (const c of choices.filter((x) => x.options.allowOldVersions)) {
    assert.match(c.description, /insecure: a man in the middle can take the password/);
    assert.equal(c.detail, CREDSSP_OLD_VERSIONS_RISK);
  }
  assert.match(CREDSSP_OLD_VERSIONS_RISK, /CVE-2018-0886.*man in the middle can take the delegated password/);
  for (const c of choices) assert.equal(credSspChoiceOf({ auth: 'credssp', credssp: c.options }), c.key, 'each choice maps back to itself (Edit Host)');
  assert.equal(credSspChoiceOf({ auth: 'ntlm', credssp: { rawNtlm: true } }), 'spnego');
  assert.equal(describeCredSsp(host), undefined);
  assert.equal(describeCredSsp({ ...host, credssp: { rawNtlm: true, allowOldVersions: true } }), 'raw NTLM, CredSSP 2-4 allowed (no CVE-2018-0886 fix)');
});

test('session options: a CredSSP host with options gets a CredSSP provider built with them; without options nothing changes', () => {
  assert.equal(sessionOptionsFor(host, CANARY).authProvider, undefined);
  assert.equal(sessionOptionsFor({ ...host, auth: 'ntlm', credssp: { rawNtlm: true } }, CANARY).authProvider, undefined);
  const options = sessionOptionsFor({ ...host, credssp: { rawNtlm: true } }, CANARY);
  assert.equal(options.auth, 'credssp');
  assert.equal(options.encryption, 'auto');
  assert.equal(options.authProvider?.scheme, 'credssp');
  // (That the options reach the wire is shown against real acceptors: test/integration/credssp-options.test.ts.)
  assert.throws(() => createAuthProvider({ scheme: 'ntlm', credentials: { user: 'a', password: 'b' }, credssp: { rawNtlm: true } }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /CredSSP options \(raw NTLM, old CredSSP versions\) apply to credssp only, not to ntlm/);
    return true;
  });
  assert.equal(createAuthProvider({ scheme: 'ntlm', credentials: { user: 'a', password: 'b' }, credssp: {} }).scheme, 'ntlm');
});

test('diagnosis of a CredSSP version below 5: update the host first, the per-host opt-in and the CLI flag as the last resort', () => {
  const err = new AuthError('unknown', 'The host speaks CredSSP version 4, which lacks the nonce binding that fixes CVE-2018-0886; refused.', 'x');
  const d = diagnose(err, { auth: 'credssp' });
  assert.equal(d.title, 'The host\'s CredSSP is out of date (CVE-2018-0886)');
  const update = d.hint.indexOf('Install the CredSSP update of March 2018');
  const optIn = d.hint.indexOf('Only if the host cannot be updated');
  assert.ok(update >= 0 && optIn > update, d.hint);
  assert.match(d.hint.slice(optIn), /Edit Host → CredSSP options; "credssp": \{ "allowOldVersions": true \} in \.vscode\/winrm-hosts\.json; winrm-run --credssp-allow-old-versions/);
  assert.match(d.hint, /man in the middle/);
});

const noCli = cliMissing();

const cli = (args: string[]) => runCli(args, { password: CANARY });

// Port 1 on loopback: a connection attempt would fail with "Nothing accepts connections"; these fail before.
const target = ['--host', 'http://127.0.0.1:1/wsman', '--user', 'LAB\\alice', '--command', 'hostname'];
for (const [what, args, pattern] of [
  ['--credssp-raw-ntlm with the default auth (basic)', [...target, '--credssp-raw-ntlm'], /^winrm-run: --credssp-raw-ntlm applies to --auth credssp only \(the authentication is basic\)\. Hint: Add --auth credssp, or drop the flag\.$/],
  ['--credssp-allow-old-versions with --auth ntlm', [...target, '--credssp-allow-old-versions', '--auth', 'ntlm'], /^winrm-run: --credssp-allow-old-versions applies to --auth credssp only \(the authentication is ntlm\)/],
  ['both flags with --auth basic, even with --preview', ['--auth', 'basic', '--credssp-raw-ntlm', '--credssp-allow-old-versions', '--preview', '--command', 'x'], /--credssp-raw-ntlm and --credssp-allow-old-versions apply to --auth credssp only.*drop them/],
] as const) {
  test(`winrm-run refuses ${what}: one line, exit 255, no connection`, { skip: noCli }, async () => {
    const r = await cli([...args]);
    assert.equal(r.code, 255, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(r.stderr, /Nothing accepts connections/);
  });
}

test('winrm-run --help lists the CredSSP flags next to --auth', { skip: noCli }, async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  const lines = r.stdout.split('\n');
  const auth = lines.findIndex((l) => l.includes('--auth basic|ntlm|credssp'));
  assert.ok(auth > 0);
  assert.match(lines[auth + 1], /^ {2}--credssp-raw-ntlm +credssp only: raw NTLM/);
  assert.ok(lines.slice(auth + 1, auth + 6).some((l) => /^ {2}--credssp-allow-old-versions +credssp only: accept CredSSP versions 2-4/.test(l)), r.stdout);
  assert.match(r.stdout, /CVE-2018-0886/);
  // With credssp the flags pass parsing (--preview needs no host).
  const ok = await cli(['--auth', 'credssp', '--credssp-raw-ntlm', '--credssp-allow-old-versions', '--preview', '--command', 'x']);
  assert.equal(ok.code, 0, ok.stderr);
});
