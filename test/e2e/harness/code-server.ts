// Starts code-server (from .tools/e2e, run by its Node 24) for one test run: loopback only,
// no auth, its own user-data/extensions/XDG/TMPDIR folders under a fresh run folder, and its
// own process group, which stop() (or the test process exiting) ends as a whole.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerEntry, missingTools, nodeBin, poll, setupCommand } from './tools';

export interface CodeServerOptions {
  /** Merged over the harness defaults into User/settings.json. */
  settings?: Record<string, unknown>;
  /** .vsix files installed (`--install-extension x.vsix --force`) before the server starts. */
  vsix?: string[];
  /**
   * Adds `--vscode-option enable-smoke-test-driver`, which the in-host runner needs: without
   * it the workbench silently ignores the `payload` (extensionDevelopmentPath/TestsPath).
   * It also turns off notification toasts: UI tests need a server without it.
   */
  smokeTestDriver?: boolean;
  /** More code-server arguments. */
  args?: string[];
  /** More environment for code-server and everything it starts (extension host, terminals). */
  env?: Record<string, string>;
  /** Where the run folder is created (default: the OS temp folder). */
  parentDir?: string;
  /** Keep the run folder after stop() (default: removed, unless E2E_KEEP=1). */
  keep?: boolean;
  /** How long to wait for the HTTP port to answer (default 30 s). */
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The per-run folder; everything code-server writes goes below it. */
  readonly runDir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** The URL that opens the workbench on a folder of this machine. */
  folderUrl(folder: string): string;
  /** `vscode-remote://127.0.0.1:PORT<path>`: a path on this machine as the workbench names it. */
  remoteUri(path: string): string;
  /** Everything code-server printed so far (stdout and stderr). */
  log(): string;
  /** Ends the whole process group (SIGTERM, then SIGKILL after 3 s) and removes the run folder. */
  stop(): Promise<void>;
}

// Settings for a quiet, deterministic workbench; a test's own settings override these.
const defaultSettings: Record<string, unknown> = {
  // The DOM renderer, so terminal rows are readable text in the page.
  'terminal.integrated.gpuAcceleration': 'off',
  // The Welcome page would take the editor area and focus at start.
  'workbench.startupEditor': 'none',
  // No network here: nothing should try to reach a marketplace.
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'workbench.tips.enabled': false,
  'chat.disableAIFeatures': true,
};

// Process groups still running (with their run folder, if it is to be removed), ended
// synchronously if the test process exits or is interrupted before stop().
const liveGroups = new Map<number, string | undefined>();
function endAll(): void {
  for (const [pgid, dir] of liveGroups) {
    killGroup(pgid, 'SIGKILL');
    if (dir) try { rmSync(dir, { recursive: true, force: true }); } catch { /* still in use: left in the temp folder */ }
  }
  liveGroups.clear();
}
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', endAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      endAll();
      const code = 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1);
      // An interrupted run must not pass for a green one, whoever calls process.exit().
      process.exitCode = code;
      // Other listeners (playwright's, the test runner's) get a moment to clean up; then the
      // signal's default outcome, ending the process, is restored even if one of them hangs.
      setTimeout(() => process.exit(code), 1_000).unref();
    });
  }
}

function killGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try { process.kill(-pgid, sig); return true; } catch { return false; }
}

function groupAlive(pgid: number): boolean {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The environment code-server runs in: isolated under runDir. */
function isolatedEnv(runDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Inside a VS Code terminal these would make code-server act as a CLI of the outer instance.
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  const dirs: Record<string, string> = {
    HOME: join(runDir, 'home'),
    XDG_CONFIG_HOME: join(runDir, 'xdg', 'config'),
    XDG_DATA_HOME: join(runDir, 'xdg', 'data'),
    XDG_CACHE_HOME: join(runDir, 'xdg', 'cache'),
    XDG_STATE_HOME: join(runDir, 'xdg', 'state'),
    XDG_RUNTIME_DIR: join(runDir, 'xdg', 'runtime'),
    TMPDIR: join(runDir, 'tmp'),
  };
  for (const [k, d] of Object.entries(dirs)) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    env[k] = d;
  }
  // No extension gallery (code-server's default is a public one): nothing is queried.
  env.EXTENSIONS_GALLERY = JSON.stringify({ serviceUrl: '' });
  // Node 24 first on PATH, so anything code-server starts by name ("node") is the same Node.
  env.PATH = `${join(nodeBin, '..')}:${env.PATH ?? '/usr/bin:/bin'}`;
  return { ...env, ...extra };
}

function commonArgs(userDataDir: string, extensionsDir: string): string[] {
  return ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
}

/** Installs a .vsix into an extensions folder with code-server's CLI (no server needed). */
export function installVsix(vsix: string, dirs: { userDataDir: string; extensionsDir: string; env: NodeJS.ProcessEnv }): void {
  const r = spawnSync(nodeBin, [codeServerEntry, ...commonArgs(dirs.userDataDir, dirs.extensionsDir), '--install-extension', vsix, '--force'],
    { env: dirs.env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`code-server --install-extension ${vsix} failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}

export async function startCodeServer(opts: CodeServerOptions = {}): Promise<CodeServer> {
  const missing = missingTools();
  if (missing.length) throw new Error(`e2e tools missing: ${missing.join(', ')}. Run: ${setupCommand}`);

  const runDir = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'winrm-e2e-'));
  const userDataDir = join(runDir, 'user-data');
  const extensionsDir = join(runDir, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...defaultSettings, ...opts.settings }, null, 2));
  const env = isolatedEnv(runDir, opts.env);
  const keep = opts.keep ?? process.env.E2E_KEEP === '1';

  try {
    for (const vsix of opts.vsix ?? []) installVsix(vsix, { userDataDir, extensionsDir, env });
  } catch (e) {
    if (!keep) rmSync(runDir, { recursive: true, force: true });
    throw e;
  }

  // A free port can be taken between the probe and the bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(port, runDir, userDataDir, extensionsDir, env, opts, keep);
    } catch (e) {
      lastError = e;
      if (!/EADDRINUSE/.test(String(e))) break;
    }
  }
  if (!keep) rmSync(runDir, { recursive: true, force: true });
  throw lastError;
}

async function launch(port: number, runDir: string, userDataDir: string, extensionsDir: string,
  env: NodeJS.ProcessEnv, opts: CodeServerOptions, keep: boolean): Promise<CodeServer> {
  const configPath = join(runDir, 'config.yaml');
  // auth: none through the config file, and no ~/.config/code-server/config.yaml is read.
  writeFileSync(configPath, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const args = [
    codeServerEntry,
    '--config', configPath,
    '--bind-addr', `127.0.0.1:${port}`,
    ...commonArgs(userDataDir, extensionsDir),
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    // Without it, a closed page's extension host lives on for hours.
    '--reconnection-grace-time', '5',
    ...(opts.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    ...(opts.args ?? []),
  ];
  hookExit();
  const child: ChildProcess = spawn(nodeBin, args, { env, cwd: runDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = child.pid!;
  liveGroups.set(pgid, keep ? undefined : runDir);
  // A test that forgets stop() must not keep the test process alive: the exit hook ends the group.
  child.unref();
  (child.stdout as unknown as { unref(): void }).unref();
  (child.stderr as unknown as { unref(): void }).unref();
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  let exited: string | undefined;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', (code, sig) => {
    exited = `exited (code ${code}, signal ${sig})`;
    resolve();
  }));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (killGroup(pgid, 'SIGTERM')) {
      // The group, not just the main process: extension hosts and the pty host are in it.
      const deadline = Date.now() + 3_000;
      while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL');
    }
    await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 2_000))]);
    liveGroups.delete(pgid);
    if (!keep) rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await poll(async () => {
      if (exited) throw new Error(`code-server ${exited}:\n${out}`);
      // /healthz answers once the HTTP server is up.
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      return res.ok;
    }, { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 100, what: `code-server on ${url}` });
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${out}`);
  }

  return {
    url,
    port,
    pid: pgid,
    runDir,
    userDataDir,
    extensionsDir,
    folderUrl: (folder: string) => `${url}/?folder=${encodeURIComponent(folder)}`,
    remoteUri: (path: string) => `vscode-remote://127.0.0.1:${port}${path.split('/').map(encodeURIComponent).join('/')}`,
    log: () => out,
    stop,
  };
}
