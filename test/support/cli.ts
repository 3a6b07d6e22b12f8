// The built winrm-run CLI as the tests run it: its own process, the password in
// WINRM_PASSWORD (as users give it), stdout and stderr collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findRoot, peerMissing } from './peers';

export const CLI_PATH = join(findRoot(), 'out', 'cli', 'winrm-run.js');

/** A skip reason when the CLI is not built (a failure under CI=true, like any missing peer). */
export function cliMissing(): string | false {
  return peerMissing('winrm-run CLI build (out/cli/winrm-run.js)', existsSync(CLI_PATH), 'Run: node .ci/build.mjs');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Put in WINRM_PASSWORD. */
  password?: string;
  /** The whole environment (default: this process's); WINRM_PASSWORD is added to it. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each piece of stdout as it arrives (e.g. to press Ctrl+C once the run is going). */
  onStdout?: (text: string, child: ChildProcess) => void;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...(opts.env ?? process.env), ...(opts.password !== undefined ? { WINRM_PASSWORD: opts.password } : {}) };
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; opts.onStdout?.(String(d), child); });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
