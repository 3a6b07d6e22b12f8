import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClixmlConverter, clixmlToText, decodeClixmlString } from '../../src/core/text/clixml';
import { findRoot } from '../support/peers';

const fixtures = join(findRoot(), '..', 'shared', 'fixtures', 'pypsrp');
const withError = readFileSync(join(fixtures, 'test_sanitise_clixml_with_error.xml'), 'utf8');
const noErrors = readFileSync(join(fixtures, 'test_sanitise_clixml_with_no_errors.xml'), 'utf8');

const expectedError =
  "fake : The term 'fake' is not recognized as the name of a cmdlet, function, script file, or operable program. Check \r\n" +
  'the spelling of the name, or if a path was included, verify that the path is correct and try again.\r\n' +
  'At line:1 char:1\r\n' +
  '+ fake cmdlet\r\n' +
  '+ ~~~~\r\n' +
  '    + CategoryInfo          : ObjectNotFound: (fake:String) [], CommandNotFoundException\r\n' +
  '    + FullyQualifiedErrorId : CommandNotFoundException\r\n' +
  ' \r\n';

/** Runs the converter over `text` cut into pieces of `size` characters. */
function convertInPieces(text: string, size: number): string {
  const c = createClixmlConverter();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += c.write(text.slice(i, i + size));
  return out + c.end();
}

test('fixture with errors: the readable error text, progress records dropped', () => {
  assert.equal(clixmlToText(withError), expectedError);
});

test('fixture with only progress records: nothing', () => {
  assert.equal(clixmlToText(noErrors), '');
});

test('the same result whatever the chunk size', () => {
  for (const size of [1, 2, 3, 7, 9, 10, 64, 1000]) {
    assert.equal(convertInPieces(withError, size), expectedError, `chunks of ${size}`);
    assert.equal(convertInPieces(noErrors, size), '', `chunks of ${size}`);
  }
});

test('two blocks back to back (</Objs>#< CLIXML) and text around them', () => {
  const text = 'before\r\n' + noErrors + withError + 'after';
  for (const size of [1, 5, 4096]) {
    assert.equal(convertInPieces(text, size), 'before\r\n' + expectedError + 'after');
  }
});

test('text that is not CLIXML passes through immediately and unchanged', () => {
  const c = createClixmlConverter();
  assert.equal(c.write('plain error line\r\n'), 'plain error line\r\n');
  assert.equal(c.write('value # not a marker #< CLIXML mid-line\n'), 'value # not a marker #< CLIXML mid-line\n');
  assert.equal(c.write('x'), 'x');
  assert.equal(c.end(), '');
});

test('a possible marker start is held back only until it is decided', () => {
  const c = createClixmlConverter();
  assert.equal(c.write('line\n#< CL'), 'line\n');
  assert.equal(c.write('ass\n'), '#< CLass\n');
  assert.equal(c.write('#'), '');
  assert.equal(c.end(), '#');
});

test('a marker not followed by <Objs is shown as text', () => {
  assert.equal(clixmlToText('#< CLIXML\r\nnot xml at all\r\n'), '#< CLIXML\r\nnot xml at all\r\n');
});

test('an unfinished block comes back raw at end()', () => {
  const c = createClixmlConverter();
  const partial = '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">half';
  assert.equal(c.write(partial), '');
  assert.equal(c.end(), partial);
});

test('a block over the size limit is given back as text instead of growing without bound', () => {
  const c = createClixmlConverter({ maxBlockChars: 100 });
  const head = '#< CLIXML\r\n<Objs Version="1.1.0.1">';
  let out = c.write(head);
  out += c.write('<S S="Error">' + 'y'.repeat(200));
  out += c.end();
  assert.equal(out, head + '<S S="Error">' + 'y'.repeat(200));
});

test('escapes: _xHHHH_, _x005F_ for underscore, XML entities, surrogate pairs', () => {
  assert.equal(decodeClixmlString('a_x000D__x000A_b'), 'a\r\nb');
  assert.equal(decodeClixmlString('_x005F_x000A_'), '_x000A_');
  assert.equal(decodeClixmlString('my_var'), 'my_var');
  assert.equal(decodeClixmlString('&lt;tag&gt; &amp; &quot;q&quot; &apos;s&apos; &#65;&#x42;'), '<tag> & "q" \'s\' AB');
  assert.equal(decodeClixmlString('_xD83D__xDE00_'), '😀');
});

test('warning, verbose and debug records get the console prefixes', () => {
  const block =
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">' +
    '<S S="warning">careful</S><S S="verbose">detail_x000A_</S><S S="debug">dbg</S><S S="Error">boom_x000D__x000A_</S></Objs>';
  assert.equal(clixmlToText(block), 'WARNING: careful\r\nVERBOSE: detail\nDEBUG: dbg\r\nboom\r\n');
});

test('strings inside <Obj> records (nested) are not shown', () => {
  const block =
    '#< CLIXML\n<Objs Version="1.1.0.1"><Obj S="progress" RefId="0"><MS><Obj N="x" RefId="1"><MS><S S="Error">hidden</S></MS></Obj>' +
    '<S N="Activity">hidden too</S></MS></Obj><S S="Error">shown</S></Objs>';
  assert.equal(clixmlToText(block), 'shown');
});
