// Extension figures: the production bundle's size, the .vsix's size and activation
// time in a real extension host (activation.ts). All use a temporary folder so the
// shared out/ (which others' tests use) is left alone; the bundle uses
// .ci/build.mjs's production settings for src/extension.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExtensionFigures {
  bundleBytes?: number;
  bundleNote?: string;
  vsixBytes?: number;
  vsixNote?: string;
  /** Median of the runs: extension.activate() in a fresh extension host each time. */
  activationMs?: number;
  activationRuns?: number[];
  activationNote?: string;
}

export async function extensionFigures(root: string, log: (l: string) => void, opts: { activation: boolean }): Promise<ExtensionFigures> {
  const figures: ExtensionFigures = {
    activationNote: opts.activation ? undefined : 'not measured with --quick',
  };
  const entry = join(root, 'src/extension/main.ts');
  if (!existsSync(entry)) {
    figures.bundleNote = figures.vsixNote = 'no extension yet';
    return figures;
  }
  const dir = mkdtempSync(join(tmpdir(), 'winrm-bench-ext-'));
  try {
    // Same options as .ci/build.mjs --production for the extension entry.
    const { build } = await import('esbuild');
    await build({
      entryPoints: [entry], outfile: join(dir, 'out/extension.js'), bundle: true, platform: 'node', target: 'node20', format: 'cjs',
      sourcemap: false, minify: true, logLevel: 'error', external: ['vscode'],
    });
    figures.bundleBytes = statSync(join(dir, 'out/extension.js')).size;
    log(`  extension bundle: ${figures.bundleBytes} bytes`);

    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore']) if (existsSync(join(root, f))) copyFileSync(join(root, f), join(dir, f));
    for (const d of ['media', 'syntaxes']) if (existsSync(join(root, d))) cpSync(join(root, d), join(dir, d), { recursive: true });
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    const vsce = join(root, 'node_modules/.bin/vsce');
    if (!existsSync(vsce)) {
      figures.vsixNote = 'skipped: @vscode/vsce is not installed';
      return figures;
    }
    // As the package script, plus --no-rewrite-relative-links: with no repository URL,
    // vsce refuses a README with relative images otherwise.
    const r = spawnSync(vsce, ['package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', join(dir, 'bench.vsix')], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0 && existsSync(join(dir, 'bench.vsix'))) {
      figures.vsixBytes = statSync(join(dir, 'bench.vsix')).size;
      log(`  .vsix: ${figures.vsixBytes} bytes`);
    } else {
      figures.vsixNote = `skipped: vsce package failed (${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()})`;
    }
    if (opts.activation) {
      // In its own process: code-server and Chromium come and go with it.
      const a = spawnSync(process.execPath, [join(root, 'out/bench/activation.js'), dir], { encoding: 'utf8', timeout: 240_000 });
      let result: { runs?: number[]; activeBefore?: boolean; error?: string } = {};
      try { result = JSON.parse(a.stdout.trim().split('\n').pop() ?? ''); } catch { result = { error: a.error?.message ?? `exit ${a.status}` }; }
      if (result.runs?.length) {
        figures.activationMs = [...result.runs].sort((p, q) => p - q)[Math.floor(result.runs.length / 2)];
        figures.activationRuns = result.runs;
        if (result.activeBefore) figures.activationNote = 'the extension was already active when the test started';
        log(`  activation: ${result.runs.map((v) => v.toFixed(0)).join(', ')} ms`);
      } else {
        figures.activationNote = `not measured: ${result.error ?? 'no result'}`;
      }
    }
  } catch (e) {
    figures.bundleNote ??= `skipped: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
