// Finding the real peers the tests use (pwsh, wine, pywinrm, gss-ntlmssp, ...).
// Locally a missing peer skips its tests with a loud message; in CI (CI=true)
// it fails them, so a broken install can never turn into a green run.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';


export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** Path of the project's pwsh (.tools/pwsh/pwsh), or undefined. */
export function pwshPath(): string | undefined {
  const local = join(findRoot(), '.tools', 'pwsh', 'pwsh');
  if (existsSync(local)) return local;
  return undefined;
}

/** `true` if the program runs (exit status 0) with these arguments. */
export function runs(cmd: string, args: string[], env?: NodeJS.ProcessEnv): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', env: env ?? process.env, timeout: 60_000 });
  return r.status === 0;
}

/**
 * For `test(name, { skip: peerMissing(...) }, fn)`: returns false when the peer is there,
 * a skip message when it is not (locally), and throws in CI.
 */
export function peerMissing(peer: string, available: boolean, howToGet: string): false | string {
  if (available) return false;
  const message = `PEER MISSING: ${peer}. ${howToGet}`;
  if (inCI) throw new Error(`${message} (CI=true: a missing peer fails the run)`);
  process.stderr.write(`\n*** ${message} — tests that need it are SKIPPED ***\n`);
  return message;
}

/** The checkout's root, found from this file whether run from out/ or from source. */
export function findRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    dir = join(dir, '..');
  }
  return process.cwd();
}
