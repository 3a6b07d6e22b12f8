// Debian's Chromium driven by playwright-core, and helpers that work the VS Code workbench
// the way a person does: the command palette, quick inputs, the Output panel, the terminal,
// notifications, and screenshots into test-results/e2e/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeServer } from './code-server';
import type { Browser, BrowserContext, Page } from './playwright-types';
import { chromiumPath, loadPlaywright, poll, resultsDir } from './tools';

// The page-side functions below run in Chromium, where `document` exists; the project's
// type check has no DOM library, so they reach it through globalThis.
/* eslint-disable @typescript-eslint/no-explicit-any */

export interface BrowserOptions {
  /** Default /usr/bin/chromium (or E2E_CHROMIUM). */
  executablePath?: string;
  /** More Chromium flags. */
  args?: string[];
  /** Page size (default 1600x1000: more editor and terminal lines are rendered). */
  viewport?: { width: number; height: number };
}

export interface E2EBrowser {
  readonly browser: Browser;
  /**
   * A new page. By default pages share one browser context, so the workbench's scripts come
   * from its HTTP cache (a first load takes 3-5 s, later ones about 1.5 s); the workbench's
   * own state (layout, open panels) is then shared per code-server as well. `isolated: true`
   * gives the page a context of its own. Close pages with page.close().
   */
  newPage(opts?: { isolated?: boolean }): Promise<Page>;
  /** Closes Chromium (playwright removes its profile folder). */
  close(): Promise<void>;
}

export const chromiumFlags = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
  // Loopback only: any other host name fails to resolve instead of reaching the network.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
];

export async function launchBrowser(opts: BrowserOptions = {}): Promise<E2EBrowser> {
  const { chromium } = loadPlaywright();
  // launch() gives Chromium a fresh temporary --user-data-dir of its own and removes it on close.
  const browser = await chromium.launch({
    executablePath: opts.executablePath ?? chromiumPath,
    // --headless is in the flags: playwright's own switch would pick its own variant.
    headless: false,
    args: [...chromiumFlags, ...(opts.args ?? [])],
    timeout: 30_000,
  });
  const contexts: BrowserContext[] = [];
  let shared: BrowserContext | undefined;
  const newContext = async () => {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1600, height: 1000 } });
    contexts.push(context);
    return context;
  };
  return {
    browser,
    async newPage(pageOpts = {}) {
      if (pageOpts.isolated) return (await newContext()).newPage();
      shared ??= await newContext();
      return shared.newPage();
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
    },
  };
}

export interface OpenOptions {
  /** Extra query string (already encoded), e.g. `payload=...`. */
  query?: string;
  /** How long the workbench may take to render (default 60 s). */
  timeoutMs?: number;
}

/** Opens the workbench on `folder` and waits until it has rendered (see waitForWorkbench). */
export async function openWorkbench(page: Page, server: CodeServer, folder: string, opts: OpenOptions = {}): Promise<void> {
  const url = server.folderUrl(folder) + (opts.query ? `&${opts.query}` : '');
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: opts.timeoutMs ?? 60_000 });
  await waitForWorkbench(page, opts.timeoutMs ?? 60_000);
}

/**
 * Waits until the workbench shows its parts and the status bar, i.e. it is connected to the
 * server and the window is usable (extensions may still be activating).
 */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForSelector('.monaco-workbench .part.statusbar', { state: 'visible', timeout: timeoutMs });
  await page.waitForSelector('.monaco-workbench .part.activitybar, .monaco-workbench .part.sidebar', { state: 'attached', timeout: timeoutMs });
}

const quickInput = '.quick-input-widget';
const quickInputBox = `${quickInput} .quick-input-box input`;
const quickRows = `${quickInput} .monaco-list-row`;

async function quickInputVisible(page: Page): Promise<boolean> {
  return page.locator(quickInput).first().isVisible();
}

/** Opens a fresh command palette (F1) and waits for its input box. */
export async function openPalette(page: Page): Promise<void> {
  // A palette left open keeps the command list it was opened with: close it first.
  if (await quickInputVisible(page)) {
    await page.keyboard.press('Escape');
    await page.locator(quickInput).first().waitFor({ state: 'hidden', timeout: 2_000 }).catch(() => undefined);
  }
  await poll(async () => {
    if (!(await quickInputVisible(page))) await page.keyboard.press('F1');
    await page.locator(quickInputBox).first().waitFor({ state: 'visible', timeout: 1_000 });
    return true;
  }, { timeoutMs: 10_000, what: 'the command palette' });
}

export interface RunCommandOptions {
  /** How long to keep retrying until the command is listed (default 20 s). */
  timeoutMs?: number;
}

/** Index of the visible quick-input row whose label is exactly `label`, or undefined. */
async function rowIndex(page: Page, label: string): Promise<number | undefined> {
  return page.locator(quickRows).evaluateAll((rows: any[], wanted: string) => {
    for (let i = 0; i < rows.length; i++) {
      const text = (rows[i].querySelector('.label-name')?.textContent ?? '').replace(/\u00a0/g, ' ').trim();
      if (text === wanted) return i;
    }
    return undefined;
  }, label);
}

/**
 * Runs a command through the palette: F1, `>Title`, and a click on the row whose label is
 * exactly `title` ("Category: Title" for contributed commands with a category). Contributed
 * commands appear a second or two after the window renders, and the palette lists only what
 * existed when it opened, so each retry reopens it.
 */
export async function runCommand(page: Page, title: string, opts: RunCommandOptions = {}): Promise<void> {
  try {
    await poll(async () => {
      await openPalette(page);
      await page.locator(quickInputBox).first().fill(`>${title}`, { timeout: 2_000 });
      // The list filters asynchronously; give it a moment before reopening.
      const index = await poll(() => rowIndex(page, title), { timeoutMs: 1_500, intervalMs: 50, what: `"${title}" in the palette` });
      await page.locator(quickRows).nth(index).click({ timeout: 2_000 });
      return true;
    }, { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 200, what: `command "${title}"` });
  } catch (e) {
    await page.keyboard.press('Escape').catch(() => undefined);
    throw e;
  }
}

export interface QuickInputState {
  /** The title bar text, if the input has one. */
  title: string;
  /** The placeholder or prompt. */
  placeholder: string;
  /** The message under the box (prompt, or a validation message). */
  message: string;
  /** The visible rows' labels (for a quick pick). */
  items: string[];
}

/** What the open quick input shows, or undefined if none is open. */
export async function readQuickInput(page: Page): Promise<QuickInputState | undefined> {
  if (!(await quickInputVisible(page))) return undefined;
  return page.locator(quickInput).first().evaluate((w: any) => {
    const text = (sel: string) => (w.querySelector(sel)?.textContent ?? '').replace(/\u00a0/g, ' ').trim();
    return {
      title: text('.quick-input-title'),
      placeholder: (w.querySelector('.quick-input-box input')?.getAttribute('placeholder') ?? '').trim(),
      message: text('.quick-input-message'),
      items: Array.from(w.querySelectorAll('.monaco-list-row') as ArrayLike<any>)
        .map((r: any) => (r.querySelector('.label-name')?.textContent ?? r.textContent ?? '').replace(/\u00a0/g, ' ').trim()),
    };
  });
}

export interface AnswerOptions {
  /** Wait until the open input's placeholder, prompt or title contains this. */
  expect?: string | RegExp;
  /** Press Enter afterwards (default true). */
  submit?: boolean;
  timeoutMs?: number;
}

/** Types an answer into the open quick input (an InputBox, or a QuickPick's filter) and submits it. */
export async function answerQuickInput(page: Page, text: string, opts: AnswerOptions = {}): Promise<void> {
  await waitForQuickInput(page, opts.expect, opts.timeoutMs);
  const box = page.locator(quickInputBox).first();
  await box.fill(text, { timeout: 5_000 });
  if (opts.submit ?? true) await box.press('Enter', { timeout: 5_000 });
}

/**
 * Accepts the open quick input as it stands (Enter): an InputBox keeps its prefilled value, a
 * QuickPick takes its active row. For steps where the default answer is the right one.
 */
export async function acceptQuickInput(page: Page, opts: { expect?: string | RegExp; timeoutMs?: number } = {}): Promise<void> {
  await waitForQuickInput(page, opts.expect, opts.timeoutMs);
  await page.locator(quickInputBox).first().press('Enter', { timeout: 5_000 });
}

/** Picks the row whose label is `label` in the open quick pick. */
export async function pickQuickItem(page: Page, label: string, opts: { expect?: string | RegExp; timeoutMs?: number } = {}): Promise<void> {
  await waitForQuickInput(page, opts.expect, opts.timeoutMs);
  const index = await poll(() => rowIndex(page, label), { timeoutMs: opts.timeoutMs ?? 10_000, what: `quick pick item "${label}"` });
  await page.locator(quickRows).nth(index).click();
}

/** Waits for an open quick input, optionally one whose title/placeholder/prompt matches. */
export async function waitForQuickInput(page: Page, expect?: string | RegExp, timeoutMs = 10_000): Promise<QuickInputState> {
  return poll(async () => {
    const s = await readQuickInput(page);
    if (!s) return undefined;
    if (expect === undefined) return s;
    const all = `${s.title}\n${s.placeholder}\n${s.message}`;
    return (typeof expect === 'string' ? all.includes(expect) : expect.test(all)) ? s : undefined;
  }, { timeoutMs, what: `a quick input${expect ? ` matching ${expect}` : ''}` });
}

/**
 * The lines the Output panel's editor has rendered, top to bottom, with non-breaking spaces
 * turned back into spaces. Only lines in view are in the page (the editor virtualises), and
 * the panel follows the end of the channel, so this is the channel's tail. Empty if the
 * Output panel is not shown.
 */
export async function readOutput(page: Page): Promise<string[]> {
  return page.locator('[id="workbench.panel.output"] .monaco-editor .view-lines').first().evaluate((el: any) => {
    const lines = Array.from(el.querySelectorAll('.view-line') as ArrayLike<any>)
      .map((l: any) => ({ top: parseFloat(l.style.top || '0'), text: (l.textContent ?? '').replace(/\u00a0/g, ' ') }));
    // Rows are reused while scrolling, so DOM order is not line order; their `top` is.
    lines.sort((a, b) => a.top - b.top);
    return lines.map((l) => l.text);
  }).catch(() => []);
}

/** Shows an output channel by name ("Output: Show Output Channels..." then the name). */
export async function showOutputChannel(page: Page, name: string): Promise<void> {
  await runCommand(page, 'Output: Show Output Channels...');
  await pickQuickItem(page, name);
}

/** Waits until the Output panel shows a line matching `pattern`; returns all shown lines. */
export async function waitForOutput(page: Page, pattern: string | RegExp, timeoutMs = 15_000): Promise<string[]> {
  return poll(async () => {
    const lines = await readOutput(page);
    return lines.some((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l))) ? lines : undefined;
  }, { timeoutMs, what: `output line matching ${pattern}` });
}

export interface TerminalSpan {
  text: string;
  /** ANSI palette index from xterm's `xterm-fg-N` class (1 = red, 9 = bright red), if any. */
  ansi?: number;
  /** The computed CSS colour, e.g. "rgb(205, 49, 49)". */
  color: string;
  bold: boolean;
}

export interface TerminalLine {
  text: string;
  spans: TerminalSpan[];
}

/**
 * The active terminal's rendered rows (the DOM renderer's `.xterm-rows` children), with
 * trailing blank rows dropped. Each row keeps its coloured spans, so a test can tell a red
 * stderr line from plain output (see isRed).
 */
export async function readTerminal(page: Page): Promise<TerminalLine[]> {
  const rows: TerminalLine[] = await page.locator('.terminal-wrapper.active .xterm-rows').first().evaluate((el: any) => {
    const win = el.ownerDocument.defaultView;
    return Array.from(el.children as ArrayLike<any>).map((row: any) => {
      const spans: any[] = [];
      const walk = (node: any, inherited: any) => {
        for (const child of Array.from(node.childNodes as ArrayLike<any>)) {
          if (child.nodeType === 3) {
            const text = (child.textContent ?? '').replace(/\u00a0/g, ' ');
            if (text) spans.push({ text, ...inherited });
          } else if (child.nodeType === 1) {
            const cls = Array.from(child.classList as ArrayLike<string>);
            const fg = cls.map((c) => /^xterm-fg-(\d+)$/.exec(c)).find(Boolean);
            const style = win.getComputedStyle(child);
            walk(child, {
              ansi: fg ? Number(fg[1]) : inherited.ansi,
              color: style.color,
              bold: cls.includes('xterm-bold') || Number(style.fontWeight) >= 600,
            });
          }
        }
      };
      const base = win.getComputedStyle(row);
      walk(row, { ansi: undefined, color: base.color, bold: false });
      return { text: spans.map((s) => s.text).join('').replace(/\s+$/, ''), spans };
    });
  }).catch(() => []);
  while (rows.length && rows[rows.length - 1].text === '') rows.pop();
  return rows;
}

/** The active terminal's text, one row a line. */
export async function readTerminalText(page: Page): Promise<string> {
  return (await readTerminal(page)).map((l) => l.text).join('\n');
}

/** Waits until the active terminal shows a row matching `pattern`; returns that row. */
export async function waitForTerminal(page: Page, pattern: string | RegExp, timeoutMs = 15_000): Promise<TerminalLine> {
  return poll(async () => (await readTerminal(page))
    .find((l) => (typeof pattern === 'string' ? l.text.includes(pattern) : pattern.test(l.text))),
  { timeoutMs, what: `terminal row matching ${pattern}` });
}

/** True if the span is drawn in a red: ANSI red/bright red, or a CSS colour where red dominates. */
export function isRed(span: TerminalSpan): boolean {
  if (span.ansi === 1 || span.ansi === 9) return true;
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(span.color);
  if (!m) return false;
  const [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return r >= 150 && r > 2 * g && r > 2 * b;
}

/** Types into the active terminal (focus it first, e.g. with "Terminal: Focus Terminal"). */
export async function typeInTerminal(page: Page, text: string, enter = true): Promise<void> {
  await page.locator('.terminal-wrapper.active .xterm-helper-textarea').first().focus();
  await page.keyboard.type(text);
  if (enter) await page.keyboard.press('Enter');
}

export interface Notification {
  message: string;
  severity: 'error' | 'warning' | 'info' | 'unknown';
  /** "Source: ..." line, e.g. the extension's name. */
  source: string;
}

/**
 * The notifications shown as toasts (bottom right) or, when it is open, in the notification
 * centre. Note: with the smoke-test driver enabled the workbench shows no toasts at all, so
 * UI tests that look for notifications need a server started without `smokeTestDriver`.
 */
export async function readNotifications(page: Page): Promise<Notification[]> {
  return page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item')
    .evaluateAll((items: any[]) => items.map((item: any) => {
      const icon = item.querySelector('.notification-list-item-icon');
      const cls = icon ? Array.from(icon.classList as ArrayLike<string>).join(' ') : '';
      const severity = /codicon-error/.test(cls) ? 'error' : /codicon-warning/.test(cls) ? 'warning' : /codicon-info/.test(cls) ? 'info' : 'unknown';
      // The source line is rendered only when expanded; the row's aria-label always has it.
      const aria: string = item.closest('.monaco-list-row')?.getAttribute('aria-label') ?? '';
      const source = (item.querySelector('.notification-list-item-source')?.textContent ?? '').trim()
        || (/, source: ([^,]*)/.exec(aria)?.[1] ?? '');
      return {
        message: (item.querySelector('.notification-list-item-message')?.textContent ?? '').replace(/\u00a0/g, ' ').trim(),
        severity,
        source: source.replace(/\u00a0/g, ' ').trim(),
      };
    }));
}

/** Waits for a notification whose message matches `pattern`. */
export async function waitForNotification(page: Page, pattern: string | RegExp, timeoutMs = 15_000): Promise<Notification> {
  return poll(async () => (await readNotifications(page))
    .find((n) => (typeof pattern === 'string' ? n.message.includes(pattern) : pattern.test(n.message))),
  { timeoutMs, what: `notification matching ${pattern}` });
}

export interface Dialog {
  message: string;
  detail: string;
  buttons: string[];
}

const dialogBox = '.monaco-dialog-box';

/**
 * The open modal dialog (`showWarningMessage(..., { modal: true })` and the like), or
 * undefined. Note: windows that run an extensionTestsPath refuse modal dialogs altogether
 * ("DialogService: refused to show dialog in tests"); see runInHost's `dialogs` option.
 */
export async function readDialog(page: Page): Promise<Dialog | undefined> {
  if (!(await page.locator(dialogBox).first().isVisible().catch(() => false))) return undefined;
  return page.locator(dialogBox).first().evaluate((box: any) => {
    const text = (el: any) => (el?.textContent ?? '').replace(/\u00a0/g, ' ').trim();
    return {
      message: text(box.querySelector('.dialog-message-text')),
      detail: text(box.querySelector('.dialog-message-detail')),
      buttons: Array.from(box.querySelectorAll('.dialog-buttons .monaco-button') as ArrayLike<any>).map(text).filter(Boolean),
    };
  });
}

/** Waits for a modal dialog whose message matches `pattern`. */
export async function waitForDialog(page: Page, pattern: string | RegExp, timeoutMs = 15_000): Promise<Dialog> {
  return poll(async () => {
    const d = await readDialog(page);
    if (!d) return undefined;
    return (typeof pattern === 'string' ? d.message.includes(pattern) : pattern.test(d.message)) ? d : undefined;
  }, { timeoutMs, what: `a dialog matching ${pattern}` });
}

/** Clicks the open dialog's button labelled exactly `label`. */
export async function clickDialogButton(page: Page, label: string): Promise<void> {
  const buttons = page.locator(`${dialogBox} .dialog-buttons .monaco-button`);
  const texts = (await buttons.allTextContents()).map((t) => t.replace(/\u00a0/g, ' ').trim());
  const index = texts.indexOf(label);
  if (index < 0) throw new Error(`no dialog button "${label}" (buttons: ${JSON.stringify(texts)})`);
  await buttons.nth(index).click({ timeout: 5_000 });
  await page.locator(dialogBox).first().waitFor({ state: 'hidden', timeout: 5_000 });
}

/** Saves a PNG of the page as test-results/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, timeout: 10_000 });
  return path;
}
