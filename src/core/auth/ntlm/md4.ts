// MD4 (RFC 1320). Only the NT hash needs it, but Node 20's OpenSSL 3 ships MD4
// in the legacy provider, which is not loaded by default.

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

export function md4(input: Uint8Array): Buffer {
  const bitLen = input.length * 8;
  // Message + 0x80 + zero padding to 56 mod 64, then the 64-bit little-endian bit length.
  const padded = Buffer.alloc(((input.length + 8) >>> 6 << 6) + 64);
  padded.set(input, 0);
  padded[input.length] = 0x80;
  padded.writeUInt32LE(bitLen >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(input.length / 0x20000000), padded.length - 4);

  let a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
  const x = new Int32Array(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readInt32LE(off + i * 4);
    const aa = a, bb = b, cc = c, dd = d;

    // Round 1: F(x,y,z) = (x & y) | (~x & z), shifts 3 7 11 19.
    for (let i = 0; i < 16; i += 4) {
      a = rotl((a + ((b & c) | (~b & d)) + x[i]) | 0, 3);
      d = rotl((d + ((a & b) | (~a & c)) + x[i + 1]) | 0, 7);
      c = rotl((c + ((d & a) | (~d & b)) + x[i + 2]) | 0, 11);
      b = rotl((b + ((c & d) | (~c & a)) + x[i + 3]) | 0, 19);
    }
    // Round 2: G(x,y,z) = majority, constant 0x5a827999, word order 0 4 8 12 / 1 5 9 13 ...
    for (let i = 0; i < 4; i++) {
      a = rotl((a + ((b & c) | (b & d) | (c & d)) + x[i] + 0x5a827999) | 0, 3);
      d = rotl((d + ((a & b) | (a & c) | (b & c)) + x[i + 4] + 0x5a827999) | 0, 5);
      c = rotl((c + ((d & a) | (d & b) | (a & b)) + x[i + 8] + 0x5a827999) | 0, 9);
      b = rotl((b + ((c & d) | (c & a) | (d & a)) + x[i + 12] + 0x5a827999) | 0, 13);
    }
    // Round 3: H(x,y,z) = x ^ y ^ z, constant 0x6ed9eba1, word order 0 8 4 12 / 2 10 6 14 / 1 9 5 13 / 3 11 7 15.
    const order3 = [0, 2, 1, 3];
    for (const i of order3) {
      a = rotl((a + (b ^ c ^ d) + x[i] + 0x6ed9eba1) | 0, 3);
      d = rotl((d + (a ^ b ^ c) + x[i + 8] + 0x6ed9eba1) | 0, 9);
      c = rotl((c + (d ^ a ^ b) + x[i + 4] + 0x6ed9eba1) | 0, 11);
      b = rotl((b + (c ^ d ^ a) + x[i + 12] + 0x6ed9eba1) | 0, 15);
    }
    a = (a + aa) | 0; b = (b + bb) | 0; c = (c + cc) | 0; d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  out.writeInt32LE(a, 0); out.writeInt32LE(b, 4); out.writeInt32LE(c, 8); out.writeInt32LE(d, 12);
  return out;
}
