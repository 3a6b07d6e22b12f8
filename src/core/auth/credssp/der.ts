// A small DER encoder/decoder: just what MS-CSSP and SPNEGO need (SEQUENCE,
// context tags, INTEGER, OCTET STRING, OID, ENUMERATED, BIT STRING). Decoding is
// strict about lengths so that a hostile peer cannot make us read past a buffer.
import { ProtocolError } from '../../errors';

export const Tag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  GENERAL_STRING: 0x1b,
  SEQUENCE: 0x30,
  /** [APPLICATION 0] constructed: the GSS-API InitialContextToken. */
  APPLICATION_0: 0x60,
} as const;

/** Constructed context-specific tag [n]. */
export function ctx(n: number): number {
  if (n < 0 || n > 30) throw new RangeError('context tag out of range');
  return 0xa0 | n;
}

export class DerError extends ProtocolError {
  constructor(what: string) {
    super(`Malformed DER in a CredSSP/SPNEGO message: ${what}.`, 'The peer sent a message we cannot decode; check that the endpoint speaks CredSSP and nothing alters the traffic.');
  }
}

// ---- encoding ---------------------------------------------------------------

export function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

export function sequence(...items: (Buffer | undefined)[]): Buffer {
  return tlv(Tag.SEQUENCE, Buffer.concat(items.filter((i): i is Buffer => i !== undefined)));
}

/** [n] EXPLICIT around an already encoded value. */
export function explicit(n: number, inner: Buffer): Buffer {
  return tlv(ctx(n), inner);
}

/** INTEGER in two's complement, minimal length (non-negative 32-bit values and NTSTATUS codes). */
export function integer(value: number): Buffer {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) throw new RangeError(`integer ${value} out of range`);
  const bytes: number[] = [];
  if (value >= 0) {
    let v = value;
    do {
      bytes.unshift(v & 0xff);
      v = Math.floor(v / 256);
    } while (v > 0);
    if (bytes[0] & 0x80) bytes.unshift(0);
  } else {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    let start = 0;
    while (start < 3 && b[start] === 0xff && b[start + 1] & 0x80) start++;
    bytes.push(...b.subarray(start));
  }
  return tlv(Tag.INTEGER, Buffer.from(bytes));
}

export function enumerated(value: number): Buffer {
  const i = integer(value);
  i[0] = Tag.ENUMERATED;
  return i;
}

export function octetString(value: Buffer): Buffer {
  return tlv(Tag.OCTET_STRING, value);
}

/** Dotted OID to its DER encoding. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => {
    const n = Number(p);
    if (!Number.isSafeInteger(n) || n < 0 || p === '') throw new RangeError(`bad OID ${dotted}`);
    return n;
  });
  if (parts.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const arc of parts.slice(2)) {
    const groups: number[] = [];
    let v = arc;
    do {
      groups.unshift(v % 128);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i] |= 0x80;
    out.push(...groups);
  }
  return tlv(Tag.OID, Buffer.from(out));
}

// ---- decoding ---------------------------------------------------------------

export interface Node {
  tag: number;
  /** The contents octets. */
  value: Buffer;
  /** The whole encoding (tag, length, contents). */
  raw: Buffer;
}

/** Reads one TLV at `offset`; returns it and where the next one starts. */
export function readTlv(buf: Buffer, offset = 0): { node: Node; next: number } {
  if (offset + 2 > buf.length) throw new DerError('truncated header');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let p = offset + 1;
  const first = buf[p++];
  let len: number;
  if (first < 0x80) len = first;
  else if (first === 0x80) throw new DerError('indefinite length is not DER');
  else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError('length field too large');
    if (p + n > buf.length) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    p += n;
  }
  if (len > buf.length - p) throw new DerError(`length ${len} runs past the end`);
  return { node: { tag, value: buf.subarray(p, p + len), raw: buf.subarray(offset, p + len) }, next: p + len };
}

/**
 * Total size of the first TLV in `buf` when its header is complete, else undefined.
 * Lets a stream reader know whether a whole message has arrived.
 */
export function tlvSize(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const first = buf[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new DerError('bad length field');
  if (buf.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i];
  return 2 + n + len;
}

/** Exactly one TLV filling `buf`. */
export function decodeOne(buf: Buffer, expectTag?: number): Node {
  const { node, next } = readTlv(buf, 0);
  if (next !== buf.length) throw new DerError(`${buf.length - next} trailing bytes`);
  if (expectTag !== undefined && node.tag !== expectTag) throw new DerError(`tag 0x${node.tag.toString(16)}, expected 0x${expectTag.toString(16)}`);
  return node;
}

/** The children of a constructed value. */
export function children(value: Buffer): Node[] {
  const out: Node[] = [];
  for (let p = 0; p < value.length;) {
    const { node, next } = readTlv(value, p);
    out.push(node);
    p = next;
  }
  return out;
}

/**
 * The fields of a SEQUENCE whose members are all [n] EXPLICIT, by n. Tags must
 * ascend and not repeat (DER); an unknown tag is kept so callers may ignore it.
 */
export function contextFields(seq: Node): Map<number, Node> {
  if (seq.tag !== Tag.SEQUENCE) throw new DerError(`SEQUENCE expected, got tag 0x${seq.tag.toString(16)}`);
  const fields = new Map<number, Node>();
  let last = -1;
  for (const c of children(seq.value)) {
    if ((c.tag & 0xe0) !== 0xa0) throw new DerError(`context tag expected, got 0x${c.tag.toString(16)}`);
    const n = c.tag & 0x1f;
    if (n <= last) throw new DerError(`field [${n}] out of order`);
    last = n;
    fields.set(n, decodeOne(c.value));
  }
  return fields;
}

export function readInteger(node: Node): number {
  if (node.tag !== Tag.INTEGER && node.tag !== Tag.ENUMERATED) throw new DerError(`INTEGER expected, got tag 0x${node.tag.toString(16)}`);
  const v = node.value;
  if (v.length === 0) throw new DerError('empty INTEGER');
  if (v.length > 5 || (v.length === 5 && v[0] !== 0)) throw new DerError('INTEGER too large');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return v[0] & 0x80 ? n - 256 ** v.length : n; // two's complement
}

export function readOctetString(node: Node): Buffer {
  if (node.tag !== Tag.OCTET_STRING) throw new DerError(`OCTET STRING expected, got tag 0x${node.tag.toString(16)}`);
  return node.value;
}

export function readOid(node: Node): string {
  if (node.tag !== Tag.OID) throw new DerError(`OID expected, got tag 0x${node.tag.toString(16)}`);
  const v = node.value;
  if (v.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    acc = acc * 128 + (v[i] & 0x7f);
    if (!(v[i] & 0x80)) {
      arcs.push(acc);
      acc = 0;
    } else if (i === v.length - 1) throw new DerError('OID ends inside an arc');
  }
  const first = arcs.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...arcs].join('.');
}
