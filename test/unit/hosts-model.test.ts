import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  composeEndpoint, describeAddress, needsBasicOverHttpConfirmation, parseWorkspaceHostsFile, readHost, splitAddress,
  stripJsonComments, toStoredHost, validateAddress, validateCodepage, validateHostName, validatePort, validateUser, workspaceHostId,
  type HostSettings,
} from '../../src/core/hosts';

const CANARY = 'canary-Pa55-do-not-log';

const sample: HostSettings = {
  id: 'h1', name: 'Lab DC', url: 'https://dc01.lab.example:5986/wsman', auth: 'basic', user: 'LAB\\svc-idm',
  style: 'variables', profile: 'connector-1.5',
};

test('host name: required, unique case-insensitively, the host itself excepted', () => {
  assert.match(validateHostName('   ') ?? '', /name/);
  assert.match(validateHostName('lab dc', [sample]) ?? '', /already exists/);
  assert.equal(validateHostName('lab dc', [sample], 'h1'), undefined, 'renaming a host to its own name is fine');
  assert.equal(validateHostName('Exchange', [sample]), undefined);
  assert.match(validateHostName('x'.repeat(65)) ?? '', /64/);
});

test('address: host names, host:port and URLs pass; other schemes, credentials in the URL, bad ports and spaces do not', () => {
  for (const ok of ['dc01', 'dc01.lab.example', 'dc01:5986', 'http://10.0.0.5:5985/wsman', 'https://dc01/wsman', '[fe80::1]:5985']) {
    assert.equal(validateAddress(ok), undefined, ok);
  }
  assert.match(validateAddress('') ?? '', /No host/);
  assert.match(validateAddress('ftp://dc01') ?? '', /not supported/);
  assert.match(validateAddress('https://alice:secret@dc01') ?? '', /user name and password/);
  assert.match(validateAddress('dc01:99999') ?? '', /not a valid host/);
  assert.match(validateAddress('dc 01') ?? '', /not a valid|spaces/);
});

test('port, user and code page validation', () => {
  assert.equal(validatePort('5986'), undefined);
  assert.match(validatePort('0') ?? '', /between 1 and 65535/);
  assert.match(validatePort('65536') ?? '', /between/);
  assert.match(validatePort('59a') ?? '', /number/);
  assert.equal(validateUser('LAB\\svc'), undefined);
  assert.equal(validateUser('svc@lab.example'), undefined);
  assert.match(validateUser('') ?? '', /user name/);
  assert.match(validateUser('LAB\\\\svc') ?? '', /single backslash/);
  assert.equal(validateCodepage(''), undefined, 'empty = profile default');
  assert.equal(validateCodepage('437'), undefined);
  assert.match(validateCodepage('utf8') ?? '', /number/);
});

test('splitAddress tells what was typed; composeEndpoint builds the URL the transport uses', () => {
  assert.deepEqual(splitAddress('dc01'), { https: false, hostname: 'dc01', port: 5985, path: '/wsman', explicitScheme: false, explicitPort: false });
  const typed = splitAddress('https://dc01.lab:8443/custom');
  assert.equal(typed.https, true);
  assert.equal(typed.port, 8443);
  assert.equal(typed.path, '/custom');
  assert.equal(typed.explicitScheme, true);
  assert.equal(typed.explicitPort, true);
  assert.equal(composeEndpoint({ https: true, hostname: 'dc01', port: 5986 }), 'https://dc01:5986/wsman');
  assert.equal(composeEndpoint({ https: false, hostname: 'dc01', port: 8080, path: '/custom' }), 'http://dc01:8080/custom');
  assert.equal(composeEndpoint({ https: false, hostname: 'fe80::1', port: 5985 }), 'http://[fe80::1]:5985/wsman');
  assert.equal(describeAddress('https://dc01:5986/wsman'), 'dc01:5986 (HTTPS)');
});

test('Basic over HTTP needs a confirmation; Basic over HTTPS and other schemes do not', () => {
  assert.equal(needsBasicOverHttpConfirmation({ auth: 'basic', url: 'http://dc01:5985/wsman' }), true);
  assert.equal(needsBasicOverHttpConfirmation({ auth: 'basic', url: 'https://dc01:5986/wsman' }), false);
  assert.equal(needsBasicOverHttpConfirmation({ auth: 'ntlm', url: 'http://dc01:5985/wsman' }), false);
});

test('the stored shape keeps known keys only: a password on the object never reaches storage', () => {
  const withSecret = { ...sample, password: CANARY, tls: { insecureSkipVerify: true, password: CANARY } } as unknown as HostSettings;
  const stored = toStoredHost(withSecret);
  assert.ok(!JSON.stringify(stored).includes(CANARY));
  assert.deepEqual(Object.keys(stored).sort(), ['auth', 'id', 'name', 'profile', 'style', 'tls', 'url', 'user']);
  assert.deepEqual(stored.tls, { insecureSkipVerify: true });
});

test('readHost reports and drops password-like keys, normalizes the URL, and falls back on unknown style/profile', () => {
  const r = readHost({ id: 'x', name: 'Box', url: 'box', user: 'admin', password: CANARY, style: 'weird', profile: 'nope' });
  assert.ok(r.host);
  assert.equal(r.host.url, 'http://box:5985/wsman');
  assert.equal(r.host.style, 'dashed');
  assert.equal(r.host.profile, 'safe');
  assert.ok(!JSON.stringify(r.host).includes(CANARY));
  assert.ok(r.problems.some((p) => /"password" was ignored/.test(p)));
  assert.ok(!r.problems.join(' ').includes(CANARY), 'the problem names the key, not the value');
  assert.equal(readHost({ id: 'x', name: 'Box', url: 'ftp://box', user: 'a' }).host, undefined);
  assert.equal(readHost({ id: 'x', name: 'Box', url: 'box', user: 'a', auth: 'kerberos' }).host, undefined);
});

test('team file: comments allowed, ids stable, passwords ignored, bad entries reported', () => {
  const text = `// team hosts
  {
    "hosts": [
      { "name": "DC", "url": "https://dc01.lab:5986/wsman", "user": "LAB\\\\svc", "auth": "basic", "style": "variables", /* shared */ },
      { "id": "exch", "name": "Exchange", "url": "exch01", "user": "svc", "password": "${CANARY}" },
      { "name": "Broken", "url": "ftp://x", "user": "svc" },
    ],
  }`;
  const parsed = parseWorkspaceHostsFile(text);
  assert.equal(parsed.hosts.length, 2);
  assert.equal(parsed.hosts[0].id, 'workspace:https://dc01.lab:5986/wsman|lab\\svc');
  assert.equal(parsed.hosts[1].id, 'workspace:exch');
  assert.equal(parsed.hosts[0].style, 'variables');
  assert.ok(!JSON.stringify(parsed).includes(CANARY));
  assert.ok(parsed.problems.some((p) => /Broken/.test(p)));
  assert.ok(parsed.problems.some((p) => /password/.test(p)));
  // Same file read twice gives the same ids (passwords are keyed by them).
  assert.deepEqual(parseWorkspaceHostsFile(text).hosts.map((h) => h.id), parsed.hosts.map((h) => h.id));
  assert.equal(workspaceHostId({ url: 'exch01', user: 'SVC' }), 'workspace:http://exch01:5985/wsman|svc');
  assert.match(parseWorkspaceHostsFile('{').problems[0], /not valid JSON/);
  assert.match(parseWorkspaceHostsFile('{"x":1}').problems[0], /"hosts"/);
});

test('stripJsonComments leaves // and /* inside strings alone', () => {
  assert.deepEqual(JSON.parse(stripJsonComments('{"u": "http://x/*y*/", // c\n "v": 1}')), { u: 'http://x/*y*/', v: 1 });
});
