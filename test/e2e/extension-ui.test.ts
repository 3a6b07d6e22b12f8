// The packaged extension (.vsix from `npm run package`, installed with code-server's CLI) used
// through the browser as a person would, against test hosts with real PowerShell: the Add Host
// wizard from the welcome view, Run File from the palette with the terminal's and the Output
// panel's text read from the page (non-ASCII, red stderr, exit code), Ctrl+C in the terminal
// of a long run (the command stops, the host has no shell left), a wrong password (a readable
// error notification), a CredSSP host whose CredSSP is too old (the editor's extra CredSSP
// pick, its warning before old versions are allowed, Test Connection before and after). Each
// step leaves a screenshot in test-results/e2e/ui-*.png. Then the canary password is searched
// for in everything code-server and the browser stored.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credSspCertificate, credSspScheme, type CredSspScheme } from '../host/credssp/acceptor';
import { startTestHost, type TestHost } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { peerMissing, pwshPath } from '../support/peers';
import { canaryForms, chromiumProfileDirs, formatHits, makeCanary, readBrowserStorage, scanText, scanTree, type CanaryForm, type Hit } from './extension/canary';
import { answerWizard, clickRow, typeAndEnter } from './extension/hands';
import { NON_ASCII, writeScripts } from './extension/scripts';
import { packageExtension, type Packaged } from './extension/vsix';
import {
  clickDialogButton, isRed, launchBrowser, openWorkbench, readNotifications, readOutput, readTerminal, readTerminalText,
  runCommand, screenshot, showOutputChannel, waitForDialog, waitForNotification, waitForOutput, waitForQuickInput, waitForTerminal,
  type E2EBrowser,
} from './harness/browser';
import { startCodeServer, type CodeServer } from './harness/code-server';
import type { Page } from './harness/playwright-types';
import { missingTools, poll, setupCommand } from './harness/tools';

const missing = missingTools();
const skip = peerMissing('code-server and Chromium for the e2e tests', missing.length === 0, `Missing: ${missing.join(', ')}. Run: ${setupCommand}`)
  || peerMissing('pwsh 7.6.9 behind the test host', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

const USER = 'lab-admin';
const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3), for the CredSSP host', sidecarAvailable(), SIDECAR_HOW_TO_GET);

/** Rows of the WinRM view's Hosts tree: name and description ("127.0.0.1:1234 (HTTPS) · basic · default"). */
async function hostRows(page: Page): Promise<{ name: string; description: string }[]> {
  return page.locator('.part.sidebar .tree-explorer-viewlet-tree-view .monaco-list-row').evaluateAll((rows: any[]) => rows.map((r: any) => ({
    name: (r.querySelector('.label-name')?.textContent ?? '').replace(/\u00a0/g, ' ').trim(),
    description: (r.querySelector('.label-description')?.textContent ?? '').replace(/\u00a0/g, ' ').trim(),
  })));
}

async function waitForHostRow(page: Page, name: string, description: RegExp): Promise<{ name: string; description: string }> {
  return poll(async () => (await hostRows(page)).find((r) => r.name === name && description.test(r.description)), { timeoutMs: 10_000, what: `host row "${name}" ${description}` });
}

/**
 * Opens a workspace file with Go to File (Ctrl+P), as a person does. The file list
 * re-renders while it filters, so a click can land on a row that just moved: try again.
 */
async function openFile(page: Page, name: string): Promise<void> {
  const tab = page.locator(`.tabs-container .tab.active[aria-label*="${name}"]`).first();
  for (let attempt = 1; ; attempt++) {
    try {
      await runCommand(page, 'Go to File...');
      await waitForQuickInput(page);
      await page.locator('.quick-input-widget .quick-input-box input').first().fill(name);
      await clickRow(page, name);
      await tab.waitFor({ state: 'visible', timeout: 5_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
}

/** Colours of the spans of the Output panel's line containing `text` (the channel's grammar). */
async function outputLineColors(page: Page, text: string): Promise<string[]> {
  return page.locator('[id="workbench.panel.output"] .monaco-editor .view-lines .view-line').evaluateAll((lines: any[], wanted: string) => {
    const line = lines.find((l: any) => (l.textContent ?? '').replace(/\u00a0/g, ' ').includes(wanted));
    if (!line) return [];
    const win = line.ownerDocument.defaultView;
    return Array.from(line.querySelectorAll('span span') as ArrayLike<any>).filter((s: any) => (s.textContent ?? '').includes(wanted.split(' ')[0]))
      .map((s: any) => win.getComputedStyle(s).color as string);
  }, text);
}

function reddish(color: string): boolean {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(color);
  return !!m && Number(m[1]) >= 100 && Number(m[1]) > 2 * Number(m[2]) && Number(m[1]) > 2 * Number(m[3]);
}

describe('extension UI in code-server, through the browser', { skip }, () => {
  const canary = makeCanary();
  // The password typed for the wrong-password host must not leak either.
  const wrongCanary = makeCanary('wrong');
  const forms: CanaryForm[] = [...canaryForms(canary, USER), ...canaryForms(wrongCanary, USER).map((f) => ({ ...f, name: `wrong password, ${f.name}` }))];
  let work: string;
  let ws: string;
  let labHost: TestHost;   // HTTPS with its own CA: the Lab DC host and the wrong-password host
  let longHost: TestHost;  // HTTP: the long run stopped with Ctrl+C (its shells counted alone)
  let oldHost: TestHost | undefined;  // HTTP, CredSSP version 4 (no CVE-2018-0886 fix): the CredSSP options
  let oldScheme: CredSspScheme;
  let sidecar: NtlmSidecar | undefined;
  let cert: Awaited<ReturnType<typeof credSspCertificate>> | undefined;
  let packaged: Packaged;
  let server: CodeServer;
  let browser: E2EBrowser;
  let page: Page;
  const seenTexts: [string, string][] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'winrm-e2e-ui-'));
    ws = join(work, 'lab-scripts');
    writeScripts(ws, ['hello.ps1', 'long.ps1']);
    const started = Date.now();
    [labHost, longHost] = await Promise.all([
      startTestHost({ https: true, user: USER, password: canary }),
      startTestHost({ user: USER, password: canary }),
    ]);
    if (!noSidecar) {
      const users = [{ domain: 'LAB', user: USER, password: canary }];
      sidecar = new NtlmSidecar({ users, domainName: 'LAB', computerName: 'LAB-OLD01' });
      await sidecar.ready();
      cert = await credSspCertificate();
      oldScheme = credSspScheme({ sidecar, users, keyPem: cert.keyPem, certPem: cert.certPem, version: 4 });
      oldHost = await startTestHost({ user: USER, password: canary, schemes: () => [oldScheme], allowUnencrypted: false, hostName: 'LAB-OLD01' });
    }
    packaged = packageExtension();
    process.stderr.write(`[ui] packaged ${packaged.vsix} in ${packaged.ms} ms\n`);
    const [s, b] = await Promise.allSettled([
      // No smoke-test driver: it would hide the notification toasts this test reads.
      startCodeServer({ vsix: [packaged.vsix], keep: true, args: ['--log', 'trace'] }),
      launchBrowser(),
    ]);
    if (s.status === 'fulfilled') server = s.value;
    if (b.status === 'fulfilled') browser = b.value;
    for (const r of [s, b]) if (r.status === 'rejected') throw r.reason;
    page = await browser.newPage();
    await openWorkbench(page, server, ws);
    process.stderr.write(`[ui] ready in ${Date.now() - started} ms\n`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await labHost?.close();
    await longHost?.close();
    await oldHost?.close();
    await sidecar?.close();
    await cert?.remove();
    packaged?.cleanup();
    if (server && process.env.E2E_KEEP !== '1') rmSync(server.runDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await screenshot(page, `ui-failure-${name}`).catch(() => undefined);
      throw e;
    }
  }

  test('Add Host from the WinRM view\'s welcome: the wizard\'s steps, then the host in the tree as the default', () => step('add-host', async () => {
    await page.locator('.part.activitybar .action-label[aria-label="WinRM"]').first().click({ timeout: 20_000 });
    const welcome = page.locator('.part.sidebar .welcome-view-content').first();
    await welcome.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await welcome.innerText(), /No WinRM hosts yet/);
    await screenshot(page, 'ui-01-welcome');
    await welcome.locator('.monaco-button').filter({ hasText: 'Add Host' }).first().click();
    const first = await waitForQuickInput(page, 'A name for this host');
    assert.equal(first.title, 'Add Host (1/14)');
    await screenshot(page, 'ui-02-add-host-wizard');
    const steps = await answerWizard(page, 'Add Host', [
      { step: 'A name for this host', type: 'Lab DC' },
      { step: 'Host name or URL', type: labHost.url },
      { step: 'User name', type: USER },
      { step: 'Password', type: canary },
      { step: 'CA certificate file', type: labHost.caPemPath! },
    ]);
    // HTTPS skips nothing: all 14 steps, the others with their defaults (HTTPS from the URL,
    // its port, Basic, no domain, dashed, safe, the profile's code page, verify the certificate).
    assert.equal(steps.length, 14, steps.join('\n'));
    assert.match(steps[2], /Protocol/);
    assert.match(steps[13], /Certificate verification/);
    await waitForHostRow(page, 'Lab DC', new RegExp(`^127\\.0\\.0\\.1:${labHost.port} \\(HTTPS\\) · basic.* · default$`));
    const note = await waitForNotification(page, 'Host "Lab DC" added.');
    assert.equal(note.severity, 'info');
    await screenshot(page, 'ui-03-host-added');
  }));

  test('Run File on Host from the palette: the terminal streams the output (non-ASCII, red stderr) and the exit code; so does the output channel', () => step('run-file', async () => {
    await openFile(page, 'hello.ps1');
    await runCommand(page, 'WinRM: Run File on Host');
    const footer = await waitForTerminal(page, /^■ Run #1 exit code 3 · /, 30_000);
    assert.ok(footer.spans.every((s) => !isRed(s)));
    const rows = await readTerminal(page);
    const text = rows.map((r) => r.text);
    assert.ok(text.some((t) => /^▶ Run #1 on Lab DC \(127\.0\.0\.1:\d+ \(HTTPS\)\) · language powershell · style dashed · profile safe/.test(t)), text.join('\n'));
    assert.ok(text.includes('Hello from WINRM-TEST'), text.join('\n'));
    assert.ok(text.includes(NON_ASCII), `non-ASCII text arrived intact:\n${text.join('\n')}`);
    const error = rows.find((r) => r.text.includes('Something went wrong on purpose'));
    assert.ok(error, text.join('\n'));
    const errorSpan = error.spans.find((s) => s.text.includes('Something went wrong'))!;
    assert.ok(isRed(errorSpan), `stderr is red: ${JSON.stringify(error.spans)}`);
    assert.ok(!rows.find((r) => r.text === 'Hello from WINRM-TEST')!.spans.some(isRed), 'stdout is not red');
    assert.ok(text.includes('Press any key to close the terminal.'));
    seenTexts.push(['terminal of run #1', text.join('\n')]);
    await screenshot(page, 'ui-04-terminal');

    // A non-zero exit code is a failed run: an error notification offers the output.
    const note = await waitForNotification(page, 'WinRM run #1 on Lab DC failed: exit code 3');
    assert.equal(note.severity, 'error');

    await runCommand(page, 'WinRM: Show Output');
    const lines = await waitForOutput(page, /^■ Run #1 exit code 3 · /, 15_000);
    seenTexts.push(['output channel (view)', lines.join('\n')]);
    assert.ok(lines.some((l) => l.startsWith('▶ Run #1 on Lab DC (127.0.0.1:')), lines.join('\n'));
    assert.ok(lines.includes('Hello from WINRM-TEST'), lines.join('\n'));
    assert.ok(lines.includes(NON_ASCII), lines.join('\n'));
    const stderrLine = lines.find((l) => l.startsWith('[stderr] ') && l.includes('Something went wrong on purpose'));
    assert.ok(stderrLine, lines.join('\n'));
    // The editor tokenizes after it renders the text: wait for the grammar's colours.
    let colors: string[] = [];
    await poll(async () => {
      colors = await outputLineColors(page, 'Something went wrong on purpose');
      return colors.length > 0 && colors.every(reddish) ? true : undefined;
    }, { timeoutMs: 10_000, what: 'the stderr line coloured red' }).catch(() => undefined);
    assert.ok(colors.length > 0 && colors.every(reddish), `the channel's grammar colours the stderr line red: ${JSON.stringify(colors)}`);
    await screenshot(page, 'ui-05-output');
  }));

  test('Ctrl+C in the terminal stops a long run on a shell-per-run host; the host reports 0 open shells', () => step('ctrl-c', async () => {
    await runCommand(page, 'WinRM: Add Host');
    await answerWizard(page, 'Add Host', [
      { step: 'A name for this host', type: 'Long Runner' },
      { step: 'Host name or URL', type: longHost.url },
      { step: 'User name', type: USER },
      { step: 'Password', type: canary },
      // The connector's profiles create a shell per run and delete it when the run ends.
      { step: 'Default profile', pick: 'connector-1.5' },
    ]);
    await waitForHostRow(page, 'Long Runner', new RegExp(`^127\\.0\\.0\\.1:${longHost.port} \\(HTTP\\) · basic`));
    // The status bar item switches the default host.
    await page.locator('.part.statusbar .statusbar-item').filter({ hasText: 'Lab DC' }).first().click();
    await waitForQuickInput(page, 'Default host for runs');
    await clickRow(page, 'Long Runner');
    await page.locator('.part.statusbar .statusbar-item').filter({ hasText: 'Long Runner' }).first().waitFor({ timeout: 10_000 });

    await openFile(page, 'long.ps1');
    await runCommand(page, 'WinRM: Run File on Host');
    const dialog = await waitForDialog(page, '"Long Runner" uses Basic authentication over plain HTTP');
    assert.ok(dialog.buttons.includes('Send Password over HTTP'), JSON.stringify(dialog));
    await clickDialogButton(page, 'Send Password over HTTP');
    await waitForTerminal(page, /^tick 3$/, 30_000);
    assert.equal(longHost.openShells(), 1, 'the run has its shell');
    await page.locator('.terminal-wrapper.active .xterm-helper-textarea').first().focus();
    await page.keyboard.press('Control+c');
    await waitForTerminal(page, /interrupt sent to the remote command/, 10_000);
    const footer = await waitForTerminal(page, /^■ Run #2 /, 15_000);
    const ticks = (await readTerminal(page)).filter((r) => /^tick \d+$/.test(r.text)).length;
    assert.ok(ticks >= 3 && ticks < 100, `the command stopped after ${ticks} ticks`);
    // Loopback, so the host's own count is the truth: the shell went with the command.
    await poll(() => longHost.openShells() === 0, { timeoutMs: 10_000, what: 'the test host to report 0 open shells' });
    assert.deepEqual(longHost.shells(), []);
    seenTexts.push(['terminal of run #2', await readTerminalText(page)]);
    await screenshot(page, 'ui-06-ctrl-c');
    process.stderr.write(`[ui] Ctrl+C: ${footer.text}\n`);
  }));

  test('a wrong password: a readable error notification, nothing left open on the host', () => step('wrong-password', async () => {
    await runCommand(page, 'WinRM: Add Host');
    await answerWizard(page, 'Add Host', [
      { step: 'A name for this host', type: 'Wrong Password' },
      { step: 'Host name or URL', type: labHost.url },
      { step: 'User name', type: USER },
      // Empty: asked at the first run.
      { step: 'Password', type: '' },
      { step: 'CA certificate file', type: labHost.caPemPath! },
    ]);
    await waitForHostRow(page, 'Wrong Password', /\(HTTPS\) · basic/);
    const shellsBefore = labHost.openShells();
    await openFile(page, 'hello.ps1');
    await runCommand(page, 'WinRM: Run with Options...');
    await waitForQuickInput(page, 'Run on which host?');
    await clickRow(page, 'Wrong Password');
    for (const expect of ['Language for this run', 'Argument style for this run', 'Profile for this run']) {
      await waitForQuickInput(page, expect);
      await page.locator('.quick-input-widget .quick-input-box input').first().press('Enter');
    }
    await waitForQuickInput(page, 'Arguments for hello.ps1');
    await clickRow(page, 'Run');
    await waitForQuickInput(page, 'WinRM Password: Wrong Password');
    await typeAndEnter(page, wrongCanary, { what: 'the password' });
    await waitForQuickInput(page, 'Remember this password?');
    await clickRow(page, 'Use it until VS Code closes');
    const note = await waitForNotification(page, /WinRM run #3 on Wrong Password failed/, 30_000);
    assert.equal(note.severity, 'error');
    const buttons = await page.locator('.notifications-toasts .notification-list-item').filter({ hasText: 'Wrong Password failed' })
      .first().locator('.notification-list-item-buttons-container .monaco-button').allTextContents();
    assert.deepEqual(buttons.map((b) => b.trim()), ['Re-enter Password', 'Show Output']);
    // Readable: the typed error's words, not a stack or a SOAP fault.
    assert.match(note.message, /password/i);
    assert.doesNotMatch(note.message, /<[a-z:]+|at .*\.js:\d+|undefined|\[object/i);
    seenTexts.push(['wrong-password notification', note.message]);
    await screenshot(page, 'ui-07-wrong-password');
    process.stderr.write(`[ui] wrong password: ${note.message}\n`);
    // Refused at the first request: no shell was created (Lab DC's idle reused shell stays as it was).
    assert.equal(labHost.openShells(), shellsBefore);
  }));

  test('a CredSSP host: one more pick, defaulting to "SPNEGO, version 5+ only"; a version 4 host refused; old versions allowed only after a warning, then it connects', { skip: noSidecar }, () => step('credssp-old', async () => {
    await runCommand(page, 'WinRM: Add Host');
    const added = await answerWizard(page, 'Add Host', [
      { step: 'A name for this host', type: 'Old Exchange' },
      { step: 'Host name or URL', type: oldHost!.url },
      { step: 'Authentication', pick: 'CredSSP' },
      { step: 'Domain (required for CredSSP', type: 'LAB' },
      { step: 'User name', type: USER },
      { step: 'Password', type: canary },
    ]);
    // Encryption and the CredSSP pick are part of the Authentication step: Enter took their defaults.
    const auth = added.findIndex((x) => /Authentication$/.test(x));
    assert.match(added[auth + 1], /\(5\/14\): Message encryption$/, added.join('\n'));
    assert.match(added[auth + 2], /\(5\/14\): CredSSP: inner NTLM and accepted versions$/, added.join('\n'));
    await waitForHostRow(page, 'Old Exchange', new RegExp(`^127\\.0\\.0\\.1:${oldHost!.port} \\(HTTP\\) · credssp, encryption auto`));

    await runCommand(page, 'WinRM: Test Connection');
    await waitForQuickInput(page, 'Test the connection to which host?');
    await clickRow(page, 'Old Exchange');
    const refused = await waitForNotification(page, /^Old Exchange: The host's CredSSP is out of date \(CVE-2018-0886\)/, 30_000);
    assert.equal(refused.severity, 'error');
    assert.match(refused.message, /CredSSP version 4/);
    assert.equal(oldScheme.delegated.length, 0, 'nothing delegated by default');
    seenTexts.push(['CredSSP version 4 notification', refused.message]);

    await runCommand(page, 'WinRM: Edit Host...');
    await waitForQuickInput(page, 'Edit which host?');
    await clickRow(page, 'Old Exchange');
    const old = 'SPNEGO, also versions 2-4';
    await answerWizard(page, 'Edit Host', [{ step: 'CredSSP: inner NTLM', pick: old }]);
    // The pick gives way to a modal warning; Cancel asks again, nothing changed.
    let dialog = await waitForDialog(page, 'Allow CredSSP versions 2-4 for "Old Exchange"?');
    assert.match(dialog.detail, /CVE-2018-0886 fix: a man in the middle can take the delegated password/);
    assert.match(dialog.detail, /Updating the host .* is the fix; this is the last resort/);
    assert.ok(dialog.buttons.includes('Allow Old Versions'), JSON.stringify(dialog));
    await screenshot(page, 'ui-08-credssp-old-versions-warning');
    await clickDialogButton(page, 'Cancel');
    await waitForQuickInput(page, 'CredSSP: inner NTLM and accepted versions');
    await answerWizard(page, 'Edit Host', [{ step: 'CredSSP: inner NTLM', pick: old }]);
    dialog = await waitForDialog(page, 'Allow CredSSP versions 2-4 for "Old Exchange"?');
    await clickDialogButton(page, 'Allow Old Versions');
    // The rest of the editor with Enter: the password is kept.
    await answerWizard(page, 'Edit Host', []);
    // Global state reaches IndexedDB a moment later, as JSON inside JSON.
    await poll(async () => /\\?"credssp\\?":\{\\?"allowOldVersions\\?":true\}/.test((await readBrowserStorage(page)).indexedDb), { timeoutMs: 10_000, what: 'the host\'s "credssp": { "allowOldVersions": true } in the stored hosts' });

    await runCommand(page, 'WinRM: Test Connection');
    await waitForQuickInput(page, 'Test the connection to which host?');
    await clickRow(page, 'Old Exchange');
    const ok = await waitForNotification(page, /^Connected to Old Exchange: hostname is "LAB-OLD01"/, 30_000);
    assert.equal(ok.severity, 'info');
    assert.ok(oldScheme.delegated.length >= 1);
    for (const d of oldScheme.delegated) assert.deepEqual([d.domain, d.user, d.password === canary, d.valid], ['LAB', USER, true, true]);
    await screenshot(page, 'ui-09-credssp-old-connected');
  }));

  test('the canary passwords are nowhere: page texts, code-server\'s files (logs at trace level), the browser\'s storage, the workspace', async () => {
    // Texts shown in the page: the WinRM log channel's tail too.
    for (const n of await readNotifications(page)) seenTexts.push(['notification', n.message]);
    await showOutputChannel(page, 'WinRM');
    const logTail = await poll(async () => { const l = await readOutput(page); return l.some((x) => /\[(info|trace)\]/.test(x)) && l; }, { what: 'the WinRM log channel' });
    seenTexts.push(['WinRM log channel (view)', logTail.join('\n')]);
    const pageHits: Hit[] = seenTexts.flatMap(([where, text]) => scanText(where, text, forms));

    const storage = await readBrowserStorage(page);
    assert.ok(storage.indexedDb.includes('winrm.hosts'), 'the extension\'s globalState (its hosts) is in the browser\'s IndexedDB');
    assert.ok((storage.localStorage['secrets.provider'] ?? '').length > 40, 'SecretStorage\'s sealed store is in localStorage');
    const browserHits = [
      ...scanText('browser IndexedDB', storage.indexedDb, forms),
      ...Object.entries(storage.localStorage).flatMap(([k, v]) => scanText(`browser localStorage "${k}"`, v, forms)),
    ];
    const profiles = chromiumProfileDirs();
    assert.ok(profiles.length > 0, 'Chromium\'s profile folder was found');
    const profileHits = profiles.flatMap((d) => scanTree(d, forms).hits);

    await page.close();
    await server.stop();
    const serverScan = scanTree(server.runDir, forms);
    const wsScan = scanTree(ws, forms);
    const winrmLog = serverScan.files.find((f) => /winrm-runner\.winrm-runner[\\/]WinRM\.log$/.test(f));
    assert.ok(winrmLog, 'the WinRM log channel\'s file was searched');
    const logText = readFileSync(winrmLog, 'utf8');
    assert.match(logText, /authorization: Basic \[redacted\]/, 'the log is at trace level (SOAP exchange with the header redacted)');
    assert.ok(serverScan.files.some((f) => /WinRM Output\.log$/.test(f)), 'the output channel\'s file was searched');
    assert.ok(wsScan.files.length >= 2);

    const hits = [...pageHits, ...browserHits, ...profileHits, ...serverScan.hits, ...wsScan.hits];
    assert.deepEqual(hits, [], `a canary password was found:\n${formatHits(hits)}`);
    process.stderr.write(`[canary] searched ${seenTexts.length} page texts, ${serverScan.files.length} code-server files, `
      + `${storage.indexedDb.split('\n').length} IndexedDB records, ${profiles.length} Chromium profile: not found\n`);
  });
});
