// An independent client accepts the test host: pywinrm (Debian's python3-winrm 0.3.0)
// runs cmd, hostname and PowerShell over HTTP and over HTTPS trusting the host's CA.
// pywinrm checks RelatesTo on Signal and Delete, finds the ShellId by Name="ShellId",
// and treats the TimedOut fault as "poll again".
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startTestHost, TestHost } from '../host/host';
import { findRoot, peerMissing, pwshPath, runs } from '../support/peers';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(findRoot(), 'test', 'host', 'peers', 'pywinrm_run.py');
const noPywinrm = peerMissing('pywinrm (python3-winrm)', runs(PYTHON, ['-c', 'import winrm']),
  'Install it with: DEBIAN_FRONTEND=noninteractive apt-get install -y python3-winrm python3-requests-ntlm python3-ntlm-auth');
const noWine = noPywinrm || peerMissing('wine', runs('wine', ['--version']), 'apt-get install --no-install-recommends -y wine wine64');
const noPwsh = noPywinrm || peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

type Op = { kind: 'cmd'; command: string; args?: string[] } | { kind: 'ps'; script: string };
type Result = { ok: true; status: number; stdout: string; stderr: string } | { ok: false; error: string; message: string };

async function pywinrm(url: string, ops: Op[], o: { password?: string; ca?: string } = {}): Promise<{ status: number; stdout: string; stderr: string; ok: boolean; error?: string; message?: string }[]> {
  // REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would override pywinrm's ca_trust_path.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  const child = spawn(PYTHON, [SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.end(JSON.stringify({ url, user: 'vagrant', password: o.password ?? 'vagrant', transport: 'basic', ca: o.ca ?? null, ops }));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, `pywinrm driver failed: ${Buffer.concat(err).toString()}`);
  return (JSON.parse(Buffer.concat(out).toString()) as Result[]).map((r) => (r.ok
    ? { ok: true, status: r.status, stdout: Buffer.from(r.stdout, 'base64').toString('latin1'), stderr: Buffer.from(r.stderr, 'base64').toString('latin1') }
    : { ok: false, status: -1, stdout: '', stderr: '', error: r.error, message: r.message }));
}

let http: TestHost;
let https: TestHost;
before(async () => {
  [http, https] = await Promise.all([startTestHost({}), startTestHost({ https: true })]);
  await http.wineReady();
});
after(async () => {
  await Promise.all([http.close(), https.close()]);
});

test('pywinrm over HTTP: hostname and a scripted command with its exit code; shells are deleted', { skip: noPywinrm }, async () => {
  const [h, x] = await pywinrm(http.url, [
    { kind: 'cmd', command: 'hostname' },
    { kind: 'cmd', command: 'winrm-test', args: ['exit', '3', '--stdout', 'out', '--stderr', 'err'] },
  ]);
  assert.deepEqual(h, { ok: true, status: 0, stdout: 'WINRM-TEST\r\n', stderr: '' });
  assert.deepEqual(x, { ok: true, status: 3, stdout: 'out\r\n', stderr: 'err\r\n' });
  assert.equal(http.openShells(), 0);
});

test('pywinrm over HTTP: run_cmd("cmd", ["/c", "echo hi"]) through wine\'s cmd.exe', { skip: noWine }, async () => {
  const [r] = await pywinrm(http.url, [{ kind: 'cmd', command: 'cmd', args: ['/c', 'echo hi'] }]);
  assert.deepEqual(r, { ok: true, status: 0, stdout: 'hi\r\n', stderr: '' });
});

test('pywinrm over HTTP: run_ps runs real PowerShell (its -encodedcommand, code page 437)', { skip: noPwsh }, async () => {
  const [r] = await pywinrm(http.url, [{ kind: 'ps', script: 'Write-Output "ps ok"; Write-Output ([char]0xE9); exit 0' }]);
  // pywinrm opens its shells with WINRS_CODEPAGE 437: é is 0x82 there.
  assert.deepEqual(r, { ok: true, status: 0, stdout: 'ps ok\n\x82\n', stderr: '' });
});

test('pywinrm over HTTPS trusting the host CA', { skip: noPywinrm }, async () => {
  const ops: Op[] = [{ kind: 'cmd', command: 'hostname' }];
  const [r] = await pywinrm(https.url, ops, { ca: https.caPemPath });
  assert.deepEqual(r, { ok: true, status: 0, stdout: 'WINRM-TEST\r\n', stderr: '' });
  if (!noWine) {
    const [c] = await pywinrm(https.url, [{ kind: 'cmd', command: 'cmd', args: ['/c', 'echo hi'] }], { ca: https.caPemPath });
    assert.deepEqual(c, { ok: true, status: 0, stdout: 'hi\r\n', stderr: '' });
  }
  if (!noPwsh) {
    const [p] = await pywinrm(https.url, [{ kind: 'ps', script: 'Write-Output "over tls"' }], { ca: https.caPemPath });
    assert.deepEqual(p, { ok: true, status: 0, stdout: 'over tls\n', stderr: '' });
  }
  assert.equal(https.openShells(), 0);
});

test('pywinrm refuses the host without its CA, and a certificate for another name', { skip: noPywinrm }, async () => {
  const [untrusted] = await pywinrm(https.url, [{ kind: 'cmd', command: 'hostname' }]);
  assert.equal(untrusted.ok, false);
  assert.equal(untrusted.error, 'SSLError');
  assert.match(untrusted.message ?? '', /CERTIFICATE_VERIFY_FAILED/);
  const other = await startTestHost({ https: true, certificateName: 'other.example' });
  try {
    const [mismatch] = await pywinrm(other.url, [{ kind: 'cmd', command: 'hostname' }], { ca: other.caPemPath });
    assert.equal(mismatch.ok, false);
    assert.match(mismatch.message ?? '', /hostname '127\.0\.0\.1' doesn't match 'other\.example'/);
  } finally { await other.close(); }
});

test('pywinrm with a wrong password gets InvalidCredentialsError', { skip: noPywinrm }, async () => {
  const [r] = await pywinrm(http.url, [{ kind: 'cmd', command: 'hostname' }], { password: 'wrong' });
  assert.equal(r.ok, false);
  assert.equal(r.error, 'InvalidCredentialsError');
});
