// The NTLMv2 key and response computations of MS-NLMP §3.3.2 and §3.4.5.
import { createHash, createHmac } from 'node:crypto';
import { md4 } from './md4';
import { NegotiateFlags } from './messages';

export function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

export function md5(...data: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const d of data) h.update(d);
  return h.digest();
}

/** NTOWFv1: MD4 of the UTF-16LE password (the "NT hash"). */
export function ntowfv1(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** NTOWFv2 = HMAC-MD5(NT hash, UTF-16LE(UPPER(user) + domain)). */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(ntowfv1(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

export interface V2Responses {
  ntChallengeResponse: Buffer;
  lmChallengeResponse: Buffer;
  sessionBaseKey: Buffer;
}

/**
 * ComputeResponse for NTLMv2. `targetInfo` is the AV_PAIR list as the client sends
 * it back (with its own additions, ending with MsvAvEOL). `time` is a FILETIME.
 * With a server timestamp the LM response is all zeros (MS-NLMP §3.1.5.1.2).
 */
export function computeResponseV2(
  responseKeyNT: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
  time: Buffer,
  targetInfo: Buffer,
  zeroLmResponse: boolean,
): V2Responses {
  const temp = Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), // RespType, HiRespType, Reserved1, Reserved2
    time,
    clientChallenge,
    Buffer.alloc(4),
    targetInfo,
    Buffer.alloc(4),
  ]);
  const ntProofStr = hmacMd5(responseKeyNT, serverChallenge, temp);
  const lmChallengeResponse = zeroLmResponse
    ? Buffer.alloc(24)
    : Buffer.concat([hmacMd5(responseKeyNT, serverChallenge, clientChallenge), clientChallenge]);
  return {
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    lmChallengeResponse,
    sessionBaseKey: hmacMd5(responseKeyNT, ntProofStr),
  };
}

const CLIENT_SIGN = Buffer.from('session key to client-to-server signing key magic constant\0', 'latin1');
const SERVER_SIGN = Buffer.from('session key to server-to-client signing key magic constant\0', 'latin1');
const CLIENT_SEAL = Buffer.from('session key to client-to-server sealing key magic constant\0', 'latin1');
const SERVER_SEAL = Buffer.from('session key to server-to-client sealing key magic constant\0', 'latin1');

export type Direction = 'client' | 'server';

/** SIGNKEY with extended session security: MD5(key || magic). */
export function signKey(exportedSessionKey: Buffer, from: Direction): Buffer {
  return md5(exportedSessionKey, from === 'client' ? CLIENT_SIGN : SERVER_SIGN);
}

/** SEALKEY with extended session security: the key is cut to 56 or 40 bits unless 128-bit was negotiated. */
export function sealKey(exportedSessionKey: Buffer, flags: number, from: Direction): Buffer {
  let key = exportedSessionKey;
  if (!(flags & NegotiateFlags.KEY_128)) key = key.subarray(0, flags & NegotiateFlags.KEY_56 ? 7 : 5);
  return md5(key, from === 'client' ? CLIENT_SEAL : SERVER_SEAL);
}

/** The current time as a Windows FILETIME (100 ns ticks since 1601), little-endian. */
export function fileTimeNow(now = Date.now()): Buffer {
  const ticks = (BigInt(now) + 11644473600000n) * 10000n;
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(ticks);
  return out;
}
