import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeAssignment, describeValue, detectLanguage, formatAssignment, parseAssignment, recallRun, rememberRun, summarizeArguments, upsertArgument,
} from '../../src/core/format';

test('name=value: the value is everything after the first =, exactly; a bare name is null', () => {
  assert.deepEqual(parseAssignment('name=John O\'Neil'), { argument: { name: 'name', value: "John O'Neil" } });
  assert.deepEqual(parseAssignment('filter=(cn=a b)=c'), { argument: { name: 'filter', value: '(cn=a b)=c' } });
  assert.deepEqual(parseAssignment('  quoted="x y" '), { argument: { name: 'quoted', value: '"x y" ' } }, 'value kept byte for byte');
  assert.deepEqual(parseAssignment('empty='), { argument: { name: 'empty', value: '' } });
  assert.deepEqual(parseAssignment('flag'), { argument: { name: 'flag', value: null } });
  assert.deepEqual(parseAssignment('groups[]=a b'), { argument: { name: 'groups', value: ['a b'] } });
  assert.match(parseAssignment('=x').error ?? '', /no name/);
  assert.match(parseAssignment('1st=x').error ?? '', /not a usable/);
  assert.match(parseAssignment('a b=x').error ?? '', /whitespace/);
});

test('upsert replaces by name case-insensitively and keeps the position', () => {
  const list = upsertArgument(upsertArgument([], { name: 'a', value: '1' }), { name: 'b', value: '2' });
  assert.deepEqual(upsertArgument(list, { name: 'A', value: null }), [{ name: 'A', value: null }, { name: 'b', value: '2' }]);
  const listed = upsertArgument(upsertArgument([], { name: 'g', value: ['a'] }), { name: 'g', value: ['b'] });
  assert.deepEqual(listed, [{ name: 'g', value: ['a', 'b'] }], 'list items add up, as repeated --arg name[]=x');
});

test('display and edit forms round-trip through the parser', () => {
  for (const arg of [{ name: 'n', value: ' spaced ' }, { name: 'x', value: null }, { name: 'q', value: 'a=b"c\'' }]) {
    assert.deepEqual(parseAssignment(formatAssignment(arg)).argument, arg);
  }
  assert.equal(describeValue(' a '), '" a "');
  assert.equal(describeValue(null), '(null)');
  assert.equal(describeValue(['a', 'b']), '["a", "b"]');
  assert.equal(summarizeArguments([]), 'no arguments');
  assert.equal(summarizeArguments([{ name: 'g', value: ['a', 'b'] }, { name: 'f', value: null }]), 'g=[a, b] f=(null)');
});

test('run memory: per file, validated on read, most recent files kept within the limit', () => {
  let memory: unknown = undefined;
  memory = rememberRun(memory, 'file:///a.ps1', { args: [{ name: 'x', value: null }, { name: 'y', value: 'v' }], style: 'variables', usedAt: 1 });
  memory = rememberRun(memory, 'file:///b.ps1', { args: [], profile: 'connector-1.4', usedAt: 2 });
  memory = rememberRun(memory, 'file:///c.ps1', { args: [], usedAt: 3 }, 2);
  assert.deepEqual(Object.keys(memory as object).sort(), ['file:///b.ps1', 'file:///c.ps1'], 'the oldest file is forgotten');
  memory = rememberRun(memory, 'file:///a.ps1', { args: [{ name: 'x', value: null }], usedAt: 4 }, 2);
  assert.deepEqual(recallRun(memory, 'file:///a.ps1')?.args, [{ name: 'x', value: null }], 'null survives storage');
  assert.equal(recallRun(memory, 'file:///b.ps1'), undefined);
  const tampered = { 'file:///t.ps1': { args: [{ name: 'ok', value: 'v' }, { name: 'bad name', value: 'v' }, { name: 'n', value: 5 }, 'junk'], style: 7, usedAt: 'x' } };
  assert.deepEqual(recallRun(tampered, 'file:///t.ps1'), { args: [{ name: 'ok', value: 'v' }], language: undefined, style: undefined, profile: undefined, hostId: undefined, usedAt: 0 });
  // The stored form is JSON (workspace state), and comes back the same.
  assert.deepEqual(JSON.parse(JSON.stringify(memory)), memory);
});

test('language from the file extension first, then the language id', () => {
  assert.equal(detectLanguage('plaintext', 'C:\\scripts\\New-User.PS1'), 'powershell');
  assert.equal(detectLanguage('powershell', 'Untitled-1'), 'powershell');
  assert.equal(detectLanguage('bat', 'x'), 'cmd');
  assert.equal(detectLanguage(undefined, '/a/b/setup.cmd'), 'cmd');
  assert.equal(detectLanguage('plaintext', 'notes.txt'), undefined);
});

test('script text drops the byte-order mark and the one final line break editors add', async () => {
  const { scriptTextOf } = await import('../../src/core/format/language');
  assert.equal(scriptTextOf('\uFEFFWrite-Output 1\r\n'), 'Write-Output 1');
  assert.equal(scriptTextOf('a\n\n'), 'a\n');
  assert.equal(scriptTextOf('a'), 'a');
});

test('the prompt row says what Enter does: add a name, add to a list, or set a value', () => {
  const typed = (text: string) => parseAssignment(text).argument!;
  let list: ReturnType<typeof upsertArgument> = [];
  assert.equal(describeAssignment(list, typed('tags[]=red')), 'Add tags = ["red"]');
  list = upsertArgument(list, typed('tags[]=red'));
  const more = typed('Tags[]=dark blue');
  assert.equal(describeAssignment(list, more), 'Add to tags: "dark blue"');
  // What the row promised is what happens.
  assert.deepEqual(upsertArgument(list, more), [{ name: 'Tags', value: ['red', 'dark blue'] }]);
  assert.equal(describeAssignment(list, typed('tags=plain')), 'Set tags = "plain"');
  assert.equal(describeAssignment(list, typed('tags')), 'Set tags = (null)');
  list = upsertArgument(list, typed('name=a'));
  assert.equal(describeAssignment(list, typed('name[]=b')), 'Set name = ["b"]', 'a list item replaces a plain value');
});
