// The user's hands for the e2e tests: the actions of protocol.ts done through the page
// (quick inputs and modal dialogs), and the Add/Edit Host wizard answered step by step.
import {
  clickDialogButton, readQuickInput, waitForDialog, waitForQuickInput,
} from '../harness/browser';
import type { Page } from '../harness/playwright-types';
import { poll } from '../harness/tools';
import { HANDS_PREFIX, type HandAction } from './protocol';

/** How the in-host runner (in-host/runner.ts) reports a failed test. */
export const FAILED_TEST_PREFIX = '[in-host] not ok ';

const box = '.quick-input-widget .quick-input-box input';
const rows = '.quick-input-widget .monaco-list-row';

/** Labels of the quick input's rendered rows (codicons render as empty spans, so "$(play) Run" reads "Run"). */
async function rowLabels(page: Page): Promise<string[]> {
  return page.locator(rows).evaluateAll((els: any[]) => els.map((r: any) => (r.querySelector('.label-name')?.textContent ?? '').replace(/\u00a0/g, ' ').trim()));
}

async function boxValue(page: Page): Promise<string | undefined> {
  if (!(await page.locator(box).first().isVisible().catch(() => false))) return undefined;
  return page.locator(box).first().evaluate((el: any) => el.value as string).catch(() => undefined);
}

/** Clicks the row labelled exactly `label` (waiting for it). */
export async function clickRow(page: Page, label: string, timeoutMs = 10_000): Promise<void> {
  const index = await poll(async () => {
    const i = (await rowLabels(page)).indexOf(label);
    return i >= 0 ? i : undefined;
  }, { timeoutMs, what: `a row labelled "${label}"` });
  await page.locator(rows).nth(index).click({ timeout: 5_000 });
}

/**
 * Types into the open quick input and presses Enter, then waits until the box no longer holds
 * the text (closed, cleared by the extension, or the next step): the next action must not race
 * the extension's reaction. `waitRow`: a row matching it must be rendered before Enter (a quick
 * pick that turns the typed text into an item, which the extension renders a moment later).
 */
export async function typeAndEnter(page: Page, text: string, opts: { waitRow?: string; what?: string } = {}): Promise<void> {
  const input = page.locator(box).first();
  await input.fill(text, { timeout: 5_000 });
  if (opts.waitRow) {
    const row = new RegExp(opts.waitRow);
    await poll(async () => (await rowLabels(page)).some((l) => row.test(l)), { timeoutMs: 5_000, what: `a row matching /${opts.waitRow}/` });
  }
  await input.press('Enter', { timeout: 5_000 });
  await poll(async () => (await boxValue(page)) !== text, { timeoutMs: 10_000, what: `the quick input to take ${opts.what ?? JSON.stringify(text)}` });
}

/** Does one action of the protocol. `secret` is what a `secret: true` type action types. */
export async function perform(page: Page, action: HandAction, secret: string): Promise<void> {
  switch (action.do) {
    case 'type':
      await waitForQuickInput(page, action.expect, 20_000);
      await typeAndEnter(page, action.secret ? secret : action.text ?? '', { waitRow: action.waitRow, what: action.secret ? 'the password' : undefined });
      return;
    case 'pick':
      await waitForQuickInput(page, action.expect, 20_000);
      await clickRow(page, action.label);
      return;
    case 'button':
      await waitForDialog(page, action.expect, 20_000);
      await clickDialogButton(page, action.label);
      return;
  }
}

/**
 * Reads `[hands] {...}` lines from the in-host suite's log and performs them in order on the
 * page. Failures are collected (the suite then times out waiting for its command; the test
 * reports these first).
 */
export class Hands {
  private page: Page | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Bumped when the suite reports a failed test: that test's unperformed actions are dropped. */
  private generation = 0;
  readonly done: HandAction[] = [];
  readonly dropped: HandAction[] = [];
  readonly errors: string[] = [];

  constructor(private readonly secret: string) {}

  attach(page: Page): void {
    this.page = page;
  }

  onLog(line: string): void {
    // A failed test's remaining actions would each wait for a quick input that never comes.
    if (line.startsWith(FAILED_TEST_PREFIX)) this.generation++;
    if (!line.startsWith(HANDS_PREFIX)) return;
    const action = JSON.parse(line.slice(HANDS_PREFIX.length)) as HandAction;
    const generation = this.generation;
    this.queue = this.queue.then(async () => {
      if (generation !== this.generation) {
        this.dropped.push(action);
        return;
      }
      if (!this.page) throw new Error('no page attached');
      await perform(this.page, action, this.secret);
      this.done.push(action);
    }).catch((e: Error) => {
      this.errors.push(`${JSON.stringify(action)}: ${e.message}`);
    });
  }

  idle(): Promise<void> {
    return this.queue;
  }
}

export interface WizardAnswer {
  /** Matched against the step's prompt (for an input) or placeholder (for a pick). */
  step: string | RegExp;
  /** Text to type (the box is replaced), or a row to pick; neither: accept the default. */
  type?: string;
  pick?: string;
}

/**
 * Answers a multi-step quick input (Add Host, Edit Host) until it closes: each step is matched
 * against `answers` by its prompt or placeholder; a step no answer names keeps its default
 * (Enter), so a new optional step does not break the test. A step may ask more than one
 * question under the same title (Authentication, then Message encryption): a new placeholder
 * is a new question. Returns the steps seen. It also returns when the wizard gives way to a
 * modal dialog (a confirmation); answer that, then call it again for the rest.
 */
export async function answerWizard(page: Page, title: string, answers: WizardAnswer[], timeoutMs = 60_000): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  let lastTitle = '';
  let lastKey = '';
  const keyOf = (s: { title: string; placeholder: string }) => `${s.title}\n${s.placeholder}`;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`wizard "${title}" did not finish; steps: ${seen.join(' | ')}`);
    // The next step, or the wizard closed (no quick input with this title for a moment).
    const state = await poll(async () => {
      const s = await readQuickInput(page);
      if (s && s.title.startsWith(title) && keyOf(s) !== lastKey) return s;
      return s && s.title.startsWith(title) ? undefined : 'closed' as const;
    }, { timeoutMs: 10_000, what: `the next step of "${title}" after "${lastTitle}"` }).catch(() => undefined);
    if (state === 'closed') {
      // A step replaces the previous one within a few ms; make sure it really closed.
      await new Promise((r) => setTimeout(r, 300));
      const again = await readQuickInput(page);
      if (!again || !again.title.startsWith(title)) return seen;
      continue;
    }
    if (!state) {
      const now = await readQuickInput(page);
      throw new Error(`wizard "${title}" stuck at "${lastTitle}" (${now?.message ?? 'no quick input'}); steps: ${seen.join(' | ')}`);
    }
    const text = `${state.message}\n${state.placeholder}`;
    const answer = answers.find((a) => (typeof a.step === 'string' ? text.includes(a.step) : a.step.test(text)));
    seen.push(`${state.title}: ${(state.message || state.placeholder).replace(/ \(Press 'Enter'.*$/, '')}`);
    lastTitle = state.title;
    lastKey = keyOf(state);
    // The loop's wait for the next title is what orders the steps (a refused value keeps the title: stuck).
    if (answer?.pick !== undefined) await clickRow(page, answer.pick);
    else {
      if (answer?.type !== undefined) await page.locator(box).first().fill(answer.type, { timeout: 5_000 });
      await page.locator(box).first().press('Enter', { timeout: 5_000 });
    }
  }
}
