// Our NTLM client against gss-ntlmssp (a real NTLM acceptor we did not write),
// directly through the sidecar: no WinRM server involved.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NtlmClient } from '../../src/core/auth/ntlm/client';
import { tlsServerEndPointData, channelBindingHash } from '../../src/core/auth/ntlm/channel-binding';
import { GssError, NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { peerMissing } from '../support/peers';

const skip = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);
let sidecar: NtlmSidecar;

before(async () => {
  if (skip) return;
  sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: 'alice', password: 'Passw0rd!' }, { domain: 'LAB', user: 'bob', password: 'pässwörd ünicode €' }] });
  await sidecar.ready();
});
after(async () => { if (sidecar) await sidecar.close(); });

async function authenticate(user: string, password: string, opts: { cbt?: Buffer; clientCbt?: Buffer; domain?: string } = {}) {
  const ctx = await sidecar.newContext(opts.cbt);
  const client = new NtlmClient({ user, domain: opts.domain ?? 'LAB', password, channelBindings: opts.clientCbt, targetName: 'HTTP/winhost', requireSeal: true });
  const challenge = await sidecar.step(ctx, client.negotiate());
  assert.equal(challenge.complete, false);
  assert.ok(challenge.token);
  const done = await sidecar.step(ctx, client.authenticate(challenge.token));
  return { ctx, client, done };
}

test('good password: the three legs complete and the acceptor names the user', { skip }, async () => {
  const { client, done } = await authenticate('alice', 'Passw0rd!');
  assert.equal(done.complete, true);
  assert.match(done.user ?? '', /^LAB\\alice$/i);
  assert.ok(client.sentMic, 'gss-ntlmssp sends a timestamp, so our AUTHENTICATE carried a MIC');
});

test('non-ASCII password', { skip }, async () => {
  const { done } = await authenticate('bob', 'pässwörd ünicode €');
  assert.equal(done.complete, true);
});

test('wrong password and unknown user fail the last step', { skip }, async () => {
  await assert.rejects(authenticate('alice', 'wrong'), GssError);
  await assert.rejects(authenticate('mallory', 'Passw0rd!'), GssError);
});

test('channel binding: the matching certificate hash is accepted, another one is refused', { skip }, async () => {
  const certA = Buffer.from('3082010a0201', 'hex'); // any bytes: the hash is over the DER as given
  const certB = Buffer.from('3082010a0202', 'hex');
  const good = await authenticate('alice', 'Passw0rd!', { cbt: tlsServerEndPointData(certA), clientCbt: channelBindingHash(certA) });
  assert.equal(good.done.complete, true);
  await assert.rejects(authenticate('alice', 'Passw0rd!', { cbt: tlsServerEndPointData(certA), clientCbt: channelBindingHash(certB) }), GssError);
});

test('our seal -> gss-ntlmssp unwrap, gss-ntlmssp wrap -> our unseal, interleaved, 200 messages', { skip }, async () => {
  const { ctx, client } = await authenticate('alice', 'Passw0rd!');
  for (let k = 0; k < 100; k++) {
    const up = Buffer.from(`<s:Envelope n="${k}">${'x'.repeat(k * 13)}</s:Envelope>`);
    assert.deepEqual(await sidecar.unwrap(ctx, client.security.seal(up)), up);
    const down = Buffer.alloc(k * 31 + 1, k & 0xff);
    assert.deepEqual(client.security.unseal(await sidecar.wrap(ctx, down)), down);
  }
  // Several in a row in one direction, then the other: sequence numbers are per direction.
  const batch = await Promise.all([1, 2, 3, 4].map(async (n) => sidecar.wrap(ctx, Buffer.from(`down ${n}`))));
  for (const [n, token] of batch.entries()) assert.equal(client.security.unseal(token).toString(), `down ${n + 1}`);
  for (const n of [1, 2, 3]) assert.equal((await sidecar.unwrap(ctx, client.security.seal(Buffer.from(`up ${n}`)))).toString(), `up ${n}`);
  assert.deepEqual(client.security.sequence, { send: 103, recv: 104 });
});

test('a large message (8 MiB) in both directions', { skip }, async () => {
  const { ctx, client } = await authenticate('alice', 'Passw0rd!');
  const big = Buffer.alloc(8 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  assert.ok((await sidecar.unwrap(ctx, client.security.seal(big))).equals(big));
  assert.ok(client.security.unseal(await sidecar.wrap(ctx, big)).equals(big));
});

test('tampered tokens are rejected: by gss-ntlmssp from us, by us from gss-ntlmssp', { skip }, async () => {
  const a = await authenticate('alice', 'Passw0rd!');
  const token = a.client.security.seal(Buffer.from('<s:Envelope>Get-Process</s:Envelope>'));
  token[token.length - 3] ^= 0x20;
  await assert.rejects(sidecar.unwrap(a.ctx, token), GssError);

  const b = await authenticate('alice', 'Passw0rd!');
  const reply = await sidecar.wrap(b.ctx, Buffer.from('<s:Envelope>exit 0</s:Envelope>'));
  reply[20] ^= 0x01;
  assert.throws(() => b.client.security.unseal(reply), /integrity check/);

  const c = await authenticate('alice', 'Passw0rd!');
  const sig = await sidecar.wrap(c.ctx, Buffer.from('abc'));
  sig[5] ^= 0xff; // the encrypted checksum itself
  assert.throws(() => c.client.security.unseal(sig), /checksum mismatch/);
});
