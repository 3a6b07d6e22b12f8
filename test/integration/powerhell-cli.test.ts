// winrm-run with the persistent languages: a real process against the test host,
// with real pwsh running the loop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EXCHANGE_MISSING_MESSAGE } from '../../src/core/launch';
import { startTestHost, type TestHost } from '../host/host';
import { runCli, type CliResult } from '../support/cli';
import { peerMissing, pwshPath } from '../support/peers';

const PASSWORD = 'canary-powerhell-cli-Pa55!';
const skip = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');
let host: TestHost;
let requests = 0;

before(async () => {
  host = await startTestHost({ https: false, user: 'alice', password: PASSWORD, hooks: { onRequest: () => { requests++; } } });
});
after(async () => host.close());

type Result = CliResult;

const cli = (args: string[]) => runCli(['--host', host.url, '--user', 'alice', ...args], { password: PASSWORD });

/** stderr without the Basic-over-HTTP warning every run here prints. */
const errLines = (r: Result) => r.stderr.split('\n').filter((l) => l && !/Basic over plain HTTP/.test(l));

for (const profile of ['safe', 'connector-1.5']) {
  test(`--language powerhell --style variables --arg x=1 --command '$x' prints 1 (${profile})`, { skip }, async () => {
    const r = await cli(['--language', 'powerhell', '--profile', profile, '--style', 'variables', '--arg', 'x=1', '--command', '$x']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.replace(/\r\n/g, '\n'), '1\n');
    assert.deepEqual(errLines(r), []);
    assert.equal(host.openShells(), 0, 'the loop and its shell are gone after the run');
  });
}

test('a script error: the connector\'s message as the last line, exit 1', { skip }, async () => {
  const r = await cli(['--language', 'powerhell', '--profile', 'connector-1.5', '--style', 'variables', '--command', "'partial'; Write-Error 'no such mailbox'"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout.replace(/\r\n/g, '\n'), 'partial\n');
  assert.equal(errLines(r).at(-1), 'winrm-run: the script reported an error: no such mailbox');
  assert.equal(host.openShells(), 0);
});

test('exchange on a host without the snap-in: the clear message, the loop\'s exit code', { skip }, async () => {
  const r = await cli(['--language', 'exchange', '--style', 'variables', '--command', 'Get-Mailbox']);
  assert.equal(r.code, 64, r.stderr);
  assert.equal(errLines(r).at(-1), `winrm-run: the exchange loop did not start: ${EXCHANGE_MISSING_MESSAGE}`);
  assert.equal(host.openShells(), 0);
});

test('a blocked plan (null argument, variables style, connector-1.5): one-line error, exit 255, nothing sent', async () => {
  const before = requests;
  const r = await cli(['--language', 'powerhell', '--profile', 'connector-1.5', '--style', 'variables', '--arg', 'x', '--command', '$x']);
  assert.equal(r.code, 255);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^winrm-run: Argument 'x' has no value: in the variables style the connector .*NullPointerException.* Hint: Nothing was run\./);
  assert.equal(requests, before, 'no request reached the host');
});

test('--help says the loop lives for one run only', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /powerhell\/exchange run in a PowerShell loop that lives for this one\s+run only/);
});
