// Code pages. A Windows shell writes its output in the shell's code page
// (WINRS_CODEPAGE: 437 by default on en-US hosts, 65001 for UTF-8). Our children
// write UTF-8 (pwsh, winrm-test) or Windows-1252 (wine's cmd in a C.UTF-8 locale), so
// the host converts each output stream to the shell's code page on the way out, and
// stdin from the shell's code page to the child's charset on the way in.
import { isAscii } from 'node:buffer';
import * as iconv from 'iconv-lite';

/** iconv-lite name for a Windows code page number; undefined when unsupported. */
export function charsetOfCodePage(cp: number): string | undefined {
  if (cp === 65001) return 'utf8';
  if (cp === 1200) return 'utf16le';
  for (const name of [`cp${cp}`, `windows-${cp}`]) if (iconv.encodingExists(name)) return name;
  return undefined;
}

function normalize(charset: string): string {
  const c = charset.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (c === 'utf8' || c === 'cp65001') return 'utf8';
  if (c === 'windows1252') return 'cp1252';
  return c;
}

/** Charsets where every ASCII byte stands for the same ASCII character (so ASCII can pass through). */
function asciiCompatible(charset: string): boolean {
  return !/^utf(16|32)|^ucs2/.test(normalize(charset));
}

/**
 * Streaming conversion between charsets. A UTF-8 character split across two chunks is
 * held back until its last byte arrives, so nothing is lost or doubled at chunk edges.
 */
export class Transcoder {
  private readonly identity: boolean;
  private readonly fast: boolean;
  private readonly decoder: iconv.DecoderStream | undefined;
  private carry = Buffer.alloc(0);

  constructor(readonly from: string, readonly to: string) {
    this.identity = normalize(from) === normalize(to);
    this.fast = asciiCompatible(from) && asciiCompatible(to);
    this.decoder = this.identity || normalize(from) === 'utf8' ? undefined : iconv.getDecoder(from);
  }

  push(chunk: Buffer): Buffer {
    if (this.identity || chunk.length === 0) return chunk;
    if (normalize(this.from) === 'utf8') {
      const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
      const cut = completeUtf8Length(data);
      this.carry = Buffer.from(data.subarray(cut));
      const whole = data.subarray(0, cut);
      if (this.fast && isAscii(whole)) return Buffer.from(whole);
      return iconv.encode(whole.toString('utf8'), this.to);
    }
    if (this.fast && isAscii(chunk)) return chunk;
    return iconv.encode(this.decoder!.write(chunk), this.to);
  }

  /** End of the stream: whatever is held back (an incomplete character becomes U+FFFD). */
  flush(): Buffer {
    if (this.identity) return Buffer.alloc(0);
    if (this.carry.length) {
      const rest = this.carry.toString('utf8');
      this.carry = Buffer.alloc(0);
      return iconv.encode(rest, this.to);
    }
    const tail = this.decoder?.end();
    return tail ? iconv.encode(tail, this.to) : Buffer.alloc(0);
  }
}

/** Length of the longest prefix that does not end inside a UTF-8 sequence. */
export function completeUtf8Length(buf: Buffer): number {
  const n = buf.length;
  // Look back at most 3 bytes for the lead byte of the last sequence.
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + need <= n ? n : i;
  }
  return n;
}
