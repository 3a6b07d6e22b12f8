// WinRM message encryption framing (MS-WSMV §2.2.9.1), generic over the scheme
// that seals the bytes: NTLM/SPNEGO here, CredSSP (TLS records) later.
//
//   --Encrypted Boundary\r\n
//   \tContent-Type: <protocol>\r\n
//   \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext bytes>\r\n
//   --Encrypted Boundary\r\n
//   \tContent-Type: application/octet-stream\r\n
//   <uint32-LE header length><header><encrypted data>
//   --Encrypted Boundary--\r\n
//
// A multi-part body (`multipart/x-multi-encrypted`) repeats the two parts per chunk.
import { AuthError, ProtocolError } from '../errors';
import { SOAP_CONTENT_TYPE, type HttpReply } from './types';

export const BOUNDARY = 'Encrypted Boundary';

/** What a scheme provides to the framing. */
export interface MessageSealer {
  /** The protocol string, e.g. `application/HTTP-SPNEGO-session-encrypted`. */
  readonly protocol: string;
  /**
   * Encrypts one message. `token` is the header (signature or TLS trailer) plus the
   * encrypted bytes in the order they go on the wire; `headerLength` is the number
   * written before it (16 for NTLM; the TLS trailer length for CredSSP).
   */
  seal(plain: Buffer): { headerLength: number; token: Buffer };
  /** Decrypts and verifies one token; throws on a bad signature. */
  unseal(token: Buffer, headerLength: number): Buffer;
  /** Bodies larger than this go as `multipart/x-multi-encrypted` in parts of this size (CredSSP: 16384). */
  readonly maxPartSize?: number;
  /**
   * Size of the token after its header for a plaintext of `n` bytes, when the scheme
   * knows it (NTLM: n). The parser then takes exactly that many bytes instead of
   * searching for the next boundary inside binary data.
   */
  encryptedLength?(n: number): number;
}

export function encryptedContentType(protocol: string, multi = false): string {
  return `multipart/${multi ? 'x-multi-encrypted' : 'encrypted'};protocol="${protocol}";boundary="${BOUNDARY}"`;
}

/** One encrypted part as it sits in the framing. */
export interface EncryptedPart {
  /** The OriginalContent Length: bytes of plaintext this part decrypts to. */
  plainLength: number;
  /** The uint32 written before the token (signature length for NTLM). */
  headerLength: number;
  /** Header plus encrypted bytes. */
  token: Buffer;
}

/** Writes parts into the multipart framing (for callers whose sealing is asynchronous, e.g. a test server). */
export function frameEncrypted(protocol: string, parts: EncryptedPart[], multi = parts.length > 1, originalType = SOAP_CONTENT_TYPE): { body: Buffer; contentType: string } {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    pieces.push(Buffer.from(
      `--${BOUNDARY}\r\n\tContent-Type: ${protocol}\r\n\tOriginalContent: type=${originalType};Length=${part.plainLength}\r\n` +
      `--${BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n`, 'latin1'));
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(part.headerLength);
    pieces.push(len, part.token);
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`, 'latin1'));
  return { body: Buffer.concat(pieces), contentType: encryptedContentType(protocol, multi) };
}

/** Seals a SOAP body into the multipart framing; returns the body and its Content-Type. */
export function encodeEncrypted(sealer: MessageSealer, plain: Buffer, originalType = SOAP_CONTENT_TYPE): { body: Buffer; contentType: string } {
  const max = sealer.maxPartSize;
  const multi = max !== undefined && plain.length > max;
  const chunks: Buffer[] = [];
  if (multi) for (let p = 0; p < plain.length; p += max) chunks.push(plain.subarray(p, p + max));
  else chunks.push(plain);
  const parts = chunks.map((chunk) => ({ plainLength: chunk.length, ...sealer.seal(chunk) }));
  return frameEncrypted(sealer.protocol, parts, multi, originalType);
}

/** Parameters of a Content-Type header: its media type (lower case) and protocol / boundary values. */
export function parseContentType(value: string | string[] | undefined): { type: string; protocol?: string; boundary?: string } {
  const v = Array.isArray(value) ? value[0] ?? '' : value ?? '';
  const [type, ...params] = v.split(';');
  const out: { type: string; protocol?: string; boundary?: string } = { type: type.trim().toLowerCase() };
  for (const p of params) {
    const m = /^\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|(\S*))\s*$/.exec(p);
    if (!m) continue;
    const name = m[1].toLowerCase();
    if (name === 'protocol') out.protocol = m[2] ?? m[3];
    else if (name === 'boundary') out.boundary = m[2] ?? m[3];
  }
  return out;
}

export function isEncryptedContentType(value: string | string[] | undefined): boolean {
  const t = parseContentType(value).type;
  return t === 'multipart/encrypted' || t === 'multipart/x-multi-encrypted';
}

const MAX_HEADER_LINE = 1024;

function framingError(what: string): never {
  throw new ProtocolError(`Malformed encrypted WinRM message: ${what}.`, 'The host sent an encrypted reply we cannot read. Check that nothing between us and the host (a proxy) alters the body.');
}

/**
 * Splits an encrypted body into its parts without decrypting them. Lenient about
 * what real servers write (`-- Encrypted Boundary` from Exchange, a missing final
 * `--`, CRLF before a boundary); nothing is read past the buffer.
 * `encryptedLength` (see MessageSealer) lets the parser take an exact token size.
 */
export function parseEncrypted(body: Buffer, protocol: string, encryptedLength?: (n: number) => number, options: { allowUnclosedSinglePart?: boolean } = {}): EncryptedPart[] {
  const dashes = Buffer.from(`--${BOUNDARY}`, 'latin1');
  const spaced = Buffer.from(`-- ${BOUNDARY}`, 'latin1');
  const parts: EncryptedPart[] = [];
  let p = 0;

  /**
   * Consumes a boundary line at p; returns true when it is the closing one. A body that
   * ends without the closing boundary may have been cut between two parts, which would let
   * the parts before the cut pass as the whole message, so it is refused. Old pywinrm
   * clients end a one-part request that way: a server may allow it for one part.
   */
  const boundary = (): boolean => {
    while (p + 1 < body.length && body[p] === 0x0d && body[p + 1] === 0x0a) p += 2;
    let marker: Buffer | undefined;
    if (startsWith(body, p, dashes)) marker = dashes;
    else if (startsWith(body, p, spaced)) marker = spaced;
    if (!marker) framingError(`boundary expected at byte ${p}`);
    p += marker.length;
    if (p + 1 < body.length && body[p] === 0x2d && body[p + 1] === 0x2d) {
      p += 2;
      return true;
    }
    if (p + 1 < body.length && body[p] === 0x0d && body[p + 1] === 0x0a) p += 2;
    else if (p < body.length) framingError('boundary line not terminated');
    if (p < body.length) return false;
    if (!(options.allowUnclosedSinglePart && parts.length === 1)) framingError('the body ends without its closing boundary');
    return true;
  };

  /** Reads `\tName: value\r\n` lines; at most `limit` of them. */
  const headers = (limit: number): Map<string, string> => {
    const found = new Map<string, string>();
    for (let n = 0; n < limit && p < body.length && (body[p] === 0x09 || body[p] === 0x20); n++) {
      const end = body.indexOf('\r\n', p, 'latin1');
      if (end < 0 || end - p > MAX_HEADER_LINE) framingError('header line not terminated');
      const line = body.toString('latin1', p, end).trim();
      const colon = line.indexOf(':');
      if (colon <= 0) framingError(`bad header line "${line.slice(0, 80)}"`);
      found.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      p = end + 2;
    }
    return found;
  };

  if (boundary()) framingError('no parts');
  for (;;) {
    const meta = headers(8);
    const type = meta.get('content-type');
    if (!type || type.toLowerCase() !== protocol.toLowerCase()) framingError(`part protocol ${JSON.stringify(type ?? null)}, expected ${protocol}`);
    const m = /(?:^|;)\s*Length\s*=\s*(\d+)\s*(?:;|$)/i.exec(meta.get('originalcontent') ?? '');
    if (!m) framingError('no OriginalContent Length');
    const plainLength = Number(m[1]);
    if (boundary()) framingError('encrypted part missing');
    // Exactly one header line (`Content-Type: application/octet-stream`): binary follows,
    // and its first byte could look like whitespace.
    headers(1);
    if (body.length - p < 4) framingError('truncated before the header length');
    const headerLength = body.readUInt32LE(p);
    p += 4;
    if (headerLength > body.length - p) framingError('header length runs past the body');
    const tokenStart = p;
    let tokenEnd: number;
    if (encryptedLength) {
      const n = encryptedLength(plainLength);
      if (n > body.length - p - headerLength) framingError(`truncated: Length=${plainLength} declared, ${body.length - p - headerLength} bytes present`);
      tokenEnd = p + headerLength + n;
      if (!startsWithBoundary(body, tokenEnd, dashes, spaced)) framingError('declared Length does not match the encrypted data');
    } else {
      const a = body.indexOf(dashes, p + headerLength);
      const b = body.indexOf(spaced, p + headerLength);
      tokenEnd = a < 0 ? b : b < 0 ? a : Math.min(a, b);
      if (tokenEnd < 0) framingError('closing boundary missing');
    }
    parts.push({ plainLength, headerLength, token: body.subarray(tokenStart, tokenEnd) });
    p = tokenEnd;
    if (boundary()) break;
  }
  return parts;
}

/**
 * Parses and decrypts an encrypted body: every part must verify and decrypt to
 * exactly its declared Length.
 */
export function decodeEncrypted(sealer: MessageSealer, body: Buffer): Buffer {
  const out: Buffer[] = [];
  for (const part of parseEncrypted(body, sealer.protocol, sealer.encryptedLength)) {
    const plain = sealer.unseal(part.token, part.headerLength);
    checkLength(plain, part);
    out.push(plain);
  }
  return out.length === 1 ? out[0] : Buffer.concat(out);
}

/** Throws when a decrypted part's size differs from its OriginalContent Length. */
export function checkLength(plain: Buffer, part: EncryptedPart): void {
  if (plain.length !== part.plainLength) framingError(`decrypted ${plain.length} bytes but Length=${part.plainLength}`);
}

function startsWith(buf: Buffer, at: number, what: Buffer): boolean {
  return at >= 0 && at + what.length <= buf.length && buf.compare(what, 0, what.length, at, at + what.length) === 0;
}

function startsWithBoundary(buf: Buffer, at: number, a: Buffer, b: Buffer): boolean {
  const q = startsWith(buf, at, Buffer.from('\r\n')) ? at + 2 : at;
  return startsWith(buf, q, a) || startsWith(buf, q, b);
}

export interface SealedSessionState {
  /** Shown in messages: "NTLM", "CredSSP". */
  scheme: string;
  /** The protocol our sealer writes, e.g. application/HTTP-SPNEGO-session-encrypted. */
  protocol: string;
  sealer: MessageSealer;
  encrypted: boolean;
  tls: boolean;
  mode: 'auto' | 'always' | 'never';
}

/**
 * A reply on a connection authenticated by a connection-oriented scheme (NTLM,
 * CredSSP): explain a 401 after logon, unseal an encrypted body, and refuse
 * plain or foreign-sealed replies where they could be forged.
 */
export function unwrapSessionReply(reply: HttpReply, state: SealedSessionState): Buffer {
  const { scheme, protocol } = state;
  if (reply.status === 401) {
    if (state.encrypted) {
      throw new AuthError('encryption-refused', `The host rejected our ${scheme}-encrypted request after a successful logon.`, 'The host could not read WinRM message encryption. Use HTTPS, or check proxies that rewrite the body.');
    }
    if (!state.tls) {
      throw new AuthError('encryption-required', `The host refuses unencrypted traffic (AllowUnencrypted=false): it rejected a plain request after a successful ${scheme} logon.`, 'Set encryption to "auto" or "always" for this host, or use HTTPS.');
    }
    throw new AuthError('unknown', `The host rejected a request after a successful ${scheme} logon (HTTP 401).`, "The logon session may have been revoked; retry, and check the host's security log.");
  }
  const contentType = reply.headers['content-type'];
  if (isEncryptedContentType(contentType)) {
    const theirs = parseContentType(contentType).protocol;
    if (!state.encrypted) throw new ProtocolError('The host sent an encrypted reply on a connection without message encryption.');
    if (theirs && theirs.toLowerCase() !== protocol.toLowerCase()) throw new ProtocolError(`The host encrypted its reply with ${theirs}, not ${protocol}.`);
    return decodeEncrypted(state.sealer, reply.body);
  }
  if (state.encrypted && (reply.status === 400 || reply.status === 415)) {
    // HTTP-level refusal of a sealed body (a SOAP fault would come sealed, as a 500).
    throw new AuthError('encryption-refused', `The host refused our encrypted request (HTTP ${reply.status}).`, 'The host does not accept WinRM message encryption. Use HTTPS, or set encryption to "never" if the host allows unencrypted traffic (AllowUnencrypted=true).');
  }
  if (state.encrypted && reply.body.length > 0 && state.mode === 'always' && /soap\+xml/i.test(String(contentType ?? ''))) {
    // Windows seals every SOAP reply, faults included; a plain one could be forged.
    throw new AuthError('encryption-refused', `The host answered in plain text (HTTP ${reply.status}) although encryption is set to "always".`, 'The host does not encrypt its replies. Use HTTPS, or set encryption to "auto" (accepts plain replies, as OMI sends).');
  }
  return reply.body;
}
