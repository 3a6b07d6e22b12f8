// WinRM message-encryption framing: bodies written by pywinrm 0.3.0 (Debian) are
// read and reproduced byte for byte; round trips; and every kind of damage is a
// ProtocolError that yields no data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/core/errors';
import { decodeEncrypted, encodeEncrypted, parseContentType, parseEncrypted, type MessageSealer } from '../../src/core/auth/encryption';
import { ntlmSealer, SPNEGO_ENCRYPTED } from '../../src/core/auth/ntlm-provider';
import { NtlmSecurity } from '../../src/core/auth/ntlm/security';

// Produced with Debian's pywinrm 0.3.0 (winrm.encryption.Encryption._encrypt_message plus its
// closing boundary) over ntlm-auth 1.4.0's SessionSecurity, exported session key 00 01 .. 0f,
// flags 0xe2088235: two client requests, then two server replies.
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const FLAGS = 0xe2088235;
const PYWINRM_REQUESTS = [
  'LS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL0hUVFAtU1BORUdPLXNlc3Npb24tZW5jcnlwdGVkDQoJT3JpZ2luYWxDb250ZW50OiB0eXBlPWFwcGxpY2F0aW9uL3NvYXAreG1sO2NoYXJzZXQ9VVRGLTg7TGVuZ3RoPTEwMQ0KLS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL29jdGV0LXN0cmVhbQ0KEAAAAAEAAACS3htCiVbiyAAAAABIcaEWHzc4bnm7cg6YEUyb05rHjybZ8VuF/dUR+KMgefE6sx/Zfef0Ha8CeYcBDqH4+Um8vSPEnNzyP+YyNorqCg4LvbWonAn1AZR/QQcq1GERY4GNsd7KgUYRebMfVZicTYMNzi0tRW5jcnlwdGVkIEJvdW5kYXJ5LS0NCg==',
  'LS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL0hUVFAtU1BORUdPLXNlc3Npb24tZW5jcnlwdGVkDQoJT3JpZ2luYWxDb250ZW50OiB0eXBlPWFwcGxpY2F0aW9uL3NvYXAreG1sO2NoYXJzZXQ9VVRGLTg7TGVuZ3RoPTEwMQ0KLS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL29jdGV0LXN0cmVhbQ0KEAAAAAEAAACvJCxNf6VrGgEAAADJM8nDel/pJFoIzKA1P5fR6iv1dmA/u2bAZnLCjtb7ZJYlzqJ+oSnqOIsDqMyUX40h4eZc8LGY/16hVFp1LUPm4l9vcZfQYxjm+MCFdW57SuDygka7LMNOSUbWDs+6sMFw5U47/S0tRW5jcnlwdGVkIEJvdW5kYXJ5LS0NCg==',
].map((b) => Buffer.from(b, 'base64'));
const PYWINRM_REPLIES = [
  'LS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL0hUVFAtU1BORUdPLXNlc3Npb24tZW5jcnlwdGVkDQoJT3JpZ2luYWxDb250ZW50OiB0eXBlPWFwcGxpY2F0aW9uL3NvYXAreG1sO2NoYXJzZXQ9VVRGLTg7TGVuZ3RoPTk5DQotLUVuY3J5cHRlZCBCb3VuZGFyeQ0KCUNvbnRlbnQtVHlwZTogYXBwbGljYXRpb24vb2N0ZXQtc3RyZWFtDQoQAAAAAQAAAJpcWOWdgVXXAAAAAG0c5cjfoHyJSqhF3PsasRrJIM6gUJ589f/0LIyICfQwYewWM/yeXMJfdiqgdhvu/GwNnYzEaVinVmpoZOn1d2HQJ4vwf5wobz6ZxZIFJhWlkE3EnS57b9J+sVhpBKAf5bEWyi0tRW5jcnlwdGVkIEJvdW5kYXJ5LS0NCg==',
  'LS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL0hUVFAtU1BORUdPLXNlc3Npb24tZW5jcnlwdGVkDQoJT3JpZ2luYWxDb250ZW50OiB0eXBlPWFwcGxpY2F0aW9uL3NvYXAreG1sO2NoYXJzZXQ9VVRGLTg7TGVuZ3RoPTEwMg0KLS1FbmNyeXB0ZWQgQm91bmRhcnkNCglDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL29jdGV0LXN0cmVhbQ0KEAAAAAEAAADMUPHz4lc06QEAAABRckNL0oxHqdT8M5NxUCaFPZjHKYx/tf+W2nHSxIN2LtwpMWwrVlaAyxTNEgcENhHQUtYixJB+EaMGw8qC/2n7kf0yZalJ0RgkC1LjVK0qfoE12IFPuk7YF5hDlDWt2iDMUwOTSR0tLUVuY3J5cHRlZCBCb3VuZGFyeS0tDQo=',
].map((b) => Buffer.from(b, 'base64'));
const env = (body: string) => Buffer.from(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>${body}</s:Body></s:Envelope>`);

const pair = (key = KEY, flags = FLAGS) => ({
  client: ntlmSealer(new NtlmSecurity(key, flags, 'client')),
  server: ntlmSealer(new NtlmSecurity(key, flags, 'server')),
});

test('pywinrm framing: we write its requests byte for byte and read its replies', () => {
  const { client } = pair();
  assert.deepEqual(encodeEncrypted(client, env('request 0')).body, PYWINRM_REQUESTS[0]);
  const second = encodeEncrypted(client, env('request 1'));
  assert.deepEqual(second.body, PYWINRM_REQUESTS[1]);
  assert.equal(second.contentType, 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"');
  assert.deepEqual(decodeEncrypted(client, PYWINRM_REPLIES[0]), env('reply 0'));
  assert.deepEqual(decodeEncrypted(client, PYWINRM_REPLIES[1]), env('réponse 1'));
});

test('pywinrm framing: the server side reads pywinrm requests in order, and not out of order', () => {
  const { server } = pair();
  assert.deepEqual(decodeEncrypted(server, PYWINRM_REQUESTS[0]), env('request 0'));
  assert.deepEqual(decodeEncrypted(server, PYWINRM_REQUESTS[1]), env('request 1'));
  assert.throws(() => decodeEncrypted(pair().server, PYWINRM_REQUESTS[1]), /integrity check/);
});

test('round trip of many sizes, both directions', () => {
  const { client, server } = pair(randomBytes(16));
  for (const n of [0, 1, 15, 16, 17, 1000, 65536, 1 << 20]) {
    const up = randomBytes(n);
    assert.deepEqual(decodeEncrypted(server, encodeEncrypted(client, up).body), up);
    const down = randomBytes(n);
    assert.deepEqual(decodeEncrypted(client, encodeEncrypted(server, down).body), down);
  }
});

test('lenient parsing: Exchange\'s "-- Encrypted Boundary", CRLF before boundaries, a closing without CRLF', () => {
  const variants: ((b: string) => string)[] = [
    (b) => b.replace(/--Encrypted Boundary/g, '-- Encrypted Boundary'),
    (b) => b.replace(/--Encrypted Boundary--\r\n$/, '\r\n--Encrypted Boundary--\r\n'),
    (b) => b.replace(/--Encrypted Boundary--\r\n$/, '--Encrypted Boundary--'),
  ];
  for (const [k, variant] of variants.entries()) {
    const { client, server } = pair();
    const body = Buffer.from(variant(encodeEncrypted(server, env(`variant ${k}`)).body.toString('latin1')), 'latin1');
    assert.deepEqual(decodeEncrypted(client, body), env(`variant ${k}`), `variant ${k}`);
  }
});

test('a body without its closing boundary is refused (a cut between parts would drop data), except one part where a server allows it', () => {
  for (const ending of ['--Encrypted Boundary\r\n', '--Encrypted Boundary']) {
    const { client, server } = pair();
    const text = encodeEncrypted(server, env('unclosed')).body.toString('latin1').replace(/--Encrypted Boundary--\r\n$/, ending);
    assert.throws(() => decodeEncrypted(client, Buffer.from(text, 'latin1')), /closing boundary/);
    const parts = parseEncrypted(Buffer.from(text, 'latin1'), SPNEGO_ENCRYPTED, (n) => n, { allowUnclosedSinglePart: true });
    assert.equal(parts.length, 1);
  }
  // Two parts cut after the first: refused even where one unclosed part is allowed.
  const { server } = pair();
  const multi = encodeEncrypted({ ...server, maxPartSize: 64 }, Buffer.alloc(200, 0x41)).body.toString('latin1');
  const second = multi.indexOf('--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO', multi.indexOf('octet-stream'));
  const cut = Buffer.from(multi.slice(0, second) + '--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n', 'latin1');
  assert.throws(() => parseEncrypted(cut, SPNEGO_ENCRYPTED, (n) => n, { allowUnclosedSinglePart: true }), ProtocolError);
});

function rejects(body: Buffer, what: RegExp): void {
  const { client } = pair();
  let out: Buffer | undefined;
  assert.throws(() => { out = decodeEncrypted(client, body); }, (e: unknown) => e instanceof ProtocolError && what.test((e as Error).message));
  assert.equal(out, undefined);
}

test('a Length that does not match the encrypted data is refused', () => {
  const body = PYWINRM_REPLIES[0].toString('latin1');
  rejects(Buffer.from(body.replace('Length=99', 'Length=98'), 'latin1'), /Length/);
  rejects(Buffer.from(body.replace('Length=99', 'Length=100'), 'latin1'), /Length/);
  rejects(Buffer.from(body.replace('Length=99', 'Length=9999999'), 'latin1'), /truncated/);
  rejects(Buffer.from(body.replace(';Length=99', ''), 'latin1'), /no OriginalContent Length/);
});

test('truncation at every byte is refused without returning data', () => {
  const body = PYWINRM_REPLIES[0];
  // Cuts inside the closing boundary line leave a complete message: those are fine to accept.
  const closing = body.length - Buffer.byteLength('--Encrypted Boundary--\r\n');
  for (let cut = 0; cut < closing; cut++) {
    const { client } = pair();
    assert.throws(() => decodeEncrypted(client, body.subarray(0, cut)), ProtocolError, `cut at ${cut}`);
  }
});

test('missing boundaries, a wrong protocol, a bad signature length and a tampered payload are refused', () => {
  const body = PYWINRM_REPLIES[0].toString('latin1');
  rejects(Buffer.from(body.replace('--Encrypted Boundary\r\n\tContent-Type: application/octet', 'XXEncrypted Boundary\r\n\tContent-Type: application/octet'), 'latin1'), /boundary/);
  rejects(Buffer.from(body.replace(/--Encrypted Boundary--\r\n$/, 'garbage'), 'latin1'), /does not match|boundary/);
  rejects(Buffer.from(body.slice(2), 'latin1'), /boundary expected at byte 0/);
  rejects(Buffer.from(body.replace('HTTP-SPNEGO-session-encrypted', 'HTTP-Kerberos-session-encrypted'), 'latin1'), /part protocol/);
  rejects(Buffer.from('', 'latin1'), /boundary expected/);
  const bad = Buffer.from(PYWINRM_REPLIES[0]);
  const sigAt = bad.indexOf('octet-stream\r\n') + 14;
  bad.writeUInt32LE(12, sigAt);
  rejects(bad, /does not match/);
  for (const at of [sigAt + 4, sigAt + 8, sigAt + 16, sigAt + 40, bad.length - 30]) {
    const t = Buffer.from(PYWINRM_REPLIES[0]);
    t[at] ^= 0x04;
    rejects(t, /integrity check/);
  }
});

test('random corruption never yields data other than the original', () => {
  for (let k = 0; k < 2000; k++) {
    const t = Buffer.from(PYWINRM_REPLIES[1]);
    t[Math.floor(Math.random() * t.length)] ^= 1 << (k % 8);
    const { client } = pair();
    try {
      const out = decodeEncrypted(client, t);
      // Only flips in ignorable text (a header name's case, the closing "--") may pass.
      assert.deepEqual(out, env('réponse 1'));
    } catch (e) {
      assert.ok(e instanceof ProtocolError, String(e));
    }
  }
});

// A sealer shaped like CredSSP's (variable trailer, no fixed encrypted length, 16 KiB parts),
// with real AES-GCM, to show the framing is generic.
function gcmSealer(key: Buffer): MessageSealer & { sent: number } {
  let counter = 0;
  let expect = 0;
  return {
    protocol: 'application/HTTP-CredSSP-session-encrypted',
    maxPartSize: 16384,
    get sent() { return counter; },
    seal(plain) {
      const iv = Buffer.alloc(12); iv.writeUInt32BE(counter++, 8);
      const c = createCipheriv('aes-128-gcm', key, iv);
      const data = Buffer.concat([c.update(plain), c.final()]);
      return { headerLength: 16, token: Buffer.concat([c.getAuthTag(), data]) };
    },
    unseal(token, headerLength) {
      const iv = Buffer.alloc(12); iv.writeUInt32BE(expect++, 8);
      const d = createDecipheriv('aes-128-gcm', key, iv);
      d.setAuthTag(token.subarray(0, headerLength));
      return Buffer.concat([d.update(token.subarray(headerLength)), d.final()]);
    },
  } as MessageSealer & { sent: number };
}

test('generic framing: a CredSSP-like sealer, one part below 16 KiB, multipart/x-multi-encrypted above', () => {
  const key = randomBytes(16);
  const tx = gcmSealer(key), rx = gcmSealer(key);
  const small = randomBytes(16384);
  const one = encodeEncrypted(tx, small);
  assert.match(one.contentType, /^multipart\/encrypted;protocol="application\/HTTP-CredSSP-session-encrypted"/);
  assert.deepEqual(decodeEncrypted(rx, one.body), small);

  const big = randomBytes(50000);
  const multi = encodeEncrypted(tx, big);
  assert.match(multi.contentType, /^multipart\/x-multi-encrypted;protocol="application\/HTTP-CredSSP-session-encrypted";boundary="Encrypted Boundary"$/);
  const parts = parseEncrypted(multi.body, tx.protocol);
  assert.deepEqual(parts.map((p) => p.plainLength), [16384, 16384, 16384, 848]);
  assert.deepEqual(decodeEncrypted(rx, multi.body), big);
});

test('Content-Type parameters are read with or without quotes', () => {
  assert.deepEqual(parseContentType('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'),
    { type: 'multipart/encrypted', protocol: SPNEGO_ENCRYPTED, boundary: 'Encrypted Boundary' });
  assert.deepEqual(parseContentType('Multipart/Encrypted; protocol=application/HTTP-SPNEGO-session-encrypted ; boundary="Encrypted Boundary"'),
    { type: 'multipart/encrypted', protocol: SPNEGO_ENCRYPTED, boundary: 'Encrypted Boundary' });
});
