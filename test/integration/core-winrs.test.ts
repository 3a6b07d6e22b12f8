// The core client against our test WinRM host, over HTTP and HTTPS, with real
// PowerShell (pwsh 7.6.9) running the scripts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuthError, CancelledError, TimeoutError, TlsError, WsmanFaultError } from '../../src/core/errors';
import { planLaunch } from '../../src/core/launch';
import { runScript, type TextChunk } from '../../src/core/run-script';
import { ACTION, RESOURCE } from '../../src/core/wsman/namespaces';
import { WinrmSession, type SessionOptions } from '../../src/core/session';
import { startTestHost, type TestHost } from '../host/host';
import { UNICODE_TEXT } from '../host/scripted';
import { peerMissing, pwshPath } from '../support/peers';

const PASSWORD = 'canary-Pa55-w0rd!';
const noPwsh = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

async function collect(run: AsyncIterable<TextChunk>): Promise<{ stdout: string; stderr: string; chunks: number }> {
  let stdout = '';
  let stderr = '';
  let chunks = 0;
  for await (const c of run) {
    chunks++;
    if (c.stream === 'stdout') stdout += c.text; else stderr += c.text;
  }
  return { stdout, stderr, chunks };
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const https of [false, true]) {
  describe(`core client over ${https ? 'HTTPS' : 'HTTP'}`, () => {
    let host: TestHost;
    let options: SessionOptions;
    before(async () => {
      host = await startTestHost({ https, user: 'alice', password: PASSWORD });
      options = { url: host.url, credentials: { user: 'alice', password: PASSWORD }, tls: { ca: host.caPem } };
    });
    after(async () => host.close());

    test('a PowerShell script with arguments: unicode stdout, stderr as text, exit code 3', { skip: noPwsh }, async () => {
      const session = new WinrmSession(options);
      try {
        const plan = planLaunch({
          language: 'powershell',
          code: "Write-Output \"user=$identity ✓ 日本\"; [Console]::Error.WriteLine('warn: ' + $note); Write-Error 'it broke'; exit 3",
          args: [{ name: 'identity', value: "O'Neil" }, { name: 'note', value: 'a $b; `c' }],
          style: 'variables',
          profile: 'safe',
        });
        const run = runScript(session, plan);
        const out = await collect(run);
        assert.equal(await run.exitCode, 3);
        assert.equal(out.stdout.replace(/\r\n/g, '\n'), "user=O'Neil ✓ 日本\n");
        assert.match(out.stderr, /warn: a \$b; `c/);
        assert.match(out.stderr, /it broke/);
        assert.doesNotMatch(out.stderr, /CLIXML|<Objs/);
      } finally {
        await session.close();
      }
      assert.equal(host.openShells(), 0);
    });

    test('unicode split across Receive chunks decodes whole', async () => {
      const session = new WinrmSession(options);
      const run = runScript(session, { command: 'winrm-test', arguments: ['unicode'], skipCmdShell: false, consoleModeStdin: true, shell: { codepage: 65001, noProfile: true }, newShellPerRun: true });
      const out = await collect(run);
      await session.close();
      assert.equal(out.stdout, UNICODE_TEXT);
      assert.ok(!out.stdout.includes('\uFFFD'));
    });

    test('1 MB of output streams over many Receives, byte for byte', async () => {
      const session = new WinrmSession(options);
      let bytes = 0;
      let receives = 0;
      const run = session.run('winrm-test', ['emit', '--stdout', String(1 << 20), '--stderr', '1000'], { shell: { codepage: 65001 } });
      let stderr = 0;
      for await (const chunk of run) {
        receives++;
        if (chunk.stream === 'stdout') bytes += chunk.bytes.length; else stderr += chunk.bytes.length;
      }
      await session.close();
      assert.equal(bytes, 1 << 20);
      assert.equal(stderr, 1000);
      assert.equal(await run.exitCode, 0);
      assert.ok(receives > 6, `split over several replies (${receives})`);
      assert.equal(host.openShells(), 0);
    });

    test('stdin reaches the command', async () => {
      const session = new WinrmSession(options);
      const input = Buffer.from('line one\r\nzwei ✓\r\n'.repeat(20_000));
      const run = session.run('winrm-test', ['echo-stdin'], { stdin: input });
      const parts: Buffer[] = [];
      for await (const chunk of run) parts.push(chunk.bytes);
      await session.close();
      assert.ok(Buffer.concat(parts).equals(input));
      assert.equal(await run.exitCode, 0);
    });

    test('a quiet command outlives several TimedOut faults and its output still arrives', async () => {
      const session = new WinrmSession({ ...options, operationTimeout: 1 });
      const run = runScript(session, { command: 'winrm-test', arguments: ['lines', '--count', '2', '--interval-ms', '2300', '--text', 'tick'], skipCmdShell: false, consoleModeStdin: true, shell: { codepage: 65001, noProfile: true }, newShellPerRun: true });
      const out = await collect(run);
      await session.close();
      assert.equal(out.stdout, 'tick 1\r\ntick 2\r\n');
    });

    test('cancel mid-run terminates the command and leaves 0 open shells', async () => {
      const session = new WinrmSession(options);
      const abort = new AbortController();
      const run = session.run('winrm-test', ['hang'], { signal: abort.signal });
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const chunk of run) {
          seen.push(chunk.bytes.toString());
          assert.equal(host.openShells(), 1);
          abort.abort();
        }
      }, CancelledError);
      assert.match(seen.join(''), /hanging/);
      await assert.rejects(run.exitCode, CancelledError);
      assert.equal(host.openShells(), 0);
      await session.close();
    });

    test('the overall deadline stops a hung command with a timeout and deletes the shell', async () => {
      const session = new WinrmSession(options);
      const started = Date.now();
      const run = session.run('winrm-test', ['hang'], { deadline: Date.now() + 1500 });
      await assert.rejects(async () => { for await (const _ of run) { /* drain */ } }, TimeoutError);
      assert.ok(Date.now() - started < 5000);
      await waitFor(() => host.openShells() === 0);
      await session.close();
    });

    test('one shell runs several commands when reused, and a lost shell is replaced', async () => {
      const session = new WinrmSession(options);
      const codes: number[] = [];
      for (const code of [0, 4, 7]) {
        const run = session.run('winrm-test', ['exit', String(code)], { reuseShell: true });
        for await (const _ of run) { /* drain */ }
        codes.push(await run.exitCode);
      }
      assert.deepEqual(codes, [0, 4, 7]);
      assert.equal(host.openShells(), 1);
      // The host loses the shell (as after a restart): the next run gets a new one.
      const id = host.shells()[0].id;
      const other = new WinrmSession(options);
      await other.data.call({ action: ACTION.delete, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: id } }, undefined, {});
      await other.close();
      assert.equal(host.openShells(), 0);
      const again = session.run('winrm-test', ['exit', '5'], { reuseShell: true });
      for await (const _ of again) { /* drain */ }
      assert.equal(await again.exitCode, 5);
      await session.close();
      assert.equal(host.openShells(), 0);
    });

    test('a wrong password is an AuthError, not a hang', async () => {
      const session = new WinrmSession({ ...options, credentials: { user: 'alice', password: 'wrong' } });
      await assert.rejects(session.openShell(), (e: unknown) => e instanceof AuthError && e.reason === 'bad-credentials');
      await session.close();
    });

    test('the shell quota fault is typed and explained', async () => {
      const quotaHost = await startTestHost({ https, user: 'alice', password: PASSWORD, maxShellsPerUser: 2 });
      const session = new WinrmSession({ ...options, url: quotaHost.url, tls: { ca: quotaHost.caPem } });
      try {
        await session.openShell();
        await session.openShell();
        await assert.rejects(session.openShell(), (e: unknown) => e instanceof WsmanFaultError && e.code === 2150859173 && /MaxShellsPerUser/.test(e.hint));
      } finally {
        await session.close();
        assert.equal(quotaHost.openShells(), 0);
        await quotaHost.close();
      }
    });
  });
}

test('HTTPS: a certificate for another name is refused unless the server name is overridden', async () => {
  const host = await startTestHost({ https: true, user: 'alice', password: PASSWORD, certificateName: 'winrm01.lab.example' });
  try {
    const base = { url: host.url, credentials: { user: 'alice', password: PASSWORD } };
    const strict = new WinrmSession({ ...base, tls: { ca: host.caPem } });
    await assert.rejects(strict.openShell(), (e: unknown) => e instanceof TlsError && /winrm01|name/.test(e.hint + e.message));
    await strict.close();
    const untrusted = new WinrmSession({ ...base });
    await assert.rejects(untrusted.openShell(), (e: unknown) => e instanceof TlsError && /not trusted/.test(e.message));
    await untrusted.close();
    const named = new WinrmSession({ ...base, tls: { ca: host.caPem, serverName: 'winrm01.lab.example' } });
    const shell = await named.openShell();
    await named.deleteShell(shell);
    await named.close();
    const insecure = new WinrmSession({ ...base, tls: { insecureSkipVerify: true } });
    await insecure.deleteShell(await insecure.openShell());
    await insecure.close();
  } finally {
    await host.close();
  }
});
