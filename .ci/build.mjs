// Builds every bundle with esbuild. Each test file is bundled on its own, so one
// file that does not compile only fails the tests that import it.
//   node .ci/build.mjs [--production] [--quiet] [only-these-entry-points...]
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const production = args.includes('--production');
const quiet = args.includes('--quiet');
const only = args.filter((a) => !a.startsWith('--'));

function walk(dir, pick) {
  const found = [];
  let names = [];
  try { names = readdirSync(dir); } catch { return found; }
  for (const name of names) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) found.push(...walk(full, pick));
    else if (pick(full)) found.push(full);
  }
  return found;
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: quiet ? 'error' : 'warning',
};

// Node programs run from a checkout: node_modules stays external.
const nodeEntries = [
  ...walk(join(root, 'test'), (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && (/\.test\.ts$/.test(f) || /[\\/]main\.ts$/.test(f) || /[\\/]test[\\/]e2e[\\/]in-host[\\/]/.test(f))).map((f) => relative(root, f)),
  ...walk(join(root, 'bench'), (f) => f.endsWith('.ts')).map((f) => relative(root, f)),
].filter((e) => only.length === 0 || only.some((o) => e.startsWith(o)));

const jobs = [];
if (nodeEntries.length) {
  jobs.push(build({
    ...common,
    entryPoints: nodeEntries.map((e) => join(root, e)),
    outbase: root,
    outdir: join(root, 'out'),
    packages: 'external',
    external: ['vscode'],
    banner: { js: '' },
  }));
}
if (only.length === 0 || only.some((o) => o.startsWith('src/cli'))) {
  jobs.push(build({
    ...common,
    entryPoints: [join(root, 'src/cli/winrm-run.ts')],
    outfile: join(root, 'out/cli/winrm-run.js'),
    packages: 'external',
  }));
}
// The extension ships its dependencies inside the bundle (the .vsix has no node_modules).
if (only.length === 0 || only.some((o) => 'src/extension'.startsWith(o) || o.startsWith('src/extension'))) {
  try {
    statSync(join(root, 'src/extension/main.ts'));
    jobs.push(build({
      ...common,
      entryPoints: [join(root, 'src/extension/main.ts')],
      outfile: join(root, 'out/extension.js'),
      external: ['vscode'],
    }));
  } catch { /* the extension is not there yet */ }
}
await Promise.all(jobs);
