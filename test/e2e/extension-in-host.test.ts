// The extension in code-server's real extension host, driven by test/e2e/in-host/extension-suite.ts
// (see its header for what it proves) against two test hosts with real PowerShell: HTTPS with
// its own CA and HTTP, both with Basic and a canary password. This side starts the hosts and
// code-server, does the user's clicks and typing the suite asks for ("hands"), and afterwards
// searches everything code-server and the browser stored for the canary password.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestHost, type TestHost } from '../host/host';
import { peerMissing, pwshPath } from '../support/peers';
import { canaryForms, chromiumProfileDirs, formatHits, makeCanary, readBrowserStorage, scanText, scanTree, type CanaryForm } from './extension/canary';
import { FAILED_TEST_PREFIX, Hands } from './extension/hands';
import { SUITE_ENV } from './extension/protocol';
import { writeScripts } from './extension/scripts';
import { copyBuiltExtension } from './extension/vsix';
import { launchBrowser, type E2EBrowser } from './harness/browser';
import { startCodeServer, type CodeServer } from './harness/code-server';
import { runInHost } from './harness/in-host';
import { missingTools, root, setupCommand } from './harness/tools';

const missing = missingTools();
const skip = peerMissing('code-server and Chromium for the e2e tests', missing.length === 0, `Missing: ${missing.join(', ')}. Run: ${setupCommand}`)
  || peerMissing('pwsh 7.6.9 behind the test host', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

const USER = 'e2e-admin';
const suiteJs = join(root, 'out', 'test', 'e2e', 'in-host', 'extension-suite.js');

describe('extension in the real extension host (code-server)', { skip }, () => {
  const canary = makeCanary();
  const forms: CanaryForm[] = canaryForms(canary, USER);
  let work: string;
  let ws: string;
  let httpsHost: TestHost;
  let httpHost: TestHost;
  let server: CodeServer;
  let browser: E2EBrowser;

  before(async () => {
    assert.ok(existsSync(suiteJs), `${suiteJs} is missing: build with node .ci/build.mjs`);
    assert.ok(existsSync(join(root, 'out', 'extension.js')), 'out/extension.js is missing: build with node .ci/build.mjs');
    work = mkdtempSync(join(tmpdir(), 'winrm-e2e-inhost-'));
    ws = join(work, 'workspace');
    const canaryFile = join(work, 'canary.txt');
    writeFileSync(canaryFile, canary);
    writeScripts(ws, ['dashed.ps1', 'variables.ps1']);
    // A folder of extensions (runInHost's dialogs mode adds its driver next to ours).
    copyBuiltExtension(join(work, 'dev', 'winrm-runner'));
    [httpsHost, httpHost] = await Promise.all([
      startTestHost({ https: true, user: USER, password: canary }),
      startTestHost({ user: USER, password: canary }),
    ]);
    mkdirSync(join(ws, 'certs'));
    copyFileSync(httpsHost.caPemPath!, join(ws, 'certs', 'lab-ca.pem'));
    const [s, b] = await Promise.allSettled([
      startCodeServer({
        smokeTestDriver: true,
        // Kept after stop() for the canary search; removed in after().
        keep: true,
        // Trace level everywhere, the extension's "WinRM" log channel included.
        args: ['--log', 'trace'],
        env: {
          [SUITE_ENV.httpsUrl]: httpsHost.url,
          [SUITE_ENV.httpUrl]: httpHost.url,
          [SUITE_ENV.caFile]: 'certs/lab-ca.pem',
          [SUITE_ENV.user]: USER,
          [SUITE_ENV.canaryFile]: canaryFile,
        },
      }),
      launchBrowser(),
    ]);
    if (s.status === 'fulfilled') server = s.value;
    if (b.status === 'fulfilled') browser = b.value;
    for (const r of [s, b]) if (r.status === 'rejected') throw r.reason;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await httpsHost?.close();
    await httpHost?.close();
    if (server && process.env.E2E_KEEP !== '1') rmSync(server.runDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('hosts, passwords, runs in both styles, remove and forget: the suite passes in the extension host', async () => {
    const hands = new Hands(canary);
    const r = await runInHost(server, browser, {
      extensionDevelopmentPath: join(work, 'dev'),
      extensionTestsPath: suiteJs,
      workspace: ws,
      dialogs: true,
      timeoutMs: Number(process.env.E2E_INHOST_TIMEOUT ?? 150_000),
      screenshotName: 'in-host-extension',
      onPage: (page) => hands.attach(page),
      onLog: (line) => {
        hands.onLog(line);
        if (process.env.E2E_VERBOSE === '1' || line.startsWith('[in-host]')) process.stderr.write(`${line}\n`);
      },
    });
    await hands.idle();
    const log = r.log.join('\n');
    // The suite's own failures first (a CI report may keep only the start of a message): the
    // page's misses are usually their consequence.
    const failures = r.log.filter((l) => l.startsWith(FAILED_TEST_PREFIX));
    assert.deepEqual(failures, [], `the suite failed in the extension host:\n${failures.join('\n')}\nthe page's misses:\n${hands.errors.join('\n')}\nlog:\n${log}`);
    assert.deepEqual(hands.errors, [], `the page did not do what the suite asked:\n${hands.errors.join('\n')}\nlog:\n${log}`);
    assert.equal(r.timedOut, false, `timed out; log:\n${log}\npage errors:\n${r.pageErrors.join('\n')}`);
    assert.equal(r.exitCode, 0, `log:\n${log}\npage errors:\n${r.pageErrors.join('\n')}`);
    assert.ok(r.log.includes('[in-host] 7 of 7 tests passed'), `log:\n${log}`);
    // The hands did type the password: the suite's runs did authenticate with it.
    assert.ok(hands.done.some((a) => a.do === 'type' && a.secret), 'the password was typed through the page');
    assert.equal(httpsHost.openShells() + httpHost.openShells() >= 1, true, 'the runs reached the hosts (a reused shell is kept)');
  });

  test('the canary password is nowhere code-server, the extension or the browser stored it', async () => {
    // Browser side (VS Code in a browser keeps globalState in IndexedDB and SecretStorage in
    // localStorage), read in a page of the same origin, then on disk in Chromium's profile.
    const page = await browser.newPage();
    let storage;
    try {
      await page.goto(`${server.url}/healthz`);
      storage = await readBrowserStorage(page);
    } finally {
      await page.close();
    }
    // The team host's Basic confirmation proves globalState was read from this store.
    assert.ok(storage.indexedDb.includes('winrm.basicOverHttpConfirmed'), `globalState not found in IndexedDB (databases: ${storage.databases.join(', ')})`);
    const sealed = storage.localStorage['secrets.provider'];
    assert.ok(sealed && sealed.length > 40, 'SecretStorage\'s sealed store is in localStorage ("secrets.provider")');
    const browserHits = [
      ...scanText('browser IndexedDB', storage.indexedDb, forms),
      ...Object.entries(storage.localStorage).flatMap(([k, v]) => scanText(`browser localStorage "${k}"`, v, forms)),
    ];
    const profiles = chromiumProfileDirs();
    assert.ok(profiles.length > 0, 'Chromium\'s profile folder was found');
    const profileScans = profiles.map((d) => scanTree(d, forms));

    // Server side, after code-server stopped (logs flushed): user data (settings, logs at trace
    // level with the WinRM log channel and the output channels, state), extensions, HOME, XDG
    // and TMPDIR folders, and the workspace.
    await server.stop();
    const serverScan = scanTree(server.runDir, forms);
    const wsScan = scanTree(ws, forms);
    const winrmLog = serverScan.files.find((f) => /winrm-runner\.winrm-runner[\\/]WinRM\.log$/.test(f));
    assert.ok(winrmLog, `the WinRM log channel's file is among the scanned files (${serverScan.files.length} files)`);
    assert.match(readFileSync(winrmLog, 'utf8'), /\[trace\] → request .*\n {2}content-type: [^\n]*\n {2}authorization: Basic \[redacted\]/);
    assert.ok(serverScan.files.some((f) => f.endsWith(join('User', 'settings.json'))), 'settings.json was scanned');
    assert.ok(wsScan.files.some((f) => f.endsWith('winrm-hosts.json')), 'the team file was scanned');
    // The search itself finds a planted canary (so "not found" means something).
    assert.equal(scanText('control', `x${Buffer.from(`${USER}:${canary}`).toString('base64')}x`, forms).length, 1);

    const hits = [...browserHits, ...profileScans.flatMap((s) => s.hits), ...serverScan.hits, ...wsScan.hits];
    assert.deepEqual(hits, [], `the canary password was found:\n${formatHits(hits)}`);
    process.stderr.write(`[canary] searched ${serverScan.files.length} code-server files (${(serverScan.bytes / 1e6).toFixed(1)} MB), `
      + `${profileScans.reduce((n, s) => n + s.files.length, 0)} Chromium profile files, ${wsScan.files.length} workspace files, `
      + `${Object.keys(storage.localStorage).length} localStorage keys and ${storage.indexedDb.split('\n').length} IndexedDB records: not found\n`);
  });
});
