// Hostile encrypted bodies: WinRM message-encryption framing (multipart/encrypted and
// multipart/x-multi-encrypted) mutated at scale: wrong Length values and header lengths,
// missing or extra boundaries, bad signatures, truncation, junk. With the NTLM sealer
// (exact token length) and a CredSSP-shaped one (AES-GCM, variable trailer, parts found by
// boundary search). Every case either decodes to exactly the original plaintext or throws
// a WinrmError; and the parser never reads past the buffer it was given: a body lying in a
// larger buffer whose following bytes would complete it decodes exactly like a copy.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { test } from 'node:test';
import { decodeEncrypted, encodeEncrypted, type MessageSealer } from '../../src/core/auth/encryption';
import { ntlmSealer } from '../../src/core/auth/ntlm-provider';
import { NtlmSecurity } from '../../src/core/auth/ntlm/security';
import { WinrmError } from '../../src/core/errors';
import { Prng, seedFrom } from '../support/faults';

const CASES = Number(process.env.FUZZ_FRAMING_CASES ?? 10_000);
const FLAGS = 0xe2088235;

/** A sender and a receiver sealer with the same keys, fresh sequence numbers. */
type Pair = () => { tx: MessageSealer; rx: () => MessageSealer };

const ntlm = (key: Buffer, partSize?: number): Pair => () => ({
  tx: { ...ntlmSealer(new NtlmSecurity(key, FLAGS, 'server')), maxPartSize: partSize },
  rx: () => ntlmSealer(new NtlmSecurity(key, FLAGS, 'client')),
});

// CredSSP-shaped: a 16-byte trailer before the data, no fixed encrypted length, parts of `partSize`.
function gcm(key: Buffer, partSize: number): Pair {
  const make = (): MessageSealer => {
    let n = 0;
    return {
      protocol: 'application/HTTP-CredSSP-session-encrypted',
      maxPartSize: partSize,
      seal(plain) {
        const iv = Buffer.alloc(12); iv.writeUInt32BE(n++, 8);
        const c = createCipheriv('aes-128-gcm', key, iv);
        const data = Buffer.concat([c.update(plain), c.final()]);
        return { headerLength: 16, token: Buffer.concat([c.getAuthTag(), data]) };
      },
      unseal(token, headerLength) {
        const iv = Buffer.alloc(12); iv.writeUInt32BE(n++, 8);
        const d = createDecipheriv('aes-128-gcm', key, iv);
        try {
          d.setAuthTag(token.subarray(0, headerLength));
          return Buffer.concat([d.update(token.subarray(headerLength)), d.final()]);
        } catch {
          // A real sealer turns a failed check into a typed error (credssp-provider does).
          throw new WinrmError('protocol', 'GCM check failed', 'tampered');
        }
      },
    };
  };
  return () => ({ tx: make(), rx: make });
}

type Mutation = (b: Buffer, r: Prng) => Buffer;

const latin = (b: Buffer) => b.toString('latin1');
const bytes = (s: string) => Buffer.from(s, 'latin1');

const mutations: Record<string, Mutation> = {
  wrongLength: (b, r) => bytes(latin(b).replace(/Length=(\d+)/, (_m, n: string) => `Length=${r.pick([Number(n) + 1, Number(n) - 1, 0, 4294967296, 1e21, -5, Number(n) * 2])}`)),
  noLength: (b) => bytes(latin(b).replace(/;Length=\d+/, '')),
  headerLength: (b, r) => {
    const out = Buffer.from(b);
    const at = out.indexOf('octet-stream\r\n') + 14;
    if (at >= 14 && at + 4 <= out.length) out.writeUInt32LE(r.pick([0, 1, 15, 17, 0xffffffff, out.length, out.length - at]), at);
    return out;
  },
  signature: (b, r) => {
    const out = Buffer.from(b);
    const at = out.indexOf('octet-stream\r\n') + 18;
    if (at >= 18 && at < out.length) out[at + r.int(0, 15)] ^= 1 << r.int(0, 7);
    return out;
  },
  sealedData: (b, r) => {
    const out = Buffer.from(b);
    const from = out.indexOf('octet-stream\r\n') + 34;
    const to = out.lastIndexOf('--Encrypted');
    if (from >= 34 && to > from) out[r.int(from, to - 1)] ^= 1 << r.int(0, 7);
    return out;
  },
  dropBoundary: (b, r) => {
    const s = latin(b);
    const marks: number[] = [];
    for (let i = s.indexOf('--Encrypted Boundary'); i >= 0; i = s.indexOf('--Encrypted Boundary', i + 1)) marks.push(i);
    const at = r.pick(marks);
    const end = s.indexOf('\r\n', at);
    return bytes(s.slice(0, at) + s.slice(end < 0 ? s.length : end + 2));
  },
  breakBoundary: (b, r) => bytes(latin(b).replace(/--Encrypted Boundary/g, (m) => (r.chance(0.3) ? r.pick(['--Encrypted Boundry', '-Encrypted Boundary', '--encrypted boundary', '--Encrypted Boundary\0']) : m))),
  protocol: (b) => bytes(latin(b).replace(/session-encrypted/, 'session-decrypted')),
  truncate: (b, r) => b.subarray(0, r.int(0, b.length - 1)),
  bitFlips: (b, r) => {
    const out = Buffer.from(b);
    for (let n = r.int(1, 6); n > 0; n--) out[r.int(0, out.length - 1)] ^= 1 << r.int(0, 7);
    return out;
  },
  junkAfter: (b, r) => Buffer.concat([b, bytes(r.pick(['garbage', '--Encrypted Boundary\r\n', '\r\n\r\n', '\0\0\0\0']))]),
  duplicatePart: (b) => {
    const s = latin(b);
    const first = s.indexOf('--Encrypted Boundary\r\n');
    const closing = s.lastIndexOf('--Encrypted Boundary--');
    return closing > first ? bytes(s.slice(0, closing) + s.slice(first, closing) + s.slice(closing)) : b;
  },
  empty: () => Buffer.alloc(0),
};
const names = Object.keys(mutations);

/** Decode, as an outcome: the plaintext, or 'refused' for a WinrmError; anything else is thrown to the test. */
function decode(rx: MessageSealer, body: Buffer): Buffer | 'refused' {
  try {
    return decodeEncrypted(rx, body);
  } catch (err) {
    if (err instanceof WinrmError) return 'refused';
    throw err;
  }
}

test(`fuzz: ${CASES} damaged encrypted bodies, NTLM and CredSSP-shaped, one part and many`, { timeout: 300_000 }, (t) => {
  const seed = seedFrom('FUZZ_SEED');
  t.diagnostic(`framing fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
  const r = new Prng(seed);
  const key = Buffer.from(Array.from({ length: 16 }, () => r.int(0, 255)));
  const pairs: [string, Pair][] = [['ntlm', ntlm(key)], ['ntlm multi', ntlm(key, 700)], ['gcm', gcm(key, 16384)], ['gcm multi', gcm(key, 900)]];
  const failures: string[] = [];
  let accepted = 0;
  for (let i = 0; i < CASES; i++) {
    const [label, pair] = r.pick(pairs);
    const { tx, rx } = pair();
    const plain = Buffer.from(Array.from({ length: r.int(0, 4000) }, () => r.int(0, 255)));
    const body = encodeEncrypted(tx, plain).body;
    const applied: string[] = [];
    let damaged = body;
    for (let n = r.chance(0.25) ? 2 : 1; n > 0; n--) {
      const name = r.pick(names);
      applied.push(name);
      damaged = mutations[name](damaged, r);
    }
    try {
      // The damaged body at the start of a larger buffer whose next bytes are the original's
      // rest: a parser that looked past the end it was given would find a complete message.
      const rest = body.subarray(Math.min(damaged.length, body.length));
      const backing = Buffer.concat([damaged, rest, body]);
      const inPlace = decode(rx(), backing.subarray(0, damaged.length));
      const copy = decode(rx(), Buffer.from(damaged));
      if (inPlace === 'refused' || copy === 'refused') {
        if (inPlace !== copy) failures.push(`case ${i} ${label} [${applied}]: in place ${inPlace === 'refused' ? 'refused' : 'accepted'}, copy ${copy === 'refused' ? 'refused' : 'accepted'}`);
      } else {
        accepted++;
        if (!inPlace.equals(plain) || !copy.equals(plain)) failures.push(`case ${i} ${label} [${applied}]: accepted but decoded to other bytes`);
      }
    } catch (err) {
      failures.push(`case ${i} ${label} [${applied}]: ${err instanceof Error ? err.stack : String(err)}`);
    }
    if (failures.length > 5) break;
  }
  t.diagnostic(`seed ${seed}: ${CASES} cases, ${accepted} decoded to the original (harmless damage), the rest refused`);
  assert.deepEqual(failures, [], `seed ${seed}`);
  assert.ok(accepted < CASES / 2, 'most damage is refused');
});
