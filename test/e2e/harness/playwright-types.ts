// The part of playwright-core's API that the harness and the e2e tests use. playwright-core
// lives in .tools/e2e (installed by setup.sh), not in the project's node_modules, so its own
// .d.ts files are not visible to `tsc` on a machine where setup.sh has not run yet; these
// declarations keep the type check independent of it. Signatures follow playwright-core 1.65.
// Anything missing here exists at run time: add it with the upstream signature.

export interface Playwright {
  chromium: BrowserType;
}

export interface BrowserType {
  launch(options?: {
    executablePath?: string;
    args?: string[];
    headless?: boolean;
    timeout?: number;
    env?: Record<string, string | undefined>;
  }): Promise<Browser>;
}

export interface Browser {
  newContext(options?: {
    viewport?: { width: number; height: number } | null;
    deviceScaleFactor?: number;
    locale?: string;
  }): Promise<BrowserContext>;
  close(): Promise<void>;
  version(): string;
  isConnected(): boolean;
}

export interface BrowserContext {
  newPage(): Promise<Page>;
  pages(): Page[];
  close(): Promise<void>;
}

export interface ConsoleMessage {
  type(): string;
  text(): string;
}

export interface Keyboard {
  press(key: string, options?: { delay?: number }): Promise<void>;
  type(text: string, options?: { delay?: number }): Promise<void>;
  insertText(text: string): Promise<void>;
  down(key: string): Promise<void>;
  up(key: string): Promise<void>;
}

export interface Mouse {
  move(x: number, y: number, options?: { steps?: number }): Promise<void>;
  down(options?: { button?: 'left' | 'right' | 'middle' }): Promise<void>;
  up(options?: { button?: 'left' | 'right' | 'middle' }): Promise<void>;
  click(x: number, y: number, options?: { button?: 'left' | 'right' | 'middle' }): Promise<void>;
}

export interface Locator {
  click(options?: { timeout?: number; force?: boolean; button?: 'left' | 'right' | 'middle' }): Promise<void>;
  dblclick(options?: { timeout?: number }): Promise<void>;
  hover(options?: { timeout?: number }): Promise<void>;
  focus(options?: { timeout?: number }): Promise<void>;
  fill(value: string, options?: { timeout?: number }): Promise<void>;
  press(key: string, options?: { timeout?: number }): Promise<void>;
  pressSequentially(text: string, options?: { delay?: number; timeout?: number }): Promise<void>;
  count(): Promise<number>;
  first(): Locator;
  last(): Locator;
  nth(index: number): Locator;
  locator(selector: string): Locator;
  filter(options: { hasText?: string | RegExp; hasNotText?: string | RegExp }): Locator;
  textContent(options?: { timeout?: number }): Promise<string | null>;
  innerText(options?: { timeout?: number }): Promise<string>;
  allInnerTexts(): Promise<string[]>;
  allTextContents(): Promise<string[]>;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  isVisible(): Promise<boolean>;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  screenshot(options?: { path?: string; timeout?: number }): Promise<Buffer>;
  evaluate<R, Arg = unknown>(fn: (element: any, arg: Arg) => R | Promise<R>, arg?: Arg): Promise<R>;
  evaluateAll<R, Arg = unknown>(fn: (elements: any[], arg: Arg) => R | Promise<R>, arg?: Arg): Promise<R>;
}

export interface Page {
  goto(url: string, options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit' }): Promise<unknown>;
  url(): string;
  title(): Promise<string>;
  locator(selector: string): Locator;
  keyboard: Keyboard;
  mouse: Mouse;
  screenshot(options?: { path?: string; fullPage?: boolean; timeout?: number }): Promise<Buffer>;
  evaluate<R, Arg = unknown>(fn: (arg: Arg) => R | Promise<R>, arg?: Arg): Promise<R>;
  waitForFunction<R, Arg = unknown>(fn: (arg: Arg) => R | Promise<R>, arg?: Arg, options?: { timeout?: number; polling?: number | 'raf' }): Promise<unknown>;
  waitForSelector(selector: string, options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<unknown>;
  waitForTimeout(ms: number): Promise<void>;
  exposeFunction(name: string, fn: (...args: any[]) => unknown): Promise<void>;
  on(event: 'console', listener: (message: ConsoleMessage) => void): Page;
  on(event: 'pageerror', listener: (error: Error) => void): Page;
  on(event: 'close', listener: () => void): Page;
  bringToFront(): Promise<void>;
  context(): BrowserContext;
  isClosed(): boolean;
  close(): Promise<void>;
}
