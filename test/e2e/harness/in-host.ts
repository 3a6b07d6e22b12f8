// Runs an extension's tests inside the real extension host of code-server, through the
// workbench's smoke-test driver: the page is opened with a `payload` naming the extension
// under development and the test entry (a module exporting `run(): Promise<void>`), and the
// workbench reports the test output and exit code to window.codeAutomationLog/Exit, which
// are exposed to this process. code-server must run with `smokeTestDriver: true`.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { E2EBrowser } from './browser';
import { screenshot, waitForWorkbench } from './browser';
import type { CodeServer } from './code-server';
import type { Page } from './playwright-types';

export interface InHostOptions {
  /** The extension's folder (its package.json), on this machine. */
  extensionDevelopmentPath: string;
  /** The test entry: a CommonJS file (or folder with index.js) exporting `run()`. */
  extensionTestsPath: string;
  /** The folder the window opens. */
  workspace: string;
  /** How long the whole run may take before it counts as failed (default 60 s). */
  timeoutMs?: number;
  /** If set, a screenshot test-results/e2e/<name>.png is taken when the run ends. */
  screenshotName?: string;
  /** Called with each log line as it arrives (e.g. to echo it). */
  onLog?: (line: string) => void;
  /** Called with the page once it exists, before it loads: the test can work the UI while its entry runs. */
  onPage?: (page: Page) => void;
  /**
   * Run the entry's run() from a generated extension instead of as the extensionTestsPath.
   * Windows with an extensionTestsPath refuse modal dialogs (VS Code's DialogService throws
   * "refused to show dialog in tests"), so a flow that confirms with a modal can only be tested
   * this way, the dialog answered through the page (onPage). The generated extension is written
   * into `extensionDevelopmentPath`, which must then be a writable folder *of* extensions (no
   * package.json of its own; VS Code loads each subfolder): the payload keeps only one
   * extensionDevelopmentPath. It starts the entry once the window has started up; the lines
   * the entry logs through runner.ts (inHostLog(), runTests) and the result come back over a
   * loopback HTTP endpoint of this process (console.log is not forwarded in this mode).
   * Extensions run in Development mode here, not Test mode.
   */
  dialogs?: boolean;
}

export interface InHostResult {
  /** The extension host's exit code: 0 when run() resolved; undefined on timeout. */
  exitCode: number | undefined;
  timedOut: boolean;
  /** The test output (console.log/error of run() and the workbench's own lines), in order. */
  log: string[];
  /** Errors and console errors of the page, for diagnosis. */
  pageErrors: string[];
  ms: number;
}

/** The query string that makes the workbench load the extension and run its tests. */
export function payloadQuery(server: CodeServer, extensionDevelopmentPath: string, extensionTestsPath: string): string {
  const payload = [
    ['extensionDevelopmentPath', server.remoteUri(extensionDevelopmentPath)],
    ['extensionTestsPath', server.remoteUri(extensionTestsPath)],
  ];
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/**
 * The `dialogs` mode's pieces: a loopback endpoint for log lines and the exit code, and a
 * generated extension that calls the entry's run() and reports to it.
 */
async function startReporter(devFolder: string, entry: string, addLog: (line: string) => void, resolveExit: (code: number) => void): Promise<{ close(): void }> {
  if (existsSync(join(devFolder, 'package.json'))) {
    throw new Error(`dialogs mode: ${devFolder} must be a folder of extensions (it has a package.json); put the extension in a subfolder`);
  }
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
      try {
        const msg = JSON.parse(body) as { line?: string; code?: number };
        if (req.url === '/log' && typeof msg.line === 'string') addLog(msg.line);
        if (req.url === '/exit') resolveExit(Number(msg.code));
      } catch { /* not ours */ }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const driverDir = join(devFolder, 'in-host-driver');
  mkdirSync(driverDir, { recursive: true });
  writeFileSync(join(driverDir, 'package.json'), JSON.stringify({
    name: 'in-host-driver', publisher: 'e2e', version: '0.0.1', license: 'MIT',
    engines: { vscode: '^1.90.0' }, main: './extension.js', activationEvents: ['onStartupFinished'],
  }));
  writeFileSync(join(driverDir, 'extension.js'), `
const http = require('http');
let queue = Promise.resolve();
// One request at a time, so lines arrive in order.
function post(path, body) {
  queue = queue.then(() => new Promise((resolve) => {
    const req = http.request(${JSON.stringify(url)} + path, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', resolve);
    req.end(JSON.stringify(body));
  }));
  return queue;
}
// console.log is not forwarded outside extension-test windows: runTests logs through this.
globalThis.inHostLog = (line) => { post('/log', { line: String(line) }); };
exports.activate = () => {
  Promise.resolve().then(() => require(${JSON.stringify(entry)}).run())
    .then(() => 0, (e) => { globalThis.inHostLog(String((e && e.stack) || e)); return 1; })
    .then((code) => post('/exit', { code }));
};
`);
  return {
    close: () => {
      server.close();
      server.closeAllConnections();
      rmSync(driverDir, { recursive: true, force: true });
    },
  };
}

/** Opens a new page with the payload and waits for the tests' exit code. */
export async function runInHost(server: CodeServer, browser: E2EBrowser, opts: InHostOptions): Promise<InHostResult> {
  const started = Date.now();
  const page: Page = await browser.newPage();
  opts.onPage?.(page);
  const log: string[] = [];
  const pageErrors: string[] = [];
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => { resolveExit = r; });

  const addLog = (line: string) => { log.push(line); opts.onLog?.(line); };
  // The workbench calls codeAutomationLog(type, args) for the extension host's output, and
  // codeAutomationExit(code) when run() has settled and the extension host is done.
  await page.exposeFunction('codeAutomationLog', (type: unknown, args: unknown) => {
    const parts = Array.isArray(args) ? args : [args];
    const text = parts.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    addLog(typeof type === 'string' && type !== 'log' && type !== 'info' ? `[${type}] ${text}` : text);
  });
  await page.exposeFunction('codeAutomationExit', (code: unknown) => { resolveExit(Number(code)); });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), timeoutMs); });
  const reporter = opts.dialogs ? await startReporter(opts.extensionDevelopmentPath, opts.extensionTestsPath, addLog, resolveExit) : undefined;
  try {
    const query = reporter
      ? `payload=${encodeURIComponent(JSON.stringify([['extensionDevelopmentPath', server.remoteUri(opts.extensionDevelopmentPath)]]))}`
      : payloadQuery(server, opts.extensionDevelopmentPath, opts.extensionTestsPath);
    const url = `${server.folderUrl(opts.workspace)}&${query}`;
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
    // Not awaited on its own: a fast test can exit before the workbench finished rendering.
    const rendered = waitForWorkbench(page, timeoutMs).catch((e: Error) => { pageErrors.push(`workbench: ${e.message}`); });
    const exitCode = await Promise.race([exit, timeout]);
    await Promise.race([rendered, new Promise((r) => setTimeout(r, 100))]);
    if (opts.screenshotName) await screenshot(page, opts.screenshotName).catch(() => undefined);
    return { exitCode, timedOut: exitCode === undefined, log, pageErrors, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    await page.close().catch(() => undefined);
    reporter?.close();
  }
}
