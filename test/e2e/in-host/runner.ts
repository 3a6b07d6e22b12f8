// A minimal test runner for code that runs inside the extension host (node:test reports to the
// process's stdout, which the extension host does not forward). An in-host test entry does:
//   import { runTests } from './runner';
//   export function run() { return runTests([{ name: '...', fn: async () => { ... } }]); }
// Each result is a console line (the workbench hands them to runInHost's log); run() rejects
// when any test failed, which makes the extension host exit non-zero.
// Also built on its own to out/test/e2e/in-host/runner.js, for entries generated at test time.

/**
 * Where an entry's lines go: console.log, whose output the workbench hands to runInHost when the
 * entry is the extensionTestsPath; in runInHost's `dialogs` mode (console.log is not forwarded
 * there) the generated driver extension sets globalThis.inHostLog to its reporter first.
 */
export function inHostLog(): (line: string) => void {
  const reporter = (globalThis as { inHostLog?: (line: string) => void }).inHostLog;
  return reporter ?? ((line: string) => console.log(line));
}

export interface InHostTest {
  name: string;
  fn: () => unknown | Promise<unknown>;
  /** Default: the runTests timeout. */
  timeoutMs?: number;
}

export interface RunTestsOptions {
  /** Per-test limit (default 30 s): a hung test fails instead of stalling the whole run. */
  timeoutMs?: number;
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
}

export interface RunTestsSummary {
  passed: number;
  failed: number;
  failures: { name: string; error: string }[];
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

/** Runs the tests one after another; resolves with the summary, or rejects if any failed. */
export async function runTests(tests: InHostTest[], opts: RunTestsOptions = {}): Promise<RunTestsSummary> {
  const log = opts.log ?? inHostLog();
  const summary: RunTestsSummary = { passed: 0, failed: 0, failures: [] };
  for (const [i, t] of tests.entries()) {
    const started = Date.now();
    const limit = t.timeoutMs ?? opts.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(t.fn),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${limit} ms`)), limit); }),
      ]);
      summary.passed++;
      log(`[in-host] ok ${i + 1} - ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      summary.failed++;
      summary.failures.push({ name: t.name, error: describeError(e) });
      log(`[in-host] not ok ${i + 1} - ${t.name} (${Date.now() - started} ms)\n${describeError(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  // Worded so it is not mistaken for the outer runner's closing "N passed, N failed" line.
  log(`[in-host] ${summary.passed} of ${tests.length} tests passed`);
  if (summary.failed > 0) {
    throw new Error(`[in-host] ${summary.failed} of ${tests.length} tests failed: ${summary.failures.map((f) => f.name).join('; ')}`);
  }
  return summary;
}
