// The team file's fallback to file watching: real files in a temporary folder, real stats.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChangePoller, type FileSignature } from '../../src/core/hosts';

/** Runs fn with a fresh temporary folder, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'poller-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function statFile(path: string): Promise<FileSignature | undefined> {
  const s = statSync(path, { throwIfNoEntry: false });
  return s && { mtimeMs: s.mtimeMs, size: s.size };
}

test('a check notices a file written, rewritten with the same size, deleted and created again', () => inTempDir(async (dir) => {
  const file = join(dir, 'winrm-hosts.json');
  let reloads = 0;
  const poller = new ChangePoller({ keys: () => [file], stat: statFile, onChange: () => { reloads++; }, intervalMs: 1000 });
  assert.equal(await poller.check(), false, 'the first check only records');
  assert.equal(await poller.check(), false, 'nothing changed');
  writeFileSync(file, '{"hosts":[]}');
  assert.equal(await poller.check(), true, 'created');
  assert.equal(await poller.check(), false);
  // Same size, newer time: a tool that rewrites the file in place.
  writeFileSync(file, '{"hosts":[ ]}'.slice(0, 12));
  const later = new Date(statSync(file).mtimeMs + 5000);
  utimesSync(file, later, later);
  assert.equal(await poller.check(), true, 'rewritten');
  rmSync(file);
  assert.equal(await poller.check(), true, 'deleted');
  assert.equal(await poller.check(), false);
  writeFileSync(file, '{"hosts":[]}');
  assert.equal(await poller.check(), true, 'created again');
  assert.equal(reloads, 4);
}));

test('a file of a folder added later is recorded first, not reported; a removed folder is forgotten', () => inTempDir(async (dir) => {
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, 'a');
  writeFileSync(b, 'b');
  let keys = [a];
  const poller = new ChangePoller({ keys: () => keys, stat: statFile, onChange: () => undefined, intervalMs: 1000 });
  await poller.check();
  keys = [a, b];
  assert.equal(await poller.check(), false, 'b is new to the poller, and the caller read it when the folder was added');
  keys = [b];
  assert.equal(await poller.check(), false);
  writeFileSync(a, 'a changed');
  keys = [a, b];
  assert.equal(await poller.check(), false, 'a was forgotten while its folder was gone');
}));

test('started, it calls onChange on its own; stopped, it does not', () => inTempDir(async (dir) => {
  const file = join(dir, 'winrm-hosts.json');
  let resolveChanged!: () => void;
  const changed = new Promise<void>((r) => { resolveChanged = r; });
  let calls = 0;
  const poller = new ChangePoller({ keys: () => [file], stat: statFile, onChange: () => { calls++; resolveChanged(); }, intervalMs: 20 });
  // The poller's timer is unref'd (it must not keep an editor's process alive); this one keeps the test's.
  const keepAlive = setTimeout(() => undefined, 10_000);
  poller.start();
  await poller.check();
  writeFileSync(file, '{}');
  await changed;
  clearTimeout(keepAlive);
  poller.stop();
  const after = calls;
  writeFileSync(file, '{"changed": true}');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, after, 'no check after stop()');
}));

test('concurrent checks share one comparison, so a change is reported once', () => inTempDir(async (dir) => {
  const file = join(dir, 'x.json');
  let calls = 0;
  const poller = new ChangePoller({ keys: () => [file], stat: statFile, onChange: () => { calls++; }, intervalMs: 1000 });
  await poller.check();
  writeFileSync(file, 'x');
  const results = await Promise.all([poller.check(), poller.check(), poller.check()]);
  assert.deepEqual(results, [true, true, true]);
  assert.equal(calls, 1);
}));
