// The README's test command: type-check, build, then run every test file with
// Node's test runner. `node .ci/test.mjs unit` runs only test/unit, and so on.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const groups = process.argv.slice(2);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
function walk(dir) {
  const found = [];
  let names = [];
  try { names = readdirSync(dir).sort(); } catch { return found; }
  for (const name of names) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) found.push(...walk(full));
    else if (name.endsWith('.test.js')) found.push(full);
  }
  return found;
}

run('npx', ['tsc', '--noEmit', '-p', '.']);
run('node', ['.ci/build.mjs']);
const order = ['unit', 'integration', 'e2e'];
const files = [];
for (const g of order.filter((g) => groups.length === 0 || groups.includes(g))) {
  files.push(...walk(join(root, 'out/test', g)).map((f) => relative(root, f)));
}
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
run('node', ['--test', '--test-concurrency=1', ...files]);
