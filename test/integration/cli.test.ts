// winrm-run as a user runs it: a real process against the test host.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestHost, type TestHost } from '../host/host';
import { runCli, type CliOptions, type CliResult } from '../support/cli';
import { peerMissing, pwshPath } from '../support/peers';

const PASSWORD = 'canary-cli-Pa55!';
const noPwsh = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');
let host: TestHost;
let dir: string;

before(async () => {
  host = await startTestHost({ https: true, user: 'alice', password: PASSWORD });
  dir = mkdtempSync(join(tmpdir(), 'winrm-cli-'));
});
after(async () => host.close());

type Result = CliResult;

/** The CLI with this host's password; `env` entries override (undefined removes one). */
function cli(args: string[], opts: { env?: Record<string, string | undefined>; onStdout?: CliOptions['onStdout'] } = {}): Promise<Result> {
  return runCli(args, { env: { ...process.env, WINRM_PASSWORD: PASSWORD, ...opts.env }, onStdout: opts.onStdout });
}

const hostArgs = () => ['--host', host.url, '--ca', host.caPemPath!, '--user', 'alice'];

test('runs a .ps1 file with arguments, streams stdout and stderr, exits with the remote code', { skip: noPwsh }, async () => {
  const file = join(dir, 'hello.ps1');
  writeFileSync(file, "Write-Output \"hello $name\"\n[Console]::Error.WriteLine('to stderr')\nexit 3\n");
  const r = await cli([...hostArgs(), '--file', file, '--style', 'variables', '--arg', 'name=Zoë Q'], {});
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout.replace(/\r\n/g, '\n'), 'hello Zoë Q\n');
  assert.match(r.stderr, /to stderr/);
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
});

test('--command runs a cmd line; --preview prints the command line without a host or password', async () => {
  const r = await cli([...hostArgs(), '--command', 'winrm-test exit 0 --stdout ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ok\r\n');
  const p = await cli(['--preview', '--language', 'powershell', '--style', 'dashed', '--profile', 'connector-1.5', '--command', 'Set-X', '--arg', 'flag', '--arg', "name=John O'Neil"], { env: { WINRM_PASSWORD: undefined } });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /powershell -EncodedCommand [A-Za-z0-9+/=]+/);
  assert.match(p.stdout, /\nSet-X -flag -name John O'Neil\n/);
  assert.match(p.stdout, /dashed-value-misparsed/);
});

test('Ctrl+C stops the remote command and deletes its shell', async () => {
  let signalled = false;
  const r = await cli([...hostArgs(), '--command', 'winrm-test hang'], {
    onStdout: (text, child) => {
      if (!signalled && /hanging/.test(text)) {
        signalled = true;
        assert.equal(host.openShells(), 1);
        child.kill('SIGINT');
      }
    },
  });
  assert.ok(signalled);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /cancelled/);
  assert.equal(host.openShells(), 0);
});

for (const [what, args, env, pattern] of [
  ['wrong password', () => [...hostArgs(), '--command', 'hostname'], { WINRM_PASSWORD: 'nope' }, /rejected the user name or password.*Hint:/],
  ['no password and no terminal', () => [...hostArgs(), '--command', 'hostname'], { WINRM_PASSWORD: undefined }, /WINRM_PASSWORD/],
  ['a bad URL', () => ['--host', 'ftp://x', '--user', 'a', '--command', 'hostname'], {}, /http or https/],
  ['an unknown option', () => ['--hots', 'x'], {}, /Unknown option "--hots"/],
  ['an unsupported profile', () => ['--profile', 'connector-9', '--command', 'x'], {}, /--profile must be one of/],
  ['a missing file', () => [...hostArgs(), '--file', '/nonexistent/x.ps1'], {}, /Cannot read \/nonexistent\/x\.ps1: ENOENT/],
  ['an untrusted certificate', () => ['--host', host.url, '--user', 'alice', '--command', 'hostname'], {}, /not trusted.*Hint: .*CA/],
  ['a closed port', () => ['--host', 'http://127.0.0.1:1/wsman', '--user', 'alice', '--command', 'hostname'], {}, /Nothing accepts connections on 127\.0\.0\.1:1/],
] as const) {
  test(`bad input gives one clear line and exit 255: ${what}`, async () => {
    const r = await cli(args() as string[], { env: env as Record<string, string | undefined> });
    assert.equal(r.code, 255, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => !/warning:/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^winrm-run: /);
    assert.match(lines[0], pattern);
    assert.ok(!r.stderr.includes(PASSWORD));
  });
}
