// CredSSP session encryption: the trailer length written before each part (16 for
// AEAD on TLS 1.2, 17 on TLS 1.3, MAC + padding for CBC), checked against a table
// and against the records OpenSSL really produces; and the framing, including
// bodies over 16 KiB as 16 KiB parts under multipart/x-multi-encrypted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSecureContext } from 'node:tls';
import { CREDSSP_ENCRYPTED, credSspSealer } from '../../src/core/auth/credssp-provider';
import { splitRecords, TlsPipe, trailerLength, type TlsVersion } from '../../src/core/auth/credssp/tls-pipe';
import { decodeEncrypted, parseEncrypted } from '../../src/core/auth/encryption';

let key: string;
let cert: string;
before(() => {
  const dir = mkdtempSync(join(tmpdir(), 'credssp-unit-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=credssp-unit', '-days', '2', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    key = readFileSync(join(dir, 'k.pem'), 'utf8');
    cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const pipes: TlsPipe[] = [];
after(() => pipes.forEach((p) => p.destroy()));

/** A client and a server TlsPipe after a complete in-memory handshake. */
async function connected(version: TlsVersion, serverCiphers?: string): Promise<{ client: TlsPipe; server: TlsPipe }> {
  // Without encrypt-then-MAC, as SChannel: CBC records are MAC-then-pad-then-encrypt.
  const ctx = createSecureContext({ key, cert, ciphers: serverCiphers, secureOptions: constants.SSL_OP_NO_ENCRYPT_THEN_MAC });
  const client = new TlsPipe({ role: 'client', minVersion: version, maxVersion: version, ciphers: serverCiphers });
  const server = new TlsPipe({ role: 'server', secureContext: ctx, minVersion: version, maxVersion: version });
  pipes.push(client, server);
  for (let i = 0; i < 6; i++) {
    await client.settle();
    server.feed(client.takeOutput());
    await server.settle();
    client.feed(server.takeOutput());
  }
  await client.settle();
  assert.ok(client.secure && server.secure, 'handshake completed');
  assert.equal(client.takeOutput().length, 0);
  return { client, server };
}

test('trailer table: AEAD 16 on TLS 1.2, 17 on TLS 1.3, CBC = MAC + padding to the block, RC4 = MAC', () => {
  const t12 = (name: string, n: number) => trailerLength({ name, version: 'TLSv1.2' }, n);
  assert.equal(t12('ECDHE-RSA-AES256-GCM-SHA384', 0), 16);
  assert.equal(t12('ECDHE-RSA-AES128-GCM-SHA256', 12345), 16);
  assert.equal(t12('ECDHE-RSA-CHACHA20-POLY1305', 7), 16);
  assert.equal(trailerLength({ name: 'TLS_AES_256_GCM_SHA384', version: 'TLSv1.3' }, 100), 17);
  assert.equal(trailerLength({ name: 'TLS_CHACHA20_POLY1305_SHA256', version: 'TLSv1.3' }, 1), 17);
  // CBC: mac + (block - (n + mac) % block), the padding counting its length byte (1..block).
  assert.equal(t12('ECDHE-RSA-AES256-SHA384', 10), 48 + 6); // 58 % 16 = 10
  assert.equal(t12('ECDHE-RSA-AES256-SHA384', 16), 48 + 16); // 64 % 16 = 0: a whole block of padding
  assert.equal(t12('ECDHE-RSA-AES128-SHA256', 1), 32 + 15);
  assert.equal(t12('AES128-SHA', 0), 20 + 12);
  assert.equal(t12('AES128-SHA', 12), 20 + 16);
  assert.equal(trailerLength({ name: 'AES256-SHA', standardName: 'TLS_RSA_WITH_AES_256_CBC_SHA', version: 'TLSv1.2' }, 100), 20 + 8);
  assert.equal(t12('DES-CBC3-SHA', 5), 20 + 7); // 64-bit blocks: 25 % 8 = 1
  assert.equal(t12('DES-CBC3-SHA', 4), 20 + 8);
  assert.equal(t12('RC4-MD5', 99), 16);
  assert.equal(t12('RC4-SHA', 99), 20);
});

const suites: { version: TlsVersion; ciphers?: string; explicitNonce: number }[] = [
  { version: 'TLSv1.3', explicitNonce: 0 },
  { version: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', explicitNonce: 8 },
  { version: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', explicitNonce: 8 },
  { version: 'TLSv1.2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', explicitNonce: 0 },
  { version: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-SHA384', explicitNonce: 16 },
  { version: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256', explicitNonce: 16 },
  { version: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA', explicitNonce: 16 },
];

for (const s of suites) {
  test(`trailer matches the records OpenSSL writes: ${s.version} ${s.ciphers ?? 'default'}`, async () => {
    const { client, server } = await connected(s.version, s.ciphers);
    const cipher = client.cipher();
    if (s.ciphers) assert.equal(cipher.name, s.ciphers);
    for (const n of [1, 15, 16, 17, 31, 100, 1000, 16384]) {
      const plain = Buffer.alloc(n, n & 0xff);
      client.write(plain);
      const record = client.takeOutput();
      assert.equal(splitRecords(record).records.length, 1, `one record for ${n} bytes`);
      const trailer = record.length - 5 - s.explicitNonce - n;
      assert.equal(trailerLength(cipher, n), trailer, `${cipher.name} n=${n}`);
      server.feed(record);
      assert.deepEqual(server.takePlain(), plain, 'the record decrypts synchronously');
      await client.settle(); // Node lets the next write out only once this one completed (a later turn)
    }
  });
}

const FRAME_HEAD = (n: number) => Buffer.from(
  `--Encrypted Boundary\r\n\tContent-Type: application/HTTP-CredSSP-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${n}\r\n` +
  '--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n', 'latin1');
const FRAME_END = Buffer.from('--Encrypted Boundary--\r\n', 'latin1');

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`framing ${version}: a small body is one part; the exact bytes on the wire`, async () => {
    const { client, server } = await connected(version, version === 'TLSv1.2' ? 'ECDHE-RSA-AES256-GCM-SHA384' : undefined);
    const soap = Buffer.from('<s:Envelope>' + 'x'.repeat(88) + '</s:Envelope>');
    const { body, contentType } = credSspSealer(client).sealMessage(soap);
    assert.equal(contentType, `multipart/encrypted;protocol="${CREDSSP_ENCRYPTED}";boundary="Encrypted Boundary"`);
    const head = FRAME_HEAD(soap.length);
    assert.deepEqual(body.subarray(0, head.length), head);
    const trailer = body.readUInt32LE(head.length);
    assert.equal(trailer, version === 'TLSv1.3' ? 17 : 16);
    const record = body.subarray(head.length + 4, body.length - FRAME_END.length);
    assert.deepEqual(body.subarray(body.length - FRAME_END.length), FRAME_END);
    const { records, rest } = splitRecords(record);
    assert.equal(records.length, 1);
    assert.equal(rest.length, 0);
    assert.equal(record[0], 0x17, 'application_data record');
    assert.deepEqual(decodeEncrypted(credSspSealer(server), body), soap);
  });

  test(`framing ${version}: over 16 KiB goes as 16 KiB parts under multipart/x-multi-encrypted, both directions`, async () => {
    const { client, server } = await connected(version);
    const soap = Buffer.alloc(40_000);
    for (let i = 0; i < soap.length; i++) soap[i] = (i * 7) & 0xff;
    const up = credSspSealer(client).sealMessage(soap);
    assert.equal(up.contentType, `multipart/x-multi-encrypted;protocol="${CREDSSP_ENCRYPTED}";boundary="Encrypted Boundary"`);
    const parts = parseEncrypted(up.body, CREDSSP_ENCRYPTED);
    assert.deepEqual(parts.map((p) => p.plainLength), [16384, 16384, 7232]);
    const cipher = client.cipher();
    assert.deepEqual(parts.map((p) => p.headerLength), [16384, 16384, 7232].map((n) => trailerLength(cipher, n)));
    for (const p of parts) assert.equal(splitRecords(p.token).records.length, 1, 'each part is exactly one TLS record');
    assert.deepEqual(decodeEncrypted(credSspSealer(server), up.body), soap);

    await server.settle();
    const reply = Buffer.from('ü'.repeat(20_000)); // 40 000 bytes of UTF-8
    const down = credSspSealer(server).sealMessage(reply);
    assert.match(down.contentType, /^multipart\/x-multi-encrypted;/);
    assert.equal(parseEncrypted(down.body, CREDSSP_ENCRYPTED).length, 3);
    assert.deepEqual(decodeEncrypted(credSspSealer(client), down.body), reply);
  });
}

test('framing: exactly 16 KiB is one part, one byte more is two', async () => {
  const { client, server } = await connected('TLSv1.2');
  const a = credSspSealer(client).sealMessage(Buffer.alloc(16384, 1));
  assert.match(a.contentType, /^multipart\/encrypted;/);
  assert.deepEqual(decodeEncrypted(credSspSealer(server), a.body), Buffer.alloc(16384, 1));
  await client.settle();
  const b = credSspSealer(client).sealMessage(Buffer.alloc(16385, 2));
  assert.match(b.contentType, /^multipart\/x-multi-encrypted;/);
  assert.deepEqual(parseEncrypted(b.body, CREDSSP_ENCRYPTED).map((p) => p.plainLength), [16384, 1]);
  assert.deepEqual(decodeEncrypted(credSspSealer(server), b.body), Buffer.alloc(16385, 2));
});

test('a tampered record fails to decrypt with a clear error', async () => {
  const { client, server } = await connected('TLSv1.2');
  const { body } = credSspSealer(client).sealMessage(Buffer.from('<s:Envelope>secret</s:Envelope>'));
  body[FRAME_HEAD(30).length + 4 + 20] ^= 0x01;
  assert.throws(() => decodeEncrypted(credSspSealer(server), body), /did not decrypt/);
});
