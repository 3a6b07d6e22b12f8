// NTLM message encoding and parsing: the MS-NLMP §4.2.4.3 messages byte for byte,
// round trips, and hostile input (every failure a ProtocolError, never a crash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/core/errors';
import { computeResponseV2, ntowfv2 } from '../../src/core/auth/ntlm/crypto';
import { rc4k as rc4kFor } from '../../src/core/auth/ntlm/rc4';
import {
  AvId,
  encodeAuthenticate,
  encodeAvPairs,
  encodeChallenge,
  encodeNegotiate,
  encodeVersion,
  NegotiateFlags as F,
  parseAuthenticate,
  parseAvPairs,
  parseChallenge,
  parseNegotiate,
} from '../../src/core/auth/ntlm/messages';
import { CLIENT_FLAGS, NtlmClient } from '../../src/core/auth/ntlm/client';
import { NtlmSecurity } from '../../src/core/auth/ntlm/security';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-NLMP §4.2.4.3.
const SPEC_CHALLENGE = hex(`
  4e544c4d53535000 02000000 03000c00 38000000 33828ae2 0123456789abcdef
  0000000000000000 24002400 44000000 060070170000000f 530065007200760065007200
  02000c0044006f006d00610069006e00 01000c005300650072007600650072000000 0000`);
const SPEC_AUTHENTICATE = hex(`
  4e544c4d53535000 03000000 18001800 6c000000 54005400 84000000 0c000c00 48000000
  08000800 54000000 10001000 5c000000 10001000 d8000000 358288e2 0501280a0000000f
  44006f006d00610069006e00 5500730065007200 43004f004d00500055005400450052 00
  86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa
  68cd0ab851e51c96aabc927bebef6a1c 01010000000000000000000000000000 aaaaaaaaaaaaaaaa00000000
  02000c0044006f006d00610069006e00 01000c005300650072007600650072000000000000000000
  c5dad2544fc9799094ce1ce90bc9d03e`);

test('MS-NLMP 4.2.4.3: the CHALLENGE parses to the documented fields', () => {
  const c = parseChallenge(SPEC_CHALLENGE);
  assert.equal(c.flags, 0xe28a8233);
  assert.equal(c.serverChallenge.toString('hex'), '0123456789abcdef');
  assert.deepEqual(c.avPairs.map((p) => [p.id, p.value.toString('utf16le')]), [[AvId.NbDomainName, 'Domain'], [AvId.NbComputerName, 'Server']]);
  assert.equal(c.timestamp, undefined);
  assert.equal(c.version?.toString('hex'), '060070170000000f');
});

test('MS-NLMP 4.2.4.3: the AUTHENTICATE is reproduced byte for byte', () => {
  const r = computeResponseV2(ntowfv2('Password', 'User', 'Domain'), hex('0123456789abcdef'), Buffer.alloc(8, 0xaa), Buffer.alloc(8),
    hex('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000'), false);
  const msg = encodeAuthenticate({
    flags: 0xe2888235,
    lmChallengeResponse: r.lmChallengeResponse,
    ntChallengeResponse: r.ntChallengeResponse,
    domain: 'Domain',
    user: 'User',
    workstation: 'COMPUTER',
    encryptedRandomSessionKey: rc4kFor(r.sessionBaseKey, Buffer.alloc(16, 0x55)),
    version: encodeVersion(5, 1, 2600),
    withMic: false,
  });
  assert.equal(msg.toString('hex'), SPEC_AUTHENTICATE.toString('hex'));
  const back = parseAuthenticate(SPEC_AUTHENTICATE);
  assert.equal(back.user, 'User');
  assert.equal(back.domain, 'Domain');
  assert.equal(back.workstation, 'COMPUTER');
  assert.equal(back.mic, undefined);
  assert.equal(back.encryptedRandomSessionKey.toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
});

test('NEGOTIATE round trip: our flags and version, 40 bytes', () => {
  const msg = encodeNegotiate(CLIENT_FLAGS);
  assert.equal(msg.length, 40);
  assert.equal(msg.subarray(0, 12).toString('hex'), '4e544c4d5353500001000000');
  const n = parseNegotiate(msg);
  assert.equal(n.flags, CLIENT_FLAGS);
  for (const f of [F.UNICODE, F.NTLM, F.EXTENDED_SESSIONSECURITY, F.KEY_128, F.KEY_EXCH, F.SIGN, F.SEAL, F.ALWAYS_SIGN, F.REQUEST_TARGET, F.VERSION]) {
    assert.ok(n.flags & f, `flag 0x${f.toString(16)}`);
  }
  assert.equal(n.version?.[7], 0x0f);
});

test('CHALLENGE round trip with a timestamp and every AV pair kind', () => {
  const ts = Buffer.from('0090d336b734c301', 'hex');
  const pairs = [
    { id: AvId.NbDomainName, value: Buffer.from('LAB', 'utf16le') },
    { id: AvId.NbComputerName, value: Buffer.from('WIN01', 'utf16le') },
    { id: AvId.DnsDomainName, value: Buffer.from('lab.example', 'utf16le') },
    { id: AvId.DnsComputerName, value: Buffer.from('win01.lab.example', 'utf16le') },
    { id: AvId.Timestamp, value: ts },
  ];
  const msg = encodeChallenge({ flags: 0xe2898215, serverChallenge: hex('1122334455667788'), targetName: 'LAB', avPairs: pairs });
  const c = parseChallenge(msg);
  assert.equal(c.flags, 0xe2898215);
  assert.equal(c.targetName, 'LAB');
  assert.deepEqual(c.timestamp, ts);
  assert.deepEqual(c.avPairs, pairs);
  assert.deepEqual(parseAvPairs(encodeAvPairs(pairs)), pairs);
});

test('hostile CHALLENGEs fail as ProtocolError, never with a RangeError or a read past the buffer', () => {
  const good = encodeChallenge({ flags: 0xe2898215, serverChallenge: randomBytes(8), targetName: 'LAB', avPairs: [{ id: AvId.Timestamp, value: Buffer.alloc(8) }] });
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('NTLMSSP\0'),
    good.subarray(0, 31),
    good.subarray(0, good.length - 2), // TargetInfo cut: its field points past the end
    Buffer.concat([Buffer.from('NTLMSSQ\0'), good.subarray(8)]),
  ];
  const wrongType = Buffer.from(good); wrongType.writeUInt32LE(3, 8); cases.push(wrongType);
  const farOffset = Buffer.from(good); farOffset.writeUInt32LE(0xfffffff0, 44); cases.push(farOffset);
  const longPair = Buffer.from(good); longPair.writeUInt16LE(0x7fff, good.readUInt32LE(44) + 2); cases.push(longPair);
  const badTs = encodeChallenge({ flags: 1, serverChallenge: Buffer.alloc(8), targetName: '', avPairs: [{ id: AvId.Timestamp, value: Buffer.alloc(4) }] }); cases.push(badTs);
  for (const c of cases) assert.throws(() => parseChallenge(c), ProtocolError, c.toString('hex'));

  // Random corruption: each result is a parse or a ProtocolError.
  for (let k = 0; k < 3000; k++) {
    const m = Buffer.from(good);
    for (let n = 1 + (k % 4); n > 0; n--) m[Math.floor(Math.random() * m.length)] = Math.floor(Math.random() * 256);
    const cut = k % 3 === 0 ? m.subarray(0, Math.floor(Math.random() * m.length)) : m;
    try { parseChallenge(cut); } catch (e) { assert.ok(e instanceof ProtocolError, String(e)); }
  }
});

test('NtlmClient: AUTHENTICATE for a challenge with a timestamp carries MsvAvFlags, channel binding, target name and a valid MIC', () => {
  const ts = Buffer.from('0090d336b734c301', 'hex');
  const serverInfo = [
    { id: AvId.NbDomainName, value: Buffer.from('LAB', 'utf16le') },
    { id: AvId.NbComputerName, value: Buffer.from('WIN01', 'utf16le') },
    { id: AvId.Timestamp, value: ts },
  ];
  const cbt = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const exported = randomBytes(16);
  const client = new NtlmClient({ user: 'alice', domain: 'LAB', password: 'Passw0rd!', channelBindings: cbt, targetName: 'HTTP/win01', randomSessionKey: exported, workstation: 'WS' });
  const negotiate = client.negotiate();
  const challenge = encodeChallenge({ flags: 0xe2898235 | F.SEAL | F.KEY_EXCH, serverChallenge: hex('0102030405060708'), targetName: 'LAB', avPairs: serverInfo });
  const auth = client.authenticate(challenge);
  const a = parseAuthenticate(auth);

  assert.equal(a.user, 'alice');
  assert.equal(a.domain, 'LAB');
  assert.equal(a.workstation, 'WS');
  assert.deepEqual(a.lmChallengeResponse, Buffer.alloc(24), 'Z(24) LM response when the server sent a timestamp');
  assert.equal(a.flags & F.OEM, 0, 'OEM dropped once UNICODE is chosen');
  assert.ok(a.flags & F.KEY_EXCH && a.flags & F.SEAL && a.flags & F.SIGN);

  // The NTLMv2 client challenge structure: the server's timestamp reused, AV pairs extended.
  const temp = a.ntChallengeResponse.subarray(16);
  assert.deepEqual(temp.subarray(8, 16), ts);
  const pairs = parseAvPairs(temp.subarray(28));
  const get = (id: number) => pairs.find((p) => p.id === id)?.value;
  assert.equal(get(AvId.Flags)?.readUInt32LE(0), 2);
  assert.deepEqual(get(AvId.ChannelBindings), cbt);
  assert.equal(get(AvId.TargetName)?.toString('utf16le'), 'HTTP/win01');
  assert.equal(get(AvId.NbComputerName)?.toString('utf16le'), 'WIN01');

  // The server's view: the proof, the session key and the MIC, computed here from the spec formulas.
  const keyNT = ntowfv2('Passw0rd!', 'alice', 'LAB');
  const proof = createHmac('md5', keyNT).update(hex('0102030405060708')).update(temp).digest();
  assert.deepEqual(a.ntChallengeResponse.subarray(0, 16), proof);
  const sessionBaseKey = createHmac('md5', keyNT).update(proof).digest();
  assert.deepEqual(rc4kFor(sessionBaseKey, a.encryptedRandomSessionKey), exported);
  const zeroed = Buffer.from(auth); zeroed.fill(0, 72, 88);
  const mic = createHmac('md5', exported).update(negotiate).update(challenge).update(zeroed).digest();
  assert.deepEqual(a.mic, mic);

  // And the session keys match a server context built from the exported key.
  const server = new NtlmSecurity(exported, a.flags, 'server');
  assert.deepEqual(server.unseal(client.security.seal(Buffer.from('hello'))), Buffer.from('hello'));
});

test('NtlmClient: no MIC and an HMAC LM response without a server timestamp', () => {
  const client = new NtlmClient({ user: 'bob', domain: '', password: 'x' });
  client.negotiate();
  const auth = parseAuthenticate(client.authenticate(encodeChallenge({ flags: 0xe2898235, serverChallenge: Buffer.alloc(8, 1), targetName: '', avPairs: [{ id: AvId.NbComputerName, value: Buffer.from('H', 'utf16le') }] })));
  assert.equal(auth.mic, undefined);
  assert.equal(auth.lmChallengeResponse.length, 24);
  assert.notDeepEqual(auth.lmChallengeResponse, Buffer.alloc(24));
  const pairs = parseAvPairs(auth.ntChallengeResponse.subarray(16 + 28));
  assert.deepEqual(pairs.find((p) => p.id === AvId.ChannelBindings)?.value, Buffer.alloc(16), 'unbound: zeros, as Windows sends');
  assert.equal(pairs.find((p) => p.id === AvId.Flags), undefined);
});

test('NtlmClient refuses a CHALLENGE without SEAL when sealing is required, and one without extended session security', () => {
  const seal = new NtlmClient({ user: 'u', domain: 'd', password: 'p', requireSeal: true });
  seal.negotiate();
  assert.throws(() => seal.authenticate(encodeChallenge({ flags: 0xe2898215 & ~F.SEAL, serverChallenge: Buffer.alloc(8), targetName: '', avPairs: [] })),
    (e: any) => e.reason === 'encryption-refused');
  const ess = new NtlmClient({ user: 'u', domain: 'd', password: 'p' });
  ess.negotiate();
  assert.throws(() => ess.authenticate(encodeChallenge({ flags: 0xe2818235 & ~F.EXTENDED_SESSIONSECURITY, serverChallenge: Buffer.alloc(8), targetName: '', avPairs: [] })),
    /extended session security/);
});
