// Proves the e2e harness against a real code-server in headless Chromium, with a tiny
// throwaway extension generated here (the project's own extension is tested elsewhere):
//   - UI: the probe, packaged with vsce and installed from its .vsix, is run from the palette;
//     its quick input is answered; its output channel, its error notification and a terminal
//     (plain and red text) are read back from the page.
//   - In-host: tests run inside the real extension host through the smoke-test driver; a
//     passing run exits 0 with its log, a failing one exits non-zero with the assertion text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { peerMissing } from '../support/peers';
import {
  answerQuickInput, isRed, launchBrowser, openWorkbench, readOutput, runCommand, screenshot,
  typeInTerminal, waitForNotification, waitForOutput, waitForTerminal, type E2EBrowser,
} from './harness/browser';
import { startCodeServer, type CodeServer } from './harness/code-server';
import { runInHost } from './harness/in-host';
import { missingTools, root, setupCommand } from './harness/tools';

const missing = missingTools();
const skip = peerMissing('code-server and Chromium for the e2e tests', missing.length === 0,
  `Missing: ${missing.join(', ')}. Run: ${setupCommand}`);

/**
 * Writes a minimal extension: command `<id>.hello` asks for a name (or takes it as argument),
 * appends a greeting to the output channel "<title>" and shows it, reports an error
 * notification for "nobody", and returns the greeting. activate() returns the lines written.
 */
function writeProbe(dir: string, id: string, title: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: id.toLowerCase(), publisher: 'e2e', version: '0.0.1', license: 'MIT',
    engines: { vscode: '^1.90.0' }, main: './extension.js',
    activationEvents: [],
    contributes: { commands: [{ command: `${id}.hello`, title: 'Say Hello', category: title }] },
  }, null, 2));
  writeFileSync(join(dir, 'extension.js'), `
const vscode = require('vscode');
exports.activate = (context) => {
  const channel = vscode.window.createOutputChannel(${JSON.stringify(title)});
  const lines = [];
  context.subscriptions.push(channel, vscode.commands.registerCommand(${JSON.stringify(`${id}.hello`)}, async (who) => {
    const name = who ?? await vscode.window.showInputBox({ prompt: 'Who to greet?' });
    if (name === 'nobody') { vscode.window.showErrorMessage(${JSON.stringify(title)} + ': nobody to greet'); return undefined; }
    const line = 'hello ' + name + ' \\u2713 from ' + vscode.env.appName;
    channel.appendLine(line);
    channel.show(true);
    lines.push(line);
    return line;
  }));
  return { lines };
};
`);
}

describe('e2e harness: code-server in headless Chromium', { skip }, () => {
  let work: string;
  let server: CodeServer;     // for UI tests: the UI probe installed from its .vsix
  let hostServer: CodeServer; // for in-host tests: the smoke-test driver (which hides toasts)
  let browser: E2EBrowser;
  let ws: string;
  // The in-host entries use the project's runner (test/e2e/in-host/runner.ts, built on its own).
  const runnerJs = JSON.stringify(join(root, 'out', 'test', 'e2e', 'in-host', 'runner.js'));

  before(async () => {
    assert.ok(existsSync(JSON.parse(runnerJs)), `${runnerJs} is missing: build with node .ci/build.mjs`);
    work = mkdtempSync(join(tmpdir(), 'winrm-e2e-harness-'));
    ws = join(work, 'workspace');
    mkdirSync(ws);
    writeFileSync(join(ws, 'hello.txt'), 'hi\n');
    // The UI probe goes through the same path as the real extension: vsce package, then
    // code-server --install-extension.
    const uiProbe = join(work, 'ui-probe');
    writeProbe(uiProbe, 'uiProbe', 'UI Probe');
    writeProbe(join(work, 'host-probe'), 'hostProbe', 'Host Probe');
    mkdirSync(join(work, 'host-tests'));
    const vsix = join(work, 'ui-probe.vsix');
    const packed = spawnSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package',
      '--allow-missing-repository', '--skip-license', '--out', vsix], { cwd: uiProbe, encoding: 'utf8' });
    assert.equal(packed.status, 0, `vsce package failed:\n${packed.stdout}\n${packed.stderr}`);
    // Started side by side; whatever did start is kept for after() even if another failed.
    const [s, h, b] = await Promise.allSettled([
      startCodeServer({ vsix: [vsix] }),
      startCodeServer({ smokeTestDriver: true }),
      launchBrowser(),
    ]);
    if (s.status === 'fulfilled') server = s.value;
    if (h.status === 'fulfilled') hostServer = h.value;
    if (b.status === 'fulfilled') browser = b.value;
    for (const r of [s, h, b]) if (r.status === 'rejected') throw r.reason;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await hostServer?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('UI: palette, quick input, output channel, notification and terminal are read from the page', async () => {
    const page = await browser.newPage();
    try {
      await openWorkbench(page, server, ws);
      assert.match(await page.title(), /workspace/, 'the window opened the workspace folder');

      // A contributed command, which shows up only once the extension host has scanned it.
      await runCommand(page, 'UI Probe: Say Hello');
      await answerQuickInput(page, 'world', { expect: 'Who to greet?' });
      const lines = await waitForOutput(page, 'hello world \u2713 from code-server');
      assert.ok(lines.includes('hello world \u2713 from code-server'), `output lines: ${JSON.stringify(lines)}`);
      await screenshot(page, 'harness-output');

      await runCommand(page, 'UI Probe: Say Hello');
      await answerQuickInput(page, 'nobody', { expect: 'Who to greet?' });
      const note = await waitForNotification(page, 'nobody to greet');
      assert.equal(note.severity, 'error');
      assert.equal(note.message, 'UI Probe: nobody to greet');
      assert.equal(note.source, 'uiprobe');

      // A built-in command, then a real shell: the arithmetic proves the shell ran it (the
      // echoed command line shows "$((6*7))", only the output shows 42).
      await runCommand(page, 'Terminal: Create New Terminal');
      await waitForTerminal(page, /[$#] ?$/, 20_000);
      await typeInTerminal(page, 'echo hello-$((6*7))');
      const plain = await waitForTerminal(page, /^hello-42$/);
      assert.ok(!plain.spans.some(isRed), 'plain output is not red');
      await typeInTerminal(page, "printf '\\033[31m%s\\033[0m\\n' red-$((2+3))");
      const red = await waitForTerminal(page, /^red-5$/);
      const redSpan = red.spans.find((s) => s.text.includes('red-5'));
      assert.ok(redSpan && isRed(redSpan), `red-5 is drawn red: ${JSON.stringify(red.spans)}`);
      assert.equal(redSpan!.ansi, 1);
      await screenshot(page, 'harness-terminal');

      // The Output panel is still there behind the terminal: switching back shows the channel.
      await runCommand(page, 'View: Toggle Output');
      assert.ok((await readOutput(page)).includes('hello world \u2713 from code-server'));
    } catch (e) {
      await screenshot(page, 'harness-ui-failure').catch(() => undefined);
      throw e;
    } finally {
      await page.close();
    }
  });

  test('in-host: a passing run() exits 0 and its console output comes back', async () => {
    const probe = join(work, 'host-probe');
    const entry = join(work, 'host-tests', 'pass.js');
    writeFileSync(entry, `
const assert = require('assert');
const vscode = require('vscode');
const { runTests } = require(${runnerJs});
exports.run = () => runTests([
  { name: 'the extension under development is loaded, not yet active', fn: () => {
    const ext = vscode.extensions.getExtension('e2e.hostprobe');
    assert.ok(ext, 'e2e.hostprobe is loaded');
    assert.equal(ext.isActive, false);
    assert.equal(ext.packageJSON.contributes.commands[0].command, 'hostProbe.hello');
  } },
  { name: 'running its command activates it, writes the greeting and returns it', fn: async () => {
    const line = await vscode.commands.executeCommand('hostProbe.hello', 'in-host');
    assert.equal(line, 'hello in-host \u2713 from code-server');
    const ext = vscode.extensions.getExtension('e2e.hostprobe');
    assert.equal(ext.isActive, true);
    assert.deepEqual(ext.exports.lines, [line]);
    assert.ok((await vscode.commands.getCommands(true)).includes('hostProbe.hello'));
    console.log('IN-HOST PASS: ' + line);
  } },
  { name: 'the window has the workspace open', fn: async () => {
    const folder = vscode.workspace.workspaceFolders[0].uri;
    assert.equal(folder.path, ${JSON.stringify(ws)});
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'hello.txt'));
    assert.equal(doc.getText(), 'hi\\n');
  } },
]);
`);
    const r = await runInHost(hostServer, browser, { extensionDevelopmentPath: probe, extensionTestsPath: entry, workspace: ws, screenshotName: 'harness-in-host-pass' });
    const log = r.log.join('\n');
    assert.equal(r.timedOut, false, `timed out; log:\n${log}\npage errors:\n${r.pageErrors.join('\n')}`);
    assert.equal(r.exitCode, 0, `log:\n${log}`);
    assert.ok(r.log.includes('IN-HOST PASS: hello in-host \u2713 from code-server'), `log:\n${log}`);
    assert.equal(r.log.filter((l) => /^\[in-host\] ok \d - /.test(l)).length, 3, `log:\n${log}`);
    assert.ok(r.log.includes('[in-host] 3 of 3 tests passed'), `log:\n${log}`);
  });

  test('in-host: a failing assertion gives a non-zero exit code and the message in the log', async () => {
    const probe = join(work, 'host-probe');
    const entry = join(work, 'host-tests', 'fail.js');
    writeFileSync(entry, `
const assert = require('assert');
const vscode = require('vscode');
const { runTests } = require(${runnerJs});
exports.run = () => runTests([
  { name: 'passes', fn: () => assert.ok(vscode.extensions.getExtension('e2e.hostprobe')) },
  { name: 'fails', fn: async () => {
    const line = await vscode.commands.executeCommand('hostProbe.hello', 'in-host');
    assert.equal(line, 'goodbye', 'deliberately wrong expectation');
  } },
]);
`);
    const r = await runInHost(hostServer, browser, { extensionDevelopmentPath: probe, extensionTestsPath: entry, workspace: ws });
    const log = r.log.join('\n');
    assert.equal(r.timedOut, false, `timed out; log:\n${log}`);
    assert.equal(r.exitCode, 1, `log:\n${log}`);
    assert.match(log, /\[in-host\] ok 1 - passes/);
    assert.match(log, /\[in-host\] not ok 2 - fails[^\n]*\nAssertionError[^\n]*deliberately wrong expectation/);
    assert.ok(r.log.includes('[in-host] 1 of 2 tests passed'), `log:\n${log}`);
  });
});
