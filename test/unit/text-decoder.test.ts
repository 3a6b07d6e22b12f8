import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as iconv from 'iconv-lite';
import { createStreamDecoder, decodeAll, encodeForCodepage, isSupportedCodepage } from '../../src/core/text/decoder';
import { ConfigError } from '../../src/core/errors';

/** Feeds `bytes` to a fresh decoder cut at every given offset and joins the output. */
function decodeInPieces(codepage: number, bytes: Buffer, cuts: number[]): string {
  const d = createStreamDecoder(codepage);
  let out = '';
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out += d.write(bytes.subarray(from, cut));
    from = cut;
  }
  return out + d.end();
}

const sample = 'Žluťoučký kůň 😀 ñ € 日本語 \r\nend';

test('UTF-8: a character split at every possible byte offset is decoded whole', () => {
  const bytes = Buffer.from(sample, 'utf8');
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.equal(decodeInPieces(65001, bytes, [cut]), sample, `cut at ${cut}`);
  }
});

test('UTF-8: one byte per chunk still gives the exact text', () => {
  const bytes = Buffer.from(sample, 'utf8');
  const cuts = Array.from({ length: bytes.length }, (_, i) => i);
  assert.equal(decodeInPieces(65001, bytes, cuts), sample);
});

test('UTF-8: a truncated sequence at the end becomes U+FFFD only at end()', () => {
  const d = createStreamDecoder(65001);
  const euro = Buffer.from('€', 'utf8');
  assert.equal(d.write(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)])), 'a');
  assert.equal(d.end(), '\uFFFD');
});

test('OEM and ANSI code pages decode as Windows does', () => {
  // Bytes as a Windows console would write them: 0x81 is ü in 437/850, Ł is 0x9D in 852, Ж is 0x86 in 866.
  assert.equal(decodeAll(437, Buffer.from([0x81, 0x9b, 0xe1])), 'ü¢ß');
  assert.equal(decodeAll(850, Buffer.from([0x81, 0x9c, 0xd0])), 'ü£ð');
  assert.equal(decodeAll(852, Buffer.from([0x9d, 0xa5])), 'Łą');
  assert.equal(decodeAll(866, Buffer.from([0x86, 0xa0])), 'Жа');
  assert.equal(decodeAll(1250, Buffer.from([0x8a, 0xe8])), 'Šč');
  assert.equal(decodeAll(1251, Buffer.from([0xc6, 0xff])), 'Жя');
  assert.equal(decodeAll(1252, Buffer.from([0x80, 0xe9])), '€é');
});

test('double-byte code pages (932) keep lead and trail bytes together across chunks', () => {
  const text = '日本語テキスト';
  const bytes = iconv.encode(text, 'cp932');
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.equal(decodeInPieces(932, bytes, [cut]), text, `cut at ${cut}`);
  }
});

test('UTF-16LE (1200) pairs are not split across chunks', () => {
  const text = 'a😀b';
  const bytes = Buffer.from(text, 'utf16le');
  for (let cut = 0; cut <= bytes.length; cut++) assert.equal(decodeInPieces(1200, bytes, [cut]), text);
});

test('round trip through encodeForCodepage for single-byte pages', () => {
  for (const cp of [437, 850, 852, 866, 1250, 1251, 1252]) {
    // Bytes a code page leaves undefined (e.g. 0x81 in 1252) decode to U+FFFD and cannot come back.
    const defined = Array.from({ length: 256 }, (_, i) => i).filter((b) => decodeAll(cp, Buffer.from([b])) !== '\uFFFD');
    assert.ok(defined.length >= 251, `code page ${cp} defines ${defined.length} bytes`);
    const bytes = Buffer.from(defined);
    assert.deepEqual(encodeForCodepage(cp, decodeAll(cp, bytes)), bytes, `code page ${cp}`);
  }
});

test('unknown or invalid code pages are a ConfigError with a hint', () => {
  for (const cp of [12345, 0, -1, 1.5, NaN]) {
    assert.throws(() => createStreamDecoder(cp), (e: unknown) => e instanceof ConfigError && /65001/.test(e.hint), `code page ${cp}`);
    assert.equal(isSupportedCodepage(cp), false);
  }
  assert.equal(isSupportedCodepage(437), true);
  assert.equal(isSupportedCodepage(65001), true);
});

test('large output is decoded chunk by chunk without growing state', () => {
  // 32 MiB in 64 KiB chunks with a 3-byte character straddling every boundary.
  const unit = Buffer.from('x'.repeat(65535) + '€', 'utf8'); // 65538 bytes: boundaries fall inside €
  const d = createStreamDecoder(65001);
  let chars = 0;
  let euros = 0;
  const start = process.hrtime.bigint();
  const chunk = 65536;
  const total = Buffer.concat(Array.from({ length: 8 }, () => unit));
  for (let round = 0; round < 64; round++) {
    for (let i = 0; i < total.length; i += chunk) {
      const s = d.write(total.subarray(i, i + chunk));
      chars += s.length;
      for (let j = s.indexOf('€'); j >= 0; j = s.indexOf('€', j + 1)) euros++;
    }
  }
  chars += d.end().length;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.equal(euros, 64 * 8);
  assert.equal(chars, 64 * 8 * 65536);
  assert.ok(ms < 5000, `decoding 32 MiB took ${ms} ms`);
});
