// Runs an extension's tests inside the real extension host of code-server, through the
// workbench's smoke-test driver: the page is opened with a `payload` naming the extension
// under development and the test entry (a module exporting `run(): Promise<void>`), and the
// workbench reports the test output and exit code to window.codeAutomationLog/Exit, which
// are exposed to this process. code-server must run with `smokeTestDriver: true`.
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

/** Opens a new page with the payload and waits for the tests' exit code. */
export async function runInHost(server: CodeServer, browser: E2EBrowser, opts: InHostOptions): Promise<InHostResult> {
  const started = Date.now();
  const page: Page = await browser.newPage();
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
  try {
    const url = `${server.folderUrl(opts.workspace)}&${payloadQuery(server, opts.extensionDevelopmentPath, opts.extensionTestsPath)}`;
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
  }
}
