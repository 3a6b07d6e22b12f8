// Channel binding for NTLM over HTTPS (Extended Protection for Authentication):
// RFC 5929 `tls-server-end-point` application data inside a gss_channel_bindings
// struct, whose MD5 goes into the AUTHENTICATE's MsvAvChannelBindings.
import { createHash } from 'node:crypto';
import { md5 } from './crypto';

interface Der {
  tag: number;
  /** Start of the contents. */
  start: number;
  /** End of the contents (exclusive). */
  end: number;
}

function readDer(buf: Buffer, at: number, limit: number): Der {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = buf[at];
  let len = buf[at + 1];
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + buf[p + k];
    p += n;
  }
  if (p + len > limit) throw new Error('DER value runs past its container');
  return { tag, start: p, end: p + len };
}

function oidString(buf: Buffer, d: Der): string {
  const parts: number[] = [];
  let v = 0;
  for (let p = d.start; p < d.end; p++) {
    v = v * 128 + (buf[p] & 0x7f);
    if (!(buf[p] & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The OID of the certificate's signatureAlgorithm, and for RSASSA-PSS the OID of its hash. */
export function certificateSignatureAlgorithm(der: Buffer): { oid: string; pssHash?: string } {
  const cert = readDer(der, 0, der.length);
  const tbs = readDer(der, cert.start, cert.end);
  const alg = readDer(der, tbs.end, cert.end);
  const oid = readDer(der, alg.start, alg.end);
  if (cert.tag !== 0x30 || tbs.tag !== 0x30 || alg.tag !== 0x30 || oid.tag !== 0x06) throw new Error('not an X.509 certificate');
  const name = oidString(der, oid);
  if (name !== '1.2.840.113549.1.1.10' || oid.end >= alg.end) return { oid: name };
  // RSASSA-PSS-params: SEQUENCE { [0] hashAlgorithm AlgorithmIdentifier DEFAULT sha1, ... }
  const params = readDer(der, oid.end, alg.end);
  if (params.tag === 0x30 && params.start < params.end) {
    const first = readDer(der, params.start, params.end);
    if (first.tag === 0xa0) {
      const hashAlg = readDer(der, first.start, first.end);
      const hashOid = readDer(der, hashAlg.start, hashAlg.end);
      if (hashOid.tag === 0x06) return { oid: name, pssHash: oidString(der, hashOid) };
    }
  }
  return { oid: name };
}

const SHA384_OIDS = new Set(['1.2.840.113549.1.1.12', '1.2.840.10045.4.3.3', '2.16.840.1.101.3.4.2.2']);
const SHA512_OIDS = new Set(['1.2.840.113549.1.1.13', '1.2.840.10045.4.3.4', '2.16.840.1.101.3.4.2.3']);

/**
 * RFC 5929 §4.1: hash the DER certificate with its signature's hash function,
 * except that MD5 and SHA-1 (and anything unknown) are replaced by SHA-256.
 */
export function tlsServerEndPointHash(der: Buffer): Buffer {
  let algorithm = 'sha256';
  try {
    const { oid, pssHash } = certificateSignatureAlgorithm(der);
    const h = pssHash ?? oid;
    if (SHA384_OIDS.has(h)) algorithm = 'sha384';
    else if (SHA512_OIDS.has(h)) algorithm = 'sha512';
  } catch {
    // An unparsable certificate still gets a binding; the host will judge it.
  }
  return createHash(algorithm).update(der).digest();
}

/**
 * gss_channel_bindings_struct as NTLM hashes it: initiator and acceptor address
 * types and addresses (all empty), then the application data, each length-prefixed.
 */
export function gssChannelBindings(applicationData: Buffer): Buffer {
  const out = Buffer.alloc(20 + applicationData.length);
  out.writeUInt32LE(applicationData.length, 16);
  applicationData.copy(out, 20);
  return out;
}

export function tlsServerEndPointData(der: Buffer): Buffer {
  return Buffer.concat([Buffer.from('tls-server-end-point:', 'latin1'), tlsServerEndPointHash(der)]);
}

/** The 16-byte MsvAvChannelBindings value for a server certificate. */
export function channelBindingHash(der: Buffer): Buffer {
  return md5(gssChannelBindings(tlsServerEndPointData(der)));
}
