// Activation time of the extension in a real VS Code extension host: code-server and
// headless Chromium through the e2e harness (test/e2e/harness), the production bundle
// loaded as the extension under development, and a test entry that times
// `extension.activate()` (loading the bundle and running activate()), five times. Run as its own
// process by run.ts; prints one JSON line: { runs: [ms...], activeBefore } or { error }.
//   node out/bench/activation.js <folder with the extension (package.json, out/extension.js, ...)>
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, type E2EBrowser } from '../test/e2e/harness/browser';
import { startCodeServer, type CodeServer } from '../test/e2e/harness/code-server';
import { runInHost } from '../test/e2e/harness/in-host';
import { missingTools, setupCommand } from '../test/e2e/harness/tools';

const MARK = 'BENCH-ACTIVATION ';

async function main(): Promise<void> {
  const devFolder = process.argv[2];
  const missing = missingTools();
  if (missing.length) throw new Error(`e2e tools missing (${missing.join(', ')}); ${setupCommand} installs them`);
  const work = mkdtempSync(join(tmpdir(), 'winrm-bench-activation-'));
  let server: CodeServer | undefined;
  let browser: E2EBrowser | undefined;
  try {
    const ws = join(work, 'workspace');
    mkdirSync(ws);
    const entry = join(work, 'entry.js');
    writeFileSync(entry, `
const vscode = require('vscode');
exports.run = async () => {
  const ext = vscode.extensions.getExtension('winrm-runner.winrm-runner');
  if (!ext) throw new Error('winrm-runner.winrm-runner is not loaded');
  const activeBefore = ext.isActive;
  const started = performance.now();
  await ext.activate();
  console.log(${JSON.stringify(MARK)} + JSON.stringify({ ms: performance.now() - started, activeBefore }));
};
`);
    [server, browser] = await Promise.all([startCodeServer({ smokeTestDriver: true }), launchBrowser()]);
    const runs: number[] = [];
    let activeBefore = false;
    // Each run is a new window, so a new extension host that loads the bundle afresh.
    for (let i = 0; i < 5; i++) {
      const r = await runInHost(server, browser, { extensionDevelopmentPath: devFolder, extensionTestsPath: entry, workspace: ws, timeoutMs: 60_000 });
      const line = r.log.find((l) => l.startsWith(MARK));
      if (r.exitCode !== 0 || !line) throw new Error(`in-host run failed (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}): ${r.log.slice(-5).join(' | ')}`);
      const m = JSON.parse(line.slice(MARK.length)) as { ms: number; activeBefore: boolean };
      runs.push(m.ms);
      activeBefore ||= m.activeBefore;
    }
    process.stdout.write(`${JSON.stringify({ runs, activeBefore })}\n`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message.split('\n')[0] })}\n`);
  process.exit(0);
});
