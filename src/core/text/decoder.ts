// Streaming decoders for WinRS output streams. Output arrives as raw bytes in the
// shell's code page, cut into Receive chunks at arbitrary byte offsets, so each
// stream needs its own stateful decoder that carries partial characters over.
import { isAscii } from 'node:buffer';
import * as iconv from 'iconv-lite';
import { ConfigError } from '../errors';

export interface StreamDecoder {
  /** Decodes one chunk; bytes of an unfinished character are kept for the next call. */
  write(bytes: Buffer): string;
  /** Flushes what is left (an unfinished character becomes U+FFFD). */
  end(): string;
}

/** Windows code pages whose iconv-lite name is not simply `cp<N>`. */
const CODEPAGE_ALIASES: Record<number, string> = {
  1200: 'utf16le',
  1201: 'utf16be',
  12000: 'utf32le',
  12001: 'utf32be',
  20127: 'ascii',
  54936: 'gb18030',
  65000: 'utf7',
  10000: 'macintosh',
};

export const UTF8_CODEPAGE = 65001;
export const OEM_US_CODEPAGE = 437;

/** The iconv-lite encoding name for a Windows code page, or undefined if we cannot decode it. */
export function encodingForCodepage(codepage: number): string | undefined {
  if (codepage === UTF8_CODEPAGE) return 'utf8';
  const alias = CODEPAGE_ALIASES[codepage];
  if (alias) return alias;
  const name = `cp${codepage}`;
  return iconv.encodingExists(name) ? name : undefined;
}

export function isSupportedCodepage(codepage: number): boolean {
  return Number.isInteger(codepage) && encodingForCodepage(codepage) !== undefined;
}

export function createStreamDecoder(codepage: number): StreamDecoder {
  if (!Number.isInteger(codepage) || codepage <= 0) {
    throw new ConfigError(`Code page ${String(codepage)} is not a valid Windows code page number.`, codepageHint);
  }
  if (codepage === UTF8_CODEPAGE) {
    // TextDecoder's native streaming mode keeps split multi-byte sequences internally.
    const decoder = new TextDecoder('utf-8', { fatal: false });
    return {
      write: (bytes) => (bytes.length === 0 ? '' : decoder.decode(bytes, { stream: true })),
      end: () => decoder.decode(),
    };
  }
  const encoding = encodingForCodepage(codepage);
  if (!encoding) {
    throw new ConfigError(`Code page ${codepage} is not supported.`, codepageHint);
  }
  const decoder = iconv.getDecoder(encoding);
  // OEM and ANSI code pages decode byte by byte in JS and build a UTF-16 string; an
  // all-ASCII chunk (most output) decodes the same as Latin-1, which is a copy.
  const ascii = isAsciiTransparentSingleByte(encoding);
  return {
    write: (bytes) => (bytes.length === 0 ? '' : ascii && isAscii(bytes) ? bytes.toString('latin1') : decoder.write(bytes)),
    end: () => decoder.end() ?? '',
  };
}

const asciiTransparent = new Map<string, boolean>();

/**
 * True when the code page maps 0x00-0x7F to ASCII and every byte is one character on
 * its own (a single-byte code page: its decoder keeps no state between chunks).
 */
function isAsciiTransparentSingleByte(encoding: string): boolean {
  let known = asciiTransparent.get(encoding);
  if (known === undefined) {
    const low = Buffer.alloc(128);
    for (let i = 0; i < 128; i++) low[i] = i;
    known = iconv.decode(low, encoding) === low.toString('latin1');
    for (let b = 0x80; known && b <= 0xff; b++) known = iconv.getDecoder(encoding).write(Buffer.of(b)).length === 1;
    asciiTransparent.set(encoding, known);
  }
  return known;
}

const codepageHint =
  'Use a Windows code page number such as 65001 (UTF-8), 437 or 850 (OEM), 1250/1251/1252 (ANSI); ' +
  'running `chcp` on the host shows its console code page.';

/** Decodes a whole buffer at once (for small, complete texts). */
export function decodeAll(codepage: number, bytes: Buffer): string {
  const decoder = createStreamDecoder(codepage);
  return decoder.write(bytes) + decoder.end();
}

/** Encodes text into a code page (used to check what survives a non-UTF-8 console). */
export function encodeForCodepage(codepage: number, text: string): Buffer {
  const encoding = encodingForCodepage(codepage);
  if (!encoding) throw new ConfigError(`Code page ${codepage} is not supported.`, codepageHint);
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  return iconv.encode(text, encoding);
}
