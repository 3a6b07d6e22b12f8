// RC4 (ARCFOUR). NTLM sealing keeps one keystream per direction for the life of
// the connection; Node 20's OpenSSL 3 has RC4 only in the unloaded legacy provider.
// Output of hundreds of MB goes through this, so the loop is kept tight.

export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError('RC4 key must be 1..256 bytes');
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const t = s[k];
      j = (j + t + key[k % key.length]) & 0xff;
      s[k] = s[j];
      s[j] = t;
    }
  }

  /** XOR `input` with the next keystream bytes into `output` (may be `input` itself). */
  update(input: Uint8Array, output: Uint8Array = Buffer.allocUnsafe(input.length)): Uint8Array {
    if (output.length < input.length) throw new RangeError('RC4 output buffer too small');
    const s = this.s;
    let i = this.i, j = this.j;
    const n = input.length;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff;
      const si = s[i];
      j = (j + si) & 0xff;
      const sj = s[j];
      s[i] = sj;
      s[j] = si;
      output[k] = input[k] ^ s[(si + sj) & 0xff];
    }
    this.i = i;
    this.j = j;
    return output;
  }
}

/** One-shot RC4 with a fresh key (MS-NLMP's RC4K). */
export function rc4k(key: Uint8Array, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  new Rc4(key).update(data, out);
  return out;
}
