// The public-key binding of MS-CSSP 3.1.5: it ties the inner authentication to
// the TLS server key, so a man in the middle with its own certificate cannot
// relay the exchange (CVE-2018-0886 fixed the older scheme with versions 5/6).
import { createHash, X509Certificate } from 'node:crypto';
import { children, decodeOne, DerError, Tag } from './der';

export const CLIENT_TO_SERVER = 'CredSSP Client-To-Server Binding Hash\0';
export const SERVER_TO_CLIENT = 'CredSSP Server-To-Client Binding Hash\0';

/**
 * The subjectPublicKey of a DER certificate: the BIT STRING contents without its
 * unused-bits octet (for RSA, the DER RSAPublicKey).
 */
export function subjectPublicKey(certDer: Buffer): Buffer {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return subjectPublicKeyFromSpki(spki);
}

export function subjectPublicKeyFromSpki(spki: Buffer): Buffer {
  const [, bits] = children(decodeOne(spki, Tag.SEQUENCE).value);
  if (!bits || bits.tag !== Tag.BIT_STRING || bits.value.length < 1) throw new DerError('SubjectPublicKeyInfo without a BIT STRING');
  if (bits.value[0] !== 0) throw new DerError('public key BIT STRING has unused bits');
  return bits.value.subarray(1);
}

/** What the client wraps into pubKeyAuth (direction 'client') and what it expects back ('server'). */
export function pubKeyAuthValue(version: number, direction: 'client' | 'server', publicKey: Buffer, nonce?: Buffer): Buffer {
  if (version >= 5) {
    if (!nonce || nonce.length !== 32) throw new Error('CredSSP 5+ needs a 32-byte client nonce');
    return createHash('sha256').update(direction === 'client' ? CLIENT_TO_SERVER : SERVER_TO_CLIENT, 'latin1').update(nonce).update(publicKey).digest();
  }
  // Versions 2-4: the key itself; the server answers with its first byte incremented.
  if (direction === 'client') return Buffer.from(publicKey);
  const out = Buffer.from(publicKey);
  out[0] = (out[0] + 1) & 0xff;
  return out;
}
