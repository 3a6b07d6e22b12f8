// The test host running real programs: PowerShell in the project's pwsh (what a Windows
// host runs as powershell.exe), and cmd lines in wine's cmd.exe.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as iconv from 'iconv-lite';
import { startTestHost, TestHost } from '../host/host';
import { RawClient } from '../host/testing';
import { peerMissing, pwshPath, runs } from '../support/peers';

const noPwsh = peerMissing('pwsh 7.6.9 (.tools/pwsh/pwsh)', pwshPath() !== undefined, 'Install it with: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');
const noWine = peerMissing('wine', runs('wine', ['--version']), 'Install it with: DEBIAN_FRONTEND=noninteractive apt-get install --no-install-recommends -y wine wine64');

let host: TestHost;
let client: RawClient;

before(async () => {
  host = await startTestHost({});
  client = new RawClient(host.url);
});
after(async () => {
  client.close();
  await host.close();
});

const encoded = (script: string) => Buffer.from(script, 'utf16le').toString('base64');

test('powershell -EncodedCommand runs in real PowerShell: output, stderr and exit code', { skip: noPwsh }, async () => {
  const script = 'Write-Output "hi from $($PSVersionTable.PSEdition)"; [Console]::Error.WriteLine("to stderr"); exit 7';
  const r = await client.run('powershell', ['-NoProfile', '-NonInteractive', '-EncodedCommand', encoded(script)]);
  assert.equal(r.stdout.toString(), 'hi from Core\n');
  assert.equal(r.stderr.toString(), 'to stderr\n');
  assert.equal(r.exitCode, 7);
});

test('PowerShell output is converted to the shell code page (437: é is 0x82)', { skip: noPwsh }, async () => {
  const r = await client.run('powershell -EncodedCommand ' + encoded('Write-Output "caf\u00e9"'), [], { codePage: 437 });
  assert.deepEqual(r.stdout, iconv.encode('café\n', 'cp437'));
  const u = await client.run('powershell -EncodedCommand ' + encoded('Write-Output "caf\u00e9"'), [], { codePage: 65001 });
  assert.equal(u.stdout.toString('utf8'), 'café\n');
});

test('powershell.exe as Windows PowerShell: positional command, full path, and `-` reading stdin without prompts', { skip: noPwsh }, async () => {
  const positional = await client.run('powershell.exe', ['Write-Host', 'hi']);
  assert.equal(positional.stdout.toString(), 'hi\n');
  const full = await client.run('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', ['-NoProfile', '-Command', 'exit 3'], { skipCmdShell: true });
  assert.equal(full.exitCode, 3);
  const stdin = await client.run('powershell.exe', ['-'], { stdin: Buffer.from('Write-Host "output 1";\r\nWrite-Host "output 2";\r\n') });
  assert.equal(stdin.stdout.toString(), 'output 1\noutput 2\n');
  assert.equal(stdin.exitCode, 0);
});

test('a long-running PowerShell loop answers each stdin line while it runs (the connector\'s powerhell pattern)', { skip: noPwsh }, async () => {
  const loop = '$in = [Console]::In; while (($line = $in.ReadLine()) -ne $null) { if ($line -eq "quit") { break }; Write-Output "got $line"; Write-Output ":::prompt:::" }';
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'powershell', ['-NoProfile', '-NonInteractive', '-EncodedCommand', encoded(loop)]);
    for (const word of ['alpha', 'beta']) {
      await client.send(shell, id, Buffer.from(`${word}\r\n`), false);
      let out = '';
      const end = Date.now() + 20_000;
      while (!out.includes(':::prompt:::') && Date.now() < end) {
        try {
          const r = await client.receive(shell, id, { timeout: 'PT5S' });
          assert.equal(r.exitCode, undefined, 'the loop is still running');
          out += Buffer.concat(r.streams.map((s) => s.data)).toString();
        } catch (e) { if (!/2150858793/.test(String(e))) throw e; }
      }
      assert.equal(out, `got ${word}\n:::prompt:::\n`);
    }
    await client.send(shell, id, Buffer.from('quit\r\n'), true);
    const rest = await client.receiveAll(shell, id);
    assert.equal(rest.exitCode, 0);
  } finally { await client.delete(shell); }
});

test('terminate ends a running pwsh', { skip: noPwsh }, async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'powershell', ['-NoProfile', '-Command', 'Write-Output $PID; Start-Sleep 60']);
    let pidText = '';
    const deadline = Date.now() + 30_000;
    while (!/\d+\n/.test(pidText)) {
      assert.ok(Date.now() < deadline, `no pid from pwsh: ${pidText}`);
      try { pidText += Buffer.concat((await client.receive(shell, id, { timeout: 'PT10S' })).streams.map((s) => s.data)).toString(); } catch (e) { if (!/2150858793/.test(String(e))) throw e; }
    }
    const pid = Number(pidText.trim());
    await client.signal(shell, id, 'terminate');
    const end = Date.now() + 3000;
    let alive = true;
    while (alive && Date.now() < end) { try { process.kill(pid, 0); await new Promise((r) => setTimeout(r, 50)); } catch { alive = false; } }
    assert.equal(alive, false, `pwsh ${pid} still runs`);
  } finally { await client.delete(shell); }
});

test('cmd lines run in wine\'s cmd.exe: output, stderr and exit code as on Windows', { skip: noWine }, async () => {
  assert.equal(await host.wineReady(), true);
  const hi = await client.run('cmd.exe', ['/c', 'echo', 'hi']);
  assert.equal(hi.stdout.toString(), 'hi\r\n');
  assert.equal(hi.exitCode, 0);
  const rc = await client.run('cmd.exe', ['/c echo out && echo err>&2 && exit 1']);
  assert.equal(rc.stdout.toString(), 'out \r\n');
  assert.equal(rc.stderr.toString(), 'err \r\n');
  assert.equal(rc.exitCode, 1);
  const quoted = await client.run('echo "a b" & echo %USERNAME%');
  assert.equal(quoted.stdout.toString(), '"a b" \r\nvagrant\r\n');
});

test('wine output becomes the shell code page; Environment variables reach cmd', { skip: noWine }, async () => {
  const cp = await client.run('echo caf\u00e9', [], { codePage: 437 });
  assert.deepEqual(cp.stdout, iconv.encode('café\r\n', 'cp437'));
  const env = await client.run('cmd', ['/c', 'set'], { env: { env1: 'var1', '1234': '5678' } });
  const lines = env.stdout.toString().split('\r\n');
  assert.ok(lines.includes('env1=var1'), env.stdout.toString());
  assert.ok(lines.includes('1234=5678'));
  assert.ok(lines.includes('USERNAME=vagrant'));
  assert.ok(lines.includes('USERPROFILE=C:\\Users\\vagrant'));
  assert.ok(lines.includes('COMPUTERNAME=WINRM-TEST'));
  assert.ok(!lines.some((l) => l.startsWith('__WINRS')), 'the host\'s helper variables do not show');
  // Values with cmd's special characters arrive intact (`set` prints them; an `echo %odd%`
  // would be split at the & by cmd, on Windows too).
  const odd = await client.run('cmd', ['/c', 'set', 'odd'], { env: { odd: 'a & b | "c" <d> 100%' } });
  assert.equal(odd.stdout.toString(), 'odd=a & b | "c" <d> 100%\r\n');
  const cd = await client.run('cd');
  assert.match(cd.stdout.toString(), /^C:\\users\\vagrant\r\n$/i);
});
