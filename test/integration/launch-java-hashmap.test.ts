// Compares our HashMap model with a real java.util.HashMap, built the way midPoint
// builds the script arguments map and ConnId's ScriptContext copies it
// (test/support/java/ArgumentMapOrder.java).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectorArgumentOrder, javaHashMapHash, javaStringHashCode } from '../../src/core/launch/java-hashmap';
import { findRoot, peerMissing, runs } from '../support/peers';
import { Prng } from '../support/faults';

const haveJdk = runs('javac', ['-version']) && runs('java', ['-version']);
const skip = peerMissing('JDK (javac, java)', haveJdk, 'Install it with `apt-get install -y openjdk-17-jdk-headless`.');

/** The shared seeded PRNG (mulberry32), so the generated sets are the same every run. */
function prng(seed: number): () => number {
  const r = new Prng(seed);
  return () => r.next();
}

const realistic = ['identity', 'winrm_user', 'winrm_password', 'height', 'distance', 'name', 'groups', 'flag', 'mail', 'alias',
  'database', 'samAccountName', 'userPrincipalName', 'givenName', 'sn', 'displayName', 'ou', 'dn', 'password', 'enabled',
  'homeDirectory', 'homeDrive', 'scriptPath', 'manager', 'department', 'title', 'company', 'description', 'Identity', 'Alias'];
const unicodeParts = ['č', 'ř', 'ž', 'Ä', 'ß', 'é', 'ñ', 'д', 'ж', 'λ', '日本', '名前', '😀', '𝔘', '🇨🇿', 'ǅ', '\u00a0'];

function randomIdentifier(rand: () => number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
  const len = 1 + Math.floor(rand() * 20);
  let s = alphabet[Math.floor(rand() * 53)];
  while (s.length < len) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

function randomName(rand: () => number): string {
  const r = rand();
  if (r < 0.3) return realistic[Math.floor(rand() * realistic.length)] + (rand() < 0.3 ? String(Math.floor(rand() * 10)) : '');
  if (r < 0.8) return randomIdentifier(rand);
  let s = '';
  const parts = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < parts; i++) s += rand() < 0.5 ? unicodeParts[Math.floor(rand() * unicodeParts.length)] : randomIdentifier(rand).slice(0, 3);
  return s;
}

/** The 2^k strings made of k "Aa"/"BB" pairs: all share one hashCode. */
function collisionFamily(k: number, prefix = ''): string[] {
  const out: string[] = [];
  for (let i = 0; i < 1 << k; i++) {
    let s = prefix;
    for (let b = 0; b < k; b++) s += (i >> b) & 1 ? 'BB' : 'Aa';
    out.push(s);
  }
  return out;
}

/** Distinct names whose spread hash has the given low bits (mask), found by search. */
function namesInBucket(rand: () => number, count: number, mask: number, bits: number, exclude: Set<string>): string[] {
  const out: string[] = [];
  while (out.length < count) {
    const name = randomIdentifier(rand) + randomIdentifier(rand);
    if ((javaHashMapHash(name) & mask) === bits && !exclude.has(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

function shuffle<T>(rand: () => number, items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function generateNameSets(): string[][] {
  const rand = prng(0x5eed1234);
  const sets: string[][] = [];
  // Ordinary sets of every size up to 60, several times over.
  for (let i = 0; i < 400; i++) {
    const size = i < 61 ? i : Math.floor(rand() * (rand() < 0.7 ? 16 : 61));
    const set = new Set<string>();
    while (set.size < size) set.add(randomName(rand));
    sets.push([...set]);
  }
  // Hash collisions: chains (small families) and tree bins (8+ equal hashes), mixed with others.
  for (let i = 0; i < 60; i++) {
    const family = collisionFamily(1 + Math.floor(rand() * 4), rand() < 0.5 ? '' : randomIdentifier(rand));
    const others = new Set<string>();
    const extra = Math.floor(rand() * 50);
    while (others.size < extra) others.add(randomName(rand));
    const all = [...new Set([...family, ...others])];
    sets.push(rand() < 0.5 ? shuffle(rand, all) : all);
  }
  // Tree bins that split on resize: equal low 6 bits, different bit 6, so at 64 -> 128
  // both halves stay trees (more than 6 each) or one becomes a plain chain again.
  for (let i = 0; i < 40; i++) {
    const bits = Math.floor(rand() * 64);
    const taken = new Set<string>();
    const lo = namesInBucket(rand, 7 + Math.floor(rand() * 4), 127, bits, taken);
    lo.forEach((n) => taken.add(n));
    const hi = namesInBucket(rand, 3 + Math.floor(rand() * 8), 127, bits | 64, taken);
    hi.forEach((n) => taken.add(n));
    const fill = new Set<string>();
    const target = 45 + Math.floor(rand() * 60);
    while (fill.size + lo.length + hi.length < target) {
      const n = randomIdentifier(rand);
      if (!taken.has(n)) fill.add(n);
    }
    sets.push(shuffle(rand, [...lo, ...hi, ...fill]));
  }
  return sets;
}

const toHex = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i).toString(16).padStart(4, '0')).join('');
const fromHex = (h: string) => String.fromCharCode(...(h.match(/.{4}/g) ?? []).map((x) => parseInt(x, 16)));

test('argument order matches a real java.util.HashMap built as midPoint and ConnId build it', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'argorder-'));
  try {
    const source = join(findRoot(), 'test', 'support', 'java', 'ArgumentMapOrder.java');
    const javac = spawnSync('javac', ['-d', dir, source], { encoding: 'utf8' });
    assert.equal(javac.status, 0, javac.stderr);
    const sets = generateNameSets();
    assert.ok(sets.length >= 500);
    // The corpus must reach the cases that make HashMap order subtle.
    assert.ok(sets.some((s) => s.length > 48), 'a set large enough for three resizes');
    assert.ok(sets.some((s) => s.some((n) => /[^\u0000-\u007f]/.test(n))), 'unicode names');
    assert.ok(sets.some((s) => s.some((n) => /[\ud800-\udbff]/.test(n))), 'names beyond the BMP');
    assert.ok(sets.some((s) => new Set(s.map(javaStringHashCode)).size <= s.length - 10), 'a tree bin');
    const java = spawnSync('java', ['-cp', dir, 'ArgumentMapOrder'], {
      input: sets.map((s) => s.map(toHex).join(' ')).join('\n') + '\n',
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(java.status, 0, java.stderr);
    const lines = java.stdout.split('\n').slice(0, sets.length);
    assert.equal(lines.length, sets.length);
    let differing = 0;
    sets.forEach((set, i) => {
      const expected = lines[i] === '' ? [] : lines[i].split(' ').map(fromHex);
      const ours = connectorArgumentOrder(set.map((n) => [n, null] as const)).map(([k]) => k);
      if (JSON.stringify(ours) !== JSON.stringify(set)) differing++;
      assert.deepEqual(ours, expected, `name set #${i}: ${JSON.stringify(set)}`);
    });
    // Sanity: HashMap order really differs from the given order for most sets.
    assert.ok(differing > sets.length / 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
