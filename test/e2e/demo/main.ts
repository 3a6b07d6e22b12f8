// The demo behind `npm run try` (.ci/try → .ci/demo): the project's test WinRM host with real
// PowerShell (HTTPS on loopback, its own CA), code-server with the packaged extension, and a
// demo folder whose team file (.vscode/winrm-hosts.json) has the "Sandbox" host, with the
// example provisioning script open. Prints the URL and the password, runs until Ctrl+C.
//   node out/test/e2e/demo/main.js [--vsix out/winrm-runner.vsix] [--dir .cache/demo] [--password P]
// The password is WINRM_PASSWORD, else a new random one; the extension asks for it at the
// first run (it keeps passwords only in VS Code's secret storage, so it cannot be handed in).
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startTestHost, type TestHost } from '../../host/host';
import { pwshPath } from '../../support/peers';
import { startCodeServer, type CodeServer } from '../harness/code-server';
import { missingTools, root, setupCommand } from '../harness/tools';

const DEMO_USER = 'sandbox';
const DEMO_SCRIPT = 'New-LabUser.ps1';

interface Options {
  vsix: string;
  dir: string;
  password: string;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node out/test/e2e/demo/main.js [--vsix FILE] [--dir FOLDER] [--password P]\n`);
  process.exit(2);
}

function parse(argv: string[]): Options {
  const o: Options = {
    vsix: join(root, 'out', 'winrm-runner.vsix'),
    dir: join(root, '.cache', 'demo'),
    password: process.env.WINRM_PASSWORD || `sandbox-${randomBytes(4).toString('hex')}`,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--vsix': o.vsix = value(); break;
      case '--dir': o.dir = value(); break;
      case '--password': o.password = value(); break;
      default: usage(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

/** The demo folder: the example scripts (kept if already there: they may have been edited), the CA, the team file. */
function prepareWorkspace(ws: string, host: TestHost): void {
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  const examples = join(root, 'test', 'examples');
  for (const name of readdirSync(examples)) {
    if (!existsSync(join(ws, name))) copyFileSync(join(examples, name), join(ws, name));
  }
  // A new CA each start (the test host makes its certificates): the file is replaced.
  copyFileSync(host.caPemPath!, join(ws, 'sandbox-ca.pem'));
  const team = {
    hosts: [{
      id: 'sandbox', name: 'Sandbox', url: host.url, auth: 'basic', user: DEMO_USER,
      // As midPoint's AD/LDAP connector runs New-LabUser.ps1: $identity etc. set in front of it.
      style: 'variables', profile: 'safe',
      tls: { caFile: 'sandbox-ca.pem' },
    }],
  };
  writeFileSync(join(ws, '.vscode', 'winrm-hosts.json'),
    `// The demo's test WinRM host (loopback, real PowerShell). No passwords here: VS Code asks and keeps it in its secret storage.\n${JSON.stringify(team, null, 2)}\n`);
}

/** The workbench on the demo folder with the example script open (the `openFile` payload of VS Code for the web). */
function demoUrl(server: CodeServer, ws: string): string {
  const payload = [['openFile', server.remoteUri(join(ws, DEMO_SCRIPT))]];
  return `${server.folderUrl(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  // The demo needs Node 24 and code-server; Chromium and playwright are for the tests only.
  const missing = missingTools().filter((m) => /^(node|code-server)/.test(m));
  if (missing.length) usage(`demo: missing ${missing.join(', ')}. Run: ${setupCommand}`);
  if (!existsSync(opts.vsix)) usage(`demo: no extension package at ${opts.vsix}. Run: npm run package`);
  if (!pwshPath()) process.stderr.write('demo: WARNING: PowerShell is not installed in .tools/pwsh; the host will answer an error for every script. Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9\n');

  const ws = join(opts.dir, 'workspace');
  mkdirSync(opts.dir, { recursive: true });
  let host: TestHost | undefined;
  let server: CodeServer | undefined;
  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\ndemo: ${why}; stopping code-server and the test host\n`);
    setTimeout(() => process.exit(code), 10_000).unref();
    await Promise.all([server?.stop(), host?.close()]);
    process.exit(code);
  };
  const onSignals = () => {
    process.on('SIGINT', () => void stop(0, 'Ctrl+C'));
    process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
    process.on('SIGHUP', () => void stop(0, 'SIGHUP'));
  };
  onSignals();

  host = await startTestHost({ https: true, user: DEMO_USER, password: opts.password });
  prepareWorkspace(ws, host);
  // Its run folder (user data, logs) below the demo folder; removed when the demo stops.
  // The folder as code-server's argument too: the bare URL then opens it (without the script).
  server = await startCodeServer({
    vsix: [opts.vsix], parentDir: opts.dir, startTimeoutMs: 60_000, args: [ws],
    // Room for the editor and the terminal: no empty secondary side bar.
    settings: { 'workbench.secondarySideBar.defaultVisibility': 'hidden' },
  });
  // The harness's own signal handlers kill code-server at once and exit with 128+signal (a test
  // run cut short must not pass); here Ctrl+C is the normal end: stop() stops both, exit 0.
  // Its exit hook stays, so code-server's group dies with this process whatever happens.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(sig);
  onSignals();
  const url = demoUrl(server, ws);
  const shown = relative(process.cwd(), ws) || ws;
  process.stdout.write([
    '',
    'WinRM Script Runner demo: VS Code (code-server) with the extension, and a test WinRM host',
    `with real PowerShell on ${host.url} (loopback only).`,
    '',
    `  Open:      ${url}`,
    `             (or ${server.url}/ for the folder alone)`,
    `  Password:  ${opts.password}   (of user "${DEMO_USER}"; asked at the first run)`,
    '',
    `The folder ${shown} has ${DEMO_SCRIPT} open and the "Sandbox" host in`,
    '.vscode/winrm-hosts.json (the WinRM view in the activity bar lists it). To run the script:',
    '"WinRM: Run with Arguments..." (F1, or the editor\'s run menu), pick Sandbox, type',
    'identity=jdoe and Enter (add givenName=..., groups[]=... the same way), then "Run".',
    '',
    'Ctrl+C stops code-server and the test host.',
    '',
  ].join('\n'));
  // code-server ending on its own (crash, killed) ends the demo too.
  const pid = server.pid;
  setInterval(() => {
    try { process.kill(-pid, 0); } catch { void stop(1, 'code-server exited'); }
  }, 1_000).unref();
  await new Promise(() => undefined);
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
