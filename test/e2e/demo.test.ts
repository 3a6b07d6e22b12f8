// The `npm run try` demo (test/e2e/demo/main.ts, as .ci/demo starts it) works end to end: the
// printed URL opens VS Code with the example script open and the Sandbox host in the WinRM
// view; Run with Arguments (variables style, identity=jdoe, ...) with the printed password
// runs it on the test host's real PowerShell; Ctrl+C stops code-server and the host.
// E2E_DEMO_SCREENSHOTS=media/screenshots also writes the README's demo-*.png there.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { peerMissing, pwshPath } from '../support/peers';
import { clickRow, typeAndEnter } from './extension/hands';
import { packageExtension, type Packaged } from './extension/vsix';
import {
  isRed, launchBrowser, readTerminal, runCommand, screenshot, waitForQuickInput, waitForTerminal, waitForWorkbench, type E2EBrowser,
} from './harness/browser';
import type { Page } from './harness/playwright-types';
import { missingTools, poll, root, setupCommand } from './harness/tools';

const missing = missingTools();
const skip = peerMissing('code-server and Chromium for the e2e tests', missing.length === 0, `Missing: ${missing.join(', ')}. Run: ${setupCommand}`)
  || peerMissing('pwsh 7.6.9 behind the test host', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');
const mainJs = join(root, 'out', 'test', 'e2e', 'demo', 'main.js');

async function saveScreenshot(page: Page, name: string): Promise<void> {
  // No hover tooltip in the picture.
  await page.mouse.move(900, 400);
  const path = await screenshot(page, name);
  const dir = process.env.E2E_DEMO_SCREENSHOTS;
  if (dir) copyFileSync(path, join(root, dir, `${name}.png`));
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

describe('npm run try: the demo', { skip }, () => {
  let work: string;
  let packaged: Packaged;
  let demo: ChildProcess;
  let out = '';
  let exited: Promise<number | null>;
  let browser: E2EBrowser;

  before(async () => {
    assert.ok(existsSync(mainJs), `${mainJs} is missing: build with node .ci/build.mjs`);
    work = mkdtempSync(join(tmpdir(), 'winrm-e2e-demo-'));
    packaged = packageExtension();
    // Its own process group, as in a terminal; SIGINT below is the terminal's Ctrl+C.
    demo = spawn(process.execPath, [mainJs, '--vsix', packaged.vsix, '--dir', work], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    demo.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    exited = new Promise((resolve) => demo.once('exit', (code) => resolve(code)));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (demo?.exitCode === null) try { process.kill(-demo.pid!, 'SIGKILL'); } catch { /* gone */ }
    packaged?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the printed URL: the example open, the Sandbox host in the WinRM view; a run with arguments; Ctrl+C stops it all', async () => {
    const url = await poll(() => /Open: +(http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)/.exec(out)?.[1], { timeoutMs: 90_000, what: `the demo's URL (output so far:\n${out})` });
    const password = /Password: +(\S+)/.exec(out)?.[1];
    assert.ok(password, out);
    const hostUrl = /on (https:\/\/127\.0\.0\.1:\d+\/wsman)/.exec(out)?.[1];
    assert.ok(hostUrl, out);
    const page = await browser.newPage();
    try {
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      await waitForWorkbench(page);
      await page.locator('.tabs-container .tab.active[aria-label*="New-LabUser.ps1"]').first().waitFor({ timeout: 20_000 });
      await page.locator('.part.activitybar .action-label[aria-label="WinRM"]').first().click({ timeout: 20_000 });
      // A wider side bar, so the host's whole description shows (drag its edge, as a person would).
      const edge = await page.locator('.part.sidebar').first().evaluate((el: any) => { const r = el.getBoundingClientRect(); return { x: r.right, y: r.top + r.height / 2 }; });
      await page.mouse.move(edge.x + 1, edge.y);
      await page.mouse.down();
      await page.mouse.move(edge.x + 140, edge.y, { steps: 5 });
      await page.mouse.up();
      const row = await poll(async () => {
        const rows = await page.locator('.part.sidebar .tree-explorer-viewlet-tree-view .monaco-list-row .monaco-icon-label').allInnerTexts();
        return rows.map((r) => r.replace(/\s+/g, ' ').trim()).find((r) => r.startsWith('Sandbox'));
      }, { timeoutMs: 15_000, what: 'the Sandbox host in the WinRM view' });
      assert.match(row, /^Sandbox ?127\.0\.0\.1:\d+ \(HTTPS\) · basic · team$/);
      await saveScreenshot(page, 'demo-sandbox');

      await runCommand(page, 'WinRM: Run with Arguments...');
      await waitForQuickInput(page, 'Run on which host?');
      await clickRow(page, 'Sandbox');
      for (const a of ['identity=jdoe', "givenName=John O'Neil", 'groups[]=Lab Users', 'groups[]=VPN']) {
        await waitForQuickInput(page, 'Arguments for New-LabUser.ps1');
        await typeAndEnter(page, a, { waitRow: '^(Add|Set) ' });
      }
      await clickRow(page, 'Run');
      await waitForQuickInput(page, 'WinRM Password: Sandbox');
      await typeAndEnter(page, password, { what: 'the password' });
      await waitForQuickInput(page, 'Remember this password?');
      await clickRow(page, 'Remember in the OS keychain (VS Code secret storage)');
      await waitForTerminal(page, /^■ Run #1 exit code 0 · /, 30_000);
      const rows = await readTerminal(page);
      const text = rows.map((r) => r.text);
      assert.ok(text.some((t) => /^▶ Run #1 on Sandbox \(127\.0\.0\.1:\d+ \(HTTPS\)\) · language powershell · style variables · profile safe/.test(t)), text.join('\n'));
      for (const line of ["Provisioning jdoe (John O'Neil)", '  adding to group: Lab Users', '  adding to group: VPN', 'Grüße aus PowerShell 7.6.9 ✓']) {
        assert.ok(text.includes(line), `"${line}" in:\n${text.join('\n')}`);
      }
      assert.ok(!rows.some((r) => r.spans.some(isRed)), 'no stderr');
      await saveScreenshot(page, 'demo-run');
    } finally {
      await page.close();
    }

    process.kill(demo.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r('still running'), 10_000); })]);
    clearTimeout(timer);
    assert.equal(code, 0, `the demo ends cleanly on Ctrl+C:\n${out}`);
    assert.match(out, /demo: Ctrl\+C; stopping code-server and the test host/);
    assert.equal(await answers(new URL(url).origin), false, 'code-server is gone');
    assert.equal(await answers(hostUrl), false, 'the test host is gone');
    // Its run folder went with it; the demo folder stays for the next start.
    assert.ok(existsSync(join(work, 'workspace', '.vscode', 'winrm-hosts.json')));
  });
});
