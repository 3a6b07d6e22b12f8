// MD4, RC4, HMAC-MD5 and the NTLMv2 computations against published vectors:
// RFC 1320 (MD4), RFC 6229 (RC4), RFC 2202 (HMAC-MD5), MS-NLMP §4.2.1 / §4.2.4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { md4 } from '../../src/core/auth/ntlm/md4';
import { Rc4, rc4k } from '../../src/core/auth/ntlm/rc4';
import { computeResponseV2, fileTimeNow, hmacMd5, ntowfv1, ntowfv2, sealKey, signKey } from '../../src/core/auth/ntlm/crypto';
import { NegotiateFlags as F } from '../../src/core/auth/ntlm/messages';
import { NtlmSecurity } from '../../src/core/auth/ntlm/security';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('MD4: the RFC 1320 test suite', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, digest] of suite) assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, JSON.stringify(input));
});

/** Runs a snippet under `node --openssl-legacy-provider`, where OpenSSL's own MD4 and RC4 exist: an independent oracle. */
function legacyOpenssl(script: string, input: unknown): unknown {
  const r = spawnSync(process.execPath, ['--openssl-legacy-provider', '-e', script], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`legacy provider unavailable: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('MD4 and RC4 agree with OpenSSL (legacy provider) on random inputs of every length around the block edges', () => {
  const inputs = Array.from({ length: 140 }, (_, n) => randomBytes(n).toString('hex'));
  inputs.push(randomBytes(5000).toString('hex'));
  const keys = inputs.map((_, n) => randomBytes(1 + (n % 32)).toString('hex'));
  const want = legacyOpenssl(`
    const c = require('crypto');
    const { inputs, keys } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    const md4 = inputs.map((h) => c.createHash('md4').update(Buffer.from(h, 'hex')).digest('hex'));
    const rc4 = inputs.map((h, n) => { const k = Buffer.from(keys[n], 'hex'); const e = c.createCipheriv('rc4', k, null); return Buffer.concat([e.update(Buffer.from(h, 'hex')), e.final()]).toString('hex'); });
    process.stdout.write(JSON.stringify({ md4, rc4 }));`, { inputs, keys }) as { md4: string[]; rc4: string[] };
  inputs.forEach((h, n) => {
    assert.equal(md4(Buffer.from(h, 'hex')).toString('hex'), want.md4[n], `md4 of ${n} bytes`);
    assert.equal(rc4k(Buffer.from(keys[n], 'hex'), Buffer.from(h, 'hex')).toString('hex'), want.rc4[n], `rc4 of ${n} bytes`);
  });
  // The NT hash of "Password" from MS-NLMP §4.2.2.1.2.
  assert.equal(ntowfv1('Password').toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
});

test('RC4: RFC 6229 keystream, 40-bit and 128-bit keys, at offsets 0, 240 and 4096', () => {
  const cases: [string, [number, string][]][] = [
    ['0102030405', [[0, 'b2396305f03dc027ccc3524a0a1118a8'], [240, '28cb1132c96ce286421dcaadb8b69eae'], [4096, 'ff25b58995996707e51fbdf08b34d875']]],
    ['0102030405060708090a0b0c0d0e0f10', [[0, '9ac7cc9a609d1ef7b2932899cde41b97'], [240, '065902e4b620f6cc36c8589f66432f2b'], [4096, 'a36a4c301ae8ac13610ccbc12256cacc']]],
  ];
  for (const [key, points] of cases) {
    const stream = new Rc4(hex(key)).update(Buffer.alloc(4112));
    for (const [offset, expected] of points) assert.equal(Buffer.from(stream.subarray(offset, offset + 16)).toString('hex'), expected, `${key}@${offset}`);
    // The same keystream when fed in odd-sized pieces: the state carries over between calls.
    const r = new Rc4(hex(key));
    const pieces = Buffer.alloc(4112);
    for (let p = 0, step = 1; p < pieces.length; p += step, step = step * 3 % 97 + 1) r.update(pieces.subarray(p, p + step), pieces.subarray(p, p + step));
    assert.deepEqual(pieces, Buffer.from(stream));
  }
});

test('HMAC-MD5: RFC 2202 test cases 1 and 2', () => {
  assert.equal(hmacMd5(Buffer.alloc(16, 0x0b), Buffer.from('Hi There')).toString('hex'), '9294727a3638bb1c13f48ef8158bfc9d');
  assert.equal(hmacMd5(Buffer.from('Jefe'), Buffer.from('what do ya want '), Buffer.from('for nothing?')).toString('hex'), '750c783e6ab0b503eaa86e310a5db738');
});

// MS-NLMP §4.2.1 common values.
const USER = 'User', DOMAIN = 'Domain', PASSWORD = 'Password';
const RANDOM_SESSION_KEY = Buffer.alloc(16, 0x55);
const TIME = Buffer.alloc(8);
const CLIENT_CHALLENGE = Buffer.alloc(8, 0xaa);
const SERVER_CHALLENGE = hex('0123456789abcdef');
const TARGET_INFO = hex('02000c0044006f006d00610069006e00 01000c005300650072007600650072000000 0000');
const V2_FLAGS = 0xe2888233; // the §4.2.4 challenge flags

test('MS-NLMP 4.2.4.1: NTOWFv2', () => {
  assert.equal(ntowfv2(PASSWORD, USER, DOMAIN).toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
});

test('MS-NLMP 4.2.4: NTLMv2 response, LMv2 response, session base key and encrypted session key', () => {
  const r = computeResponseV2(ntowfv2(PASSWORD, USER, DOMAIN), SERVER_CHALLENGE, CLIENT_CHALLENGE, TIME, TARGET_INFO, false);
  assert.equal(r.ntChallengeResponse.subarray(0, 16).toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
  assert.equal(r.ntChallengeResponse.subarray(16).toString('hex'),
    '0101000000000000000000000000000 0aaaaaaaaaaaaaaaa0000000002000c00'.replace(/ /g, '') +
    '44006f006d00610069006e0001000c005300650072007600650072000000000000000000');
  assert.equal(r.lmChallengeResponse.toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
  assert.equal(r.sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
  assert.equal(rc4k(r.sessionBaseKey, RANDOM_SESSION_KEY).toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
  // With a server timestamp the LM response must be Z(24).
  const z = computeResponseV2(ntowfv2(PASSWORD, USER, DOMAIN), SERVER_CHALLENGE, CLIENT_CHALLENGE, TIME, TARGET_INFO, true);
  assert.deepEqual(z.lmChallengeResponse, Buffer.alloc(24));
});

test('MS-NLMP 4.2.4.4: sign and seal keys in both directions', () => {
  assert.equal(sealKey(RANDOM_SESSION_KEY, V2_FLAGS, 'client').toString('hex'), '59f600973cc4960a25480a7c196e4c58');
  assert.equal(signKey(RANDOM_SESSION_KEY, 'client').toString('hex'), '4788dc861b4782f35d43fd98fe1a2d39');
  // Server-direction keys and 56/40-bit truncation, as pyspnego's tests compute them from the same inputs.
  assert.equal(sealKey(RANDOM_SESSION_KEY, F.EXTENDED_SESSIONSECURITY | F.KEY_128, 'server').toString('hex'), '9355f3a957c1583d25c4c2f11e40390e');
  assert.equal(signKey(RANDOM_SESSION_KEY, 'server').toString('hex'), 'd04d6f10741041d1d246d64188d7a8ad');
  assert.equal(sealKey(RANDOM_SESSION_KEY, F.EXTENDED_SESSIONSECURITY | F.KEY_56, 'client').toString('hex'), 'a5f7253c1065e8d3d68642040e71cfe0');
  assert.equal(sealKey(RANDOM_SESSION_KEY, F.EXTENDED_SESSIONSECURITY, 'client').toString('hex'), '42f964a471091a02ff4a77455366e4e5');
});

test('MS-NLMP 4.2.4.4: GSS_WrapEx of "Plaintext" (sealed data and signature)', () => {
  const sec = new NtlmSecurity(RANDOM_SESSION_KEY, V2_FLAGS, 'client');
  const token = sec.seal(Buffer.from('Plaintext', 'utf16le'));
  assert.equal(token.subarray(16).toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
  assert.equal(token.subarray(0, 16).toString('hex'), '010000007fb38ec5c55d497600000000');
});

test('seal without KEY_EXCH leaves the checksum unencrypted (pyspnego vector)', () => {
  const flags = F.SEAL | F.SIGN | F.EXTENDED_SESSIONSECURITY | F.KEY_128;
  const token = new NtlmSecurity(RANDOM_SESSION_KEY, flags, 'client').seal(Buffer.from('Plaintext', 'utf16le'));
  assert.equal(token.subarray(16).toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
  assert.equal(token.subarray(0, 16).toString('hex'), '01000000703528 51f256430900000000'.replace(/ /g, ''));
});

test('sign/verify and seal/unseal between a client and a server context, many messages each way', () => {
  const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const client = new NtlmSecurity(key, V2_FLAGS, 'client');
  const server = new NtlmSecurity(key, V2_FLAGS, 'server');
  for (let k = 0; k < 50; k++) {
    const up = Buffer.from(`request ${k} `.repeat(k + 1));
    assert.deepEqual(server.unseal(client.seal(up)), up);
    const down = Buffer.alloc(k * 37, k);
    assert.deepEqual(client.unseal(server.seal(down)), down);
    const sig = client.sign(up);
    server.verify(up, sig);
  }
  assert.deepEqual(client.sequence, { send: 100, recv: 50 });
  assert.deepEqual(server.sequence, { send: 50, recv: 100 });
});

test('unseal rejects a flipped bit, a replay and a reordered message, and then stays broken', () => {
  const key = Buffer.alloc(16, 7);
  const mk = () => [new NtlmSecurity(key, V2_FLAGS, 'client'), new NtlmSecurity(key, V2_FLAGS, 'server')] as const;

  let [client, server] = mk();
  const tampered = server.seal(Buffer.from('<s:Envelope>exit code 0</s:Envelope>'));
  tampered[16 + 20] ^= 0x01;
  assert.throws(() => client.unseal(tampered), /integrity check \(checksum mismatch\)/);
  assert.throws(() => client.unseal(server.seal(Buffer.from('next'))), /broken by an earlier integrity failure/);

  [client, server] = mk();
  const first = server.seal(Buffer.from('one'));
  const second = server.seal(Buffer.from('two'));
  assert.throws(() => client.unseal(second), /integrity check/);

  [client, server] = mk();
  const msg = server.seal(Buffer.from('once'));
  assert.deepEqual(client.unseal(Buffer.from(msg)), Buffer.from('once'));
  assert.throws(() => client.unseal(msg), /integrity check/);

  [client, server] = mk();
  const sig = server.seal(Buffer.from('signature')).subarray(0, 15);
  assert.throws(() => client.unseal(sig), /shorter than its signature/);
  void first;
});

test('FILETIME of a known instant', () => {
  // 2000-01-01T00:00:00Z = 125911584000000000 ticks since 1601.
  assert.equal(fileTimeNow(Date.UTC(2000, 0, 1)).readBigUInt64LE(), 125911584000000000n);
});
