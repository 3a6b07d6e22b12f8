// The .vsix the UI tests install: `npm run package` run on a copy of the sources, so the
// shared out/ folder (out/extension.js, out/winrm-runner.vsix) is not rewritten under other
// tests. E2E_VSIX=path uses a package built beforehand instead.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../harness/tools';

// What `npm run package` reads: the manifest and what .vscodeignore lets in, the build script
// and the sources it bundles.
const COPY = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', '.ci/build.mjs', 'src', 'media', 'syntaxes'];

export interface Packaged {
  vsix: string;
  ms: number;
  /** Removes the copy (not an E2E_VSIX file). */
  cleanup(): void;
}

export function packageExtension(): Packaged {
  const started = Date.now();
  if (process.env.E2E_VSIX) return { vsix: process.env.E2E_VSIX, ms: 0, cleanup: () => undefined };
  const stage = mkdtempSync(join(tmpdir(), 'winrm-e2e-vsix-'));
  try {
    for (const p of COPY) if (existsSync(join(root, p))) cpSync(join(root, p), join(stage, p), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
    // README images are relative links and the manifest names no repository: vsce refuses to
    // package unless told not to rewrite them (the marketplace is not a target here).
    const r = spawnSync('npm', ['run', '--silent', 'package', '--', '--no-rewrite-relative-links'], { cwd: stage, encoding: 'utf8', timeout: 120_000 });
    const vsix = join(stage, 'out', 'winrm-runner.vsix');
    if (r.status !== 0 || !existsSync(vsix)) throw new Error(`npm run package failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
    return { vsix, ms: Date.now() - started, cleanup: () => rmSync(stage, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The built extension (out/extension.js from `node .ci/build.mjs`) with what the .vsix would
 * hold around it, copied into `dest`: for a window that loads it as an extension under
 * development from a folder of extensions (runInHost's `dialogs` mode).
 */
export function copyBuiltExtension(dest: string): void {
  for (const p of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'out/extension.js', 'out/extension.js.map', 'media', 'syntaxes']) {
    if (existsSync(join(root, p))) cpSync(join(root, p), join(dest, p), { recursive: true });
  }
}
