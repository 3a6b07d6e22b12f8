// NTLM message encoding and parsing (MS-NLMP §2.2). Every read is bounds-checked:
// a CHALLENGE comes from the network and may be garbage or hostile.
import { ProtocolError } from '../../errors';

export const NegotiateFlags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  OEM_DOMAIN_SUPPLIED: 0x00001000,
  OEM_WORKSTATION_SUPPLIED: 0x00002000,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  KEY_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  KEY_56: 0x80000000,
} as const;

export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
export const AV_FLAG_MIC_PRESENT = 0x00000002;

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export interface AvPair {
  id: number;
  value: Buffer;
}

/** 8-byte VERSION structure: product major/minor, build, 3 reserved bytes, NTLM revision 15. */
export function encodeVersion(major: number, minor: number, build: number): Buffer {
  const v = Buffer.alloc(8);
  v[0] = major;
  v[1] = minor;
  v.writeUInt16LE(build, 2);
  v[7] = 0x0f;
  return v;
}

export const CLIENT_VERSION = encodeVersion(10, 0, 20348);

// ---- reading helpers -------------------------------------------------------

function bad(what: string): never {
  throw new ProtocolError(`Malformed NTLM message: ${what}.`, 'The host sent an NTLM token we cannot parse. Check that nothing between us and the host (a proxy) rewrites the Authorization headers.');
}

function readHeader(buf: Buffer, type: number, minLength: number): void {
  if (buf.length < minLength) bad(`too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) bad('no NTLMSSP signature');
  const t = buf.readUInt32LE(8);
  if (t !== type) bad(`message type ${t}, expected ${type}`);
}

/** The payload a (Len, MaxLen, Offset) field points at; empty when Len is 0. */
function readField(buf: Buffer, at: number, name: string): Buffer {
  const len = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (offset > buf.length || len > buf.length - offset) bad(`${name} points outside the message`);
  return buf.subarray(offset, offset + len);
}

function decodeText(b: Buffer, unicode: boolean): string {
  return unicode ? b.toString('utf16le') : b.toString('latin1');
}

export function parseAvPairs(buf: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let p = 0;
  for (;;) {
    if (buf.length - p < 4) bad('TargetInfo ends without MsvAvEOL');
    const id = buf.readUInt16LE(p);
    const len = buf.readUInt16LE(p + 2);
    p += 4;
    if (id === AvId.EOL) return pairs;
    if (len > buf.length - p) bad('an AV_PAIR runs past TargetInfo');
    pairs.push({ id, value: buf.subarray(p, p + len) });
    p += len;
  }
}

export function encodeAvPairs(pairs: AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const { id, value } of pairs) {
    if (id === AvId.EOL) continue;
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(value.length, 2);
    parts.push(h, value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

// ---- NEGOTIATE ---------------------------------------------------------------

export interface NegotiateMessage {
  flags: number;
  domain: string;
  workstation: string;
  version?: Buffer;
}

/** NEGOTIATE without the OEM domain/workstation fields (a client need not send them). */
export function encodeNegotiate(flags: number, version: Buffer = CLIENT_VERSION): Buffer {
  const hasVersion = (flags & NegotiateFlags.VERSION) !== 0;
  const msg = Buffer.alloc(hasVersion ? 40 : 32);
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(1, 8);
  msg.writeUInt32LE(flags >>> 0, 12);
  // DomainNameFields and WorkstationFields: empty, offset at the end of the header.
  msg.writeUInt32LE(msg.length, 20);
  msg.writeUInt32LE(msg.length, 28);
  if (hasVersion) version.copy(msg, 32);
  return msg;
}

export function parseNegotiate(buf: Buffer): NegotiateMessage {
  readHeader(buf, 1, 16);
  const flags = buf.readUInt32LE(12);
  let domain = '', workstation = '';
  if (buf.length >= 32) {
    domain = decodeText(readField(buf, 16, 'DomainName'), false);
    workstation = decodeText(readField(buf, 24, 'Workstation'), false);
  }
  const version = flags & NegotiateFlags.VERSION && buf.length >= 40 ? Buffer.from(buf.subarray(32, 40)) : undefined;
  return { flags, domain, workstation, version };
}

// ---- CHALLENGE -----------------------------------------------------------------

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  /** The raw TargetInfo bytes (ending with MsvAvEOL), or empty. */
  targetInfo: Buffer;
  avPairs: AvPair[];
  /** MsvAvTimestamp when present (8 bytes FILETIME). */
  timestamp?: Buffer;
  version?: Buffer;
}

export function parseChallenge(buf: Buffer): ChallengeMessage {
  readHeader(buf, 2, 32);
  const flags = buf.readUInt32LE(20);
  const serverChallenge = Buffer.from(buf.subarray(24, 32));
  const targetName = decodeText(readField(buf, 12, 'TargetName'), (flags & NegotiateFlags.UNICODE) !== 0);
  let targetInfo = Buffer.alloc(0);
  let avPairs: AvPair[] = [];
  if (buf.length >= 48) {
    targetInfo = Buffer.from(readField(buf, 40, 'TargetInfo'));
    if (targetInfo.length > 0) avPairs = parseAvPairs(targetInfo);
  }
  const ts = avPairs.find((p) => p.id === AvId.Timestamp);
  if (ts && ts.value.length !== 8) bad('MsvAvTimestamp is not 8 bytes');
  const version = flags & NegotiateFlags.VERSION && buf.length >= 56 ? Buffer.from(buf.subarray(48, 56)) : undefined;
  return { flags, serverChallenge, targetName, targetInfo, avPairs, timestamp: ts?.value, version };
}

/** For tests and test servers: a CHALLENGE with UNICODE target name and TargetInfo. */
export function encodeChallenge(m: { flags: number; serverChallenge: Buffer; targetName: string; avPairs: AvPair[]; version?: Buffer }): Buffer {
  const name = Buffer.from(m.targetName, 'utf16le');
  const info = m.avPairs.length ? encodeAvPairs(m.avPairs) : Buffer.alloc(0);
  const headerLen = m.flags & NegotiateFlags.VERSION ? 56 : 48;
  const msg = Buffer.alloc(headerLen + name.length + info.length);
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(2, 8);
  writeField(msg, 12, name.length, headerLen);
  msg.writeUInt32LE(m.flags >>> 0, 20);
  m.serverChallenge.copy(msg, 24);
  writeField(msg, 40, info.length, headerLen + name.length);
  if (headerLen === 56) (m.version ?? CLIENT_VERSION).copy(msg, 48);
  name.copy(msg, headerLen);
  info.copy(msg, headerLen + name.length);
  return msg;
}

function writeField(msg: Buffer, at: number, len: number, offset: number): void {
  msg.writeUInt16LE(len, at);
  msg.writeUInt16LE(len, at + 2);
  msg.writeUInt32LE(offset, at + 4);
}

// ---- AUTHENTICATE --------------------------------------------------------------

export interface AuthenticateFields {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  version?: Buffer;
  /** Reserve the 16-byte MIC field (filled in later with `setMic`). */
  withMic: boolean;
}

export const MIC_OFFSET = 72;

/**
 * AUTHENTICATE with UNICODE strings. The payload order (domain, user, workstation,
 * LM, NT, session key) is the one of the MS-NLMP §4.2 examples.
 */
export function encodeAuthenticate(f: AuthenticateFields): Buffer {
  const unicode = (f.flags & NegotiateFlags.UNICODE) !== 0;
  const text = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1');
  const hasVersion = (f.flags & NegotiateFlags.VERSION) !== 0 || f.withMic;
  const headerLen = f.withMic ? MIC_OFFSET + 16 : hasVersion ? 72 : 64;
  const payload = [text(f.domain), text(f.user), text(f.workstation), f.lmChallengeResponse, f.ntChallengeResponse, f.encryptedRandomSessionKey];
  const msg = Buffer.alloc(headerLen + payload.reduce((n, b) => n + b.length, 0));
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(3, 8);
  // Field slots in header order: LM 12, NT 20, Domain 28, User 36, Workstation 44, Key 52.
  const slots = [28, 36, 44, 12, 20, 52];
  let offset = headerLen;
  payload.forEach((b, k) => {
    writeField(msg, slots[k], b.length, offset);
    b.copy(msg, offset);
    offset += b.length;
  });
  msg.writeUInt32LE(f.flags >>> 0, 60);
  if (hasVersion) (f.version ?? CLIENT_VERSION).copy(msg, 64);
  return msg;
}

export function setMic(authenticate: Buffer, mic: Buffer): void {
  mic.copy(authenticate, MIC_OFFSET, 0, 16);
}

export interface AuthenticateMessage {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  version?: Buffer;
  mic?: Buffer;
}

/** Parses an AUTHENTICATE (for tests and test servers). The MIC is present when the payload starts at 88 or later. */
export function parseAuthenticate(buf: Buffer): AuthenticateMessage {
  readHeader(buf, 3, 64);
  const flags = buf.readUInt32LE(60);
  const unicode = (flags & NegotiateFlags.UNICODE) !== 0;
  const fields = [12, 20, 28, 36, 44, 52];
  let firstPayload = buf.length;
  for (const at of fields) {
    if (buf.readUInt16LE(at) > 0) firstPayload = Math.min(firstPayload, buf.readUInt32LE(at + 4));
  }
  return {
    flags,
    lmChallengeResponse: readField(buf, 12, 'LmChallengeResponse'),
    ntChallengeResponse: readField(buf, 20, 'NtChallengeResponse'),
    domain: decodeText(readField(buf, 28, 'DomainName'), unicode),
    user: decodeText(readField(buf, 36, 'UserName'), unicode),
    workstation: decodeText(readField(buf, 44, 'Workstation'), unicode),
    encryptedRandomSessionKey: readField(buf, 52, 'EncryptedRandomSessionKey'),
    version: firstPayload >= 72 ? Buffer.from(buf.subarray(64, 72)) : undefined,
    mic: firstPayload >= 88 ? Buffer.from(buf.subarray(72, 88)) : undefined,
  };
}
