// MS-CSSP 2.2.1 messages in DER:
//
//   TSRequest ::= SEQUENCE {
//     version [0] INTEGER, negoTokens [1] NegoData OPTIONAL, authInfo [2] OCTET STRING OPTIONAL,
//     pubKeyAuth [3] OCTET STRING OPTIONAL, errorCode [4] INTEGER OPTIONAL, clientNonce [5] OCTET STRING OPTIONAL }
//   NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
//   TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
//   TSPasswordCreds ::= SEQUENCE { domainName [0] OCTET STRING, userName [1] OCTET STRING, password [2] OCTET STRING }
import {
  children,
  contextFields,
  decodeOne,
  DerError,
  explicit,
  integer,
  octetString,
  readInteger,
  readOctetString,
  sequence,
  Tag,
} from './der';

export interface TsRequest {
  version: number;
  negoTokens?: Buffer[];
  authInfo?: Buffer;
  pubKeyAuth?: Buffer;
  /** NTSTATUS / HRESULT as an unsigned 32-bit number. */
  errorCode?: number;
  clientNonce?: Buffer;
}

export function encodeNegoData(tokens: Buffer[]): Buffer {
  return sequence(...tokens.map((t) => sequence(explicit(0, octetString(t)))));
}

export function decodeNegoData(der: Buffer): Buffer[] {
  const seq = decodeOne(der, Tag.SEQUENCE);
  return children(seq.value).map((item) => {
    const f = contextFields(item);
    const token = f.get(0);
    if (!token) throw new DerError('NegoData item without negoToken');
    return readOctetString(token);
  });
}

export function encodeTsRequest(r: TsRequest): Buffer {
  return sequence(
    explicit(0, integer(r.version)),
    r.negoTokens && r.negoTokens.length ? explicit(1, encodeNegoData(r.negoTokens)) : undefined,
    r.authInfo ? explicit(2, octetString(r.authInfo)) : undefined,
    r.pubKeyAuth ? explicit(3, octetString(r.pubKeyAuth)) : undefined,
    // Written as the signed 32-bit value, e.g. SEC_E_LOGON_DENIED 0x8009030C -> 02 04 80 09 03 0C.
    r.errorCode !== undefined ? explicit(4, integer(r.errorCode | 0)) : undefined,
    r.clientNonce ? explicit(5, octetString(r.clientNonce)) : undefined,
  );
}

export function decodeTsRequest(der: Buffer): TsRequest {
  const f = contextFields(decodeOne(der, Tag.SEQUENCE));
  const version = f.get(0);
  if (!version) throw new DerError('TSRequest without version');
  const out: TsRequest = { version: readInteger(version) };
  const nego = f.get(1);
  if (nego) out.negoTokens = decodeNegoData(nego.raw);
  const authInfo = f.get(2);
  if (authInfo) out.authInfo = readOctetString(authInfo);
  const pubKeyAuth = f.get(3);
  if (pubKeyAuth) out.pubKeyAuth = readOctetString(pubKeyAuth);
  const errorCode = f.get(4);
  // Either signedness may be on the wire; callers compare unsigned values.
  if (errorCode) out.errorCode = readInteger(errorCode) >>> 0;
  const nonce = f.get(5);
  if (nonce) out.clientNonce = readOctetString(nonce);
  return out;
}

export interface PasswordCreds {
  domain: string;
  user: string;
  password: string;
}

/** credType 1: TSPasswordCreds, strings in UTF-16LE. */
export const CRED_TYPE_PASSWORD = 1;

export function encodeTsPasswordCreds(c: PasswordCreds): Buffer {
  return sequence(
    explicit(0, octetString(Buffer.from(c.domain, 'utf16le'))),
    explicit(1, octetString(Buffer.from(c.user, 'utf16le'))),
    explicit(2, octetString(Buffer.from(c.password, 'utf16le'))),
  );
}

export function decodeTsPasswordCreds(der: Buffer): PasswordCreds {
  const f = contextFields(decodeOne(der, Tag.SEQUENCE));
  const text = (n: number, name: string): string => {
    const node = f.get(n);
    if (!node) throw new DerError(`TSPasswordCreds without ${name}`);
    const bytes = readOctetString(node);
    if (bytes.length % 2) throw new DerError(`TSPasswordCreds ${name} is not UTF-16`);
    return bytes.toString('utf16le');
  };
  return { domain: text(0, 'domainName'), user: text(1, 'userName'), password: text(2, 'password') };
}

export function encodeTsCredentials(credType: number, credentials: Buffer): Buffer {
  return sequence(explicit(0, integer(credType)), explicit(1, octetString(credentials)));
}

export function decodeTsCredentials(der: Buffer): { credType: number; credentials: Buffer } {
  const f = contextFields(decodeOne(der, Tag.SEQUENCE));
  const type = f.get(0);
  const creds = f.get(1);
  if (!type || !creds) throw new DerError('TSCredentials without credType or credentials');
  return { credType: readInteger(type), credentials: readOctetString(creds) };
}

/** TSCredentials holding TSPasswordCreds: what `authInfo` carries (before wrapping). */
export function encodePasswordCredentials(c: PasswordCreds): Buffer {
  return encodeTsCredentials(CRED_TYPE_PASSWORD, encodeTsPasswordCreds(c));
}

export function decodePasswordCredentials(der: Buffer): PasswordCreds {
  const { credType, credentials } = decodeTsCredentials(der);
  if (credType !== CRED_TYPE_PASSWORD) throw new DerError(`credType ${credType}, expected ${CRED_TYPE_PASSWORD} (password)`);
  return decodeTsPasswordCreds(credentials);
}
