import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JavaHashMap, connectorArgumentOrder, javaHashMapHash, javaStringHashCode } from '../../src/core/launch/java-hashmap';

const order = (names: string[]) => connectorArgumentOrder(names.map((n) => [n, null] as const)).map(([k]) => k);

test('String.hashCode over UTF-16 code units with int32 overflow', () => {
  assert.equal(javaStringHashCode(''), 0);
  assert.equal(javaStringHashCode('a'), 97);
  assert.equal(javaStringHashCode('Aa'), 2112);
  assert.equal(javaStringHashCode('BB'), 2112);
  assert.equal(javaStringHashCode('hello'), 99162322);
  // Overflows int32 and comes out negative, as in Java.
  assert.equal(javaStringHashCode('winrm_password'), -1086905661);
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  // Astral characters count as two code units (a surrogate pair).
  assert.equal(javaStringHashCode('😀'), 31 * 0xd83d + 0xde00);
});

test('HashMap.hash spreads the high half into the low bits', () => {
  const h = javaStringHashCode('winrm_password');
  assert.equal(javaHashMapHash('winrm_password'), (h ^ (h >>> 16)) | 0);
});

test('the examples of connector-semantics.md', () => {
  assert.deepEqual(order(['identity', 'winrm_user', 'winrm_password']), ['winrm_password', 'identity', 'winrm_user']);
  assert.deepEqual(order(['height', 'distance']), ['distance', 'height']);
  assert.deepEqual(order(['name', 'groups', 'flag']), ['flag', 'name', 'groups']);
});

test('buckets come in table order; names sharing a bucket keep the resource order', () => {
  // winrm_password, distance and mail all fall in bucket 4 of 16 (values checked with a JDK 17).
  assert.deepEqual(order(['identity', 'winrm_user', 'winrm_password', 'height', 'distance', 'mail']),
    ['winrm_password', 'distance', 'mail', 'identity', 'winrm_user', 'height']);
  assert.deepEqual(order(['mail', 'distance', 'height', 'winrm_password', 'winrm_user', 'identity']),
    ['mail', 'distance', 'winrm_password', 'identity', 'winrm_user', 'height']);
  // Aa and BB share a hash: they chain in the order they were put.
  assert.deepEqual(order(['Aa', 'BB']), ['Aa', 'BB']);
  assert.deepEqual(order(['BB', 'Aa']), ['BB', 'Aa']);
});

test('a repeated name keeps its first place and its last value', () => {
  const r = connectorArgumentOrder([['b', '1'], ['a', '2'], ['b', '3']]);
  assert.deepEqual(r, [['a', '2'], ['b', '3']]);
});

test('the table doubles after 12, 24, 48 entries', () => {
  const m = new JavaHashMap<number>();
  const caps: number[] = [];
  for (let i = 0; i < 100; i++) {
    m.put(`arg${i}`, i);
    caps.push(m.capacity);
  }
  assert.equal(caps[11], 16); // 12 entries
  assert.equal(caps[12], 32); // 13th entry exceeds threshold 12
  assert.equal(caps[24], 64);
  assert.equal(caps[48], 128);
  assert.equal(caps[96], 256);
  assert.equal(m.size, 100);
  assert.deepEqual([...m.keys()].sort(), Array.from({ length: 100 }, (_, i) => `arg${i}`).sort());
});

test('more than 8 equal hashes grow a small table, then become a tree bin', () => {
  // All 16 strings of four "Aa"/"BB" pairs have the same hashCode.
  const family: string[] = [];
  for (let i = 0; i < 16; i++) family.push([0, 1, 2, 3].map((b) => ((i >> b) & 1 ? 'BB' : 'Aa')).join(''));
  assert.equal(new Set(family.map(javaStringHashCode)).size, 1);
  const m = new JavaHashMap<null>();
  const caps: number[] = [];
  for (const name of family) {
    m.put(name, null);
    caps.push(m.capacity);
  }
  // The 9th and 10th collisions resize (table < 64) although size is far below threshold.
  assert.deepEqual(caps, [16, 16, 16, 16, 16, 16, 16, 16, 32, 64, 64, 64, 64, 64, 64, 64]);
  // In a tree bin the iteration order is no longer the insertion order.
  assert.notDeepEqual(m.keys(), family);
  assert.deepEqual([...m.keys()].sort(), [...family].sort());
});
