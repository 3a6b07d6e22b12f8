// The in-host runner's own logic, in plain Node (it needs no VS Code): results, timeouts and
// the rejection that makes the extension host exit non-zero.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTests } from './in-host/runner';

test('in-host runner: reports each test, and resolves when all pass', async () => {
  const lines: string[] = [];
  const order: string[] = [];
  const summary = await runTests([
    { name: 'first', fn: async () => { await new Promise((r) => setTimeout(r, 5)); order.push('first'); } },
    { name: 'second', fn: () => { order.push('second'); } },
  ], { log: (l) => lines.push(l) });
  assert.deepEqual(order, ['first', 'second']);
  assert.deepEqual(summary, { passed: 2, failed: 0, failures: [] });
  assert.match(lines[0], /^\[in-host\] ok 1 - first \(\d+ ms\)$/);
  assert.match(lines[1], /^\[in-host\] ok 2 - second \(\d+ ms\)$/);
  assert.equal(lines[2], '[in-host] 2 of 2 tests passed');
});

test('in-host runner: a throwing and a hung test fail, the rest still run, and it rejects', async () => {
  const lines: string[] = [];
  let ranLast = false;
  await assert.rejects(runTests([
    { name: 'throws', fn: () => { throw new Error('boom'); } },
    { name: 'hangs', fn: () => new Promise(() => undefined), timeoutMs: 50 },
    { name: 'last', fn: () => { ranLast = true; } },
  ], { log: (l) => lines.push(l) }), /\[in-host\] 2 of 3 tests failed: throws; hangs/);
  assert.ok(ranLast);
  assert.match(lines[0], /^\[in-host\] not ok 1 - throws \(\d+ ms\)\nError: boom/);
  assert.match(lines[1], /^\[in-host\] not ok 2 - hangs \(\d+ ms\)\nError: timed out after 50 ms/);
  assert.match(lines[2], /^\[in-host\] ok 3 - last/);
  assert.equal(lines[3], '[in-host] 1 of 3 tests passed');
});
