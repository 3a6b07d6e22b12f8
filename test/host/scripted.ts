// Deterministic commands for protocol tests, run by the host as a real child process
// (out/test/host/winrm-test/main.js) so pipes, backpressure and kills are real.
//
//   winrm-test emit --stdout N [--stderr M] [--chunk K] [--delay-ms D] [--exit C]
//       Writes exactly N bytes to stdout and M to stderr, K bytes per write (default
//       65536), alternating streams, D ms between writes. Bytes follow patternByte():
//       printable ASCII with CRLF every 64 bytes, so any code page leaves them intact.
//   winrm-test exit C [--stdout TEXT] [--stderr TEXT]
//       Prints the texts (if any) and exits with status C.
//   winrm-test hang
//       Prints "hanging <pid>\r\n" and waits until it is killed or signalled.
//   winrm-test echo-stdin
//       Copies stdin to stdout until stdin ends, then exits 0.
//   winrm-test lines --count N [--interval-ms D] [--text T] [--stderr]
//       Prints "T i\r\n" for i = 1..N, one line every D ms.
//   winrm-test unicode
//       Prints UNICODE_TEXT (UTF-8) in UNICODE_PIECES: the writes split multi-byte
//       characters, 50 ms apart, so the pieces reach the host as separate reads.
//   winrm-test env [NAME...]
//       Prints NAME=value\r\n for each name (all variables, sorted, when none given).
//   winrm-test pwd
//       Prints the working directory (the Linux path) and \r\n.

export const PATTERN_LINE = 64;

/** Byte `i` of the emit pattern for a stream: 62 printable characters then CR LF. */
export function patternByte(stream: 'stdout' | 'stderr', i: number): number {
  const k = i % PATTERN_LINE;
  if (k === PATTERN_LINE - 2) return 0x0d;
  if (k === PATTERN_LINE - 1) return 0x0a;
  // Both alphabets have 36 characters, so the pattern repeats every 64 * 36 bytes.
  const alphabet = stream === 'stdout' ? 'abcdefghijklmnopqrstuvwxyz0123456789' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const line = Math.floor(i / PATTERN_LINE);
  return alphabet.charCodeAt((k + line) % alphabet.length);
}

/** `length` bytes of the pattern starting at `offset` (for checks in tests). */
export function patternBytes(stream: 'stdout' | 'stderr', offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = patternByte(stream, offset + i);
  return b;
}

export const UNICODE_TEXT = 'héllo wörld – € 😀 日本\r\n';

/** UNICODE_TEXT as UTF-8, cut inside é, ö, –, €, 😀 and 日. */
export function unicodePieces(): Buffer[] {
  const all = Buffer.from(UNICODE_TEXT, 'utf8');
  const cuts = [2, 9, 15, 20, 24, 28, all.length];
  const pieces: Buffer[] = [];
  let from = 0;
  for (const c of cuts) { pieces.push(all.subarray(from, c)); from = c; }
  return pieces;
}
