// The test host's protocol behaviour over raw HTTP: authentication, shells and their
// quota, faults, long-poll Receive, envelope limits, signals, stdin, backpressure,
// code pages, the control endpoint and hooks. Commands are the scripted `winrm-test`
// (a real child process), so these tests need neither pwsh nor wine.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as iconv from 'iconv-lite';
import { startTestHost, TestHost } from '../host/host';
import { RawClient, WsmanFaultError, controlShells, readEnumerationPage, readFault } from '../host/testing';
import { patternBytes, unicodePieces, UNICODE_TEXT } from '../host/scripted';
import { parseXml, child, children, attr, text } from '../host/xml';
import { NS } from '../host/wsman';

let host: TestHost;
let client: RawClient;

before(async () => {
  host = await startTestHost({ wine: false, maxShellsPerUser: 5 });
  client = new RawClient(host.url);
});
after(async () => {
  client.close();
  await host.close();
});

async function faultOf(p: Promise<unknown>): Promise<WsmanFaultError['fault']> {
  try { await p; } catch (e) { if (e instanceof WsmanFaultError) return e.fault; throw e; }
  assert.fail('expected a WS-Man fault');
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await cond()) return true; await new Promise((r) => setTimeout(r, 25)); }
  return cond();
}

test('no credentials or a wrong password: 401 offering Basic realm="WSMAN"; right ones: 200', async () => {
  const soap = client.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', '', { resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/config' });
  const none = await client.post(soap, {}, false);
  assert.equal(none.status, 401);
  assert.deepEqual([none.headers['www-authenticate']].flat(), ['Basic realm="WSMAN"']);
  const wrong = await client.post(soap, { Authorization: `Basic ${Buffer.from('vagrant:nope').toString('base64')}` });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body, '');
  const ok = await client.post(soap);
  assert.equal(ok.status, 200);
  assert.match(ok.headers['content-type'] ?? '', /^application\/soap\+xml;charset=UTF-8$/);
  assert.equal(ok.headers.server, 'Microsoft-HTTPAPI/2.0');
});

test('offered schemes are an option (Negotiate and Basic, as a Windows host offers them)', async () => {
  const h = await startTestHost({ wine: false, offerSchemes: ['Negotiate', 'Basic realm="WSMAN"'] });
  try {
    const c = new RawClient(h.url);
    const r = await c.post(c.envelope('x', ''), {}, false);
    c.close();
    assert.equal(r.status, 401);
    // One WWW-Authenticate line per scheme, in the order given.
    const offered = r.rawHeaders.filter((_, i) => i % 2 === 1 && r.rawHeaders[i - 1].toLowerCase() === 'www-authenticate');
    assert.deepEqual(offered, ['Negotiate', 'Basic realm="WSMAN"']);
  } finally { await h.close(); }
});

test('allowUnencrypted=false refuses Basic over plain HTTP with 401', async () => {
  const h = await startTestHost({ wine: false, allowUnencrypted: false });
  try {
    const c = new RawClient(h.url);
    const r = await c.post(c.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', '', { resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/config' }));
    c.close();
    assert.equal(r.status, 401);
  } finally { await h.close(); }
});

test('Create answers ResourceCreated + rsp:Shell in Windows prefixes; Delete frees it; the count is visible in and out of process', async () => {
  const soap = client.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
    '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:IdleTimeOut>PT60S</rsp:IdleTimeOut></rsp:Shell>',
    { options: { WINRS_CODEPAGE: '437' } });
  const sent = client.lastMessageId;
  const reply = await client.post(soap);
  assert.equal(reply.status, 200);
  assert.match(reply.body, /^<s:Envelope xml:lang="en-US" xmlns:s="[^"]+" xmlns:a="[^"]+" xmlns:x="[^"]+" xmlns:w="[^"]+" xmlns:rsp="[^"]+" xmlns:p="[^"]+"><s:Header><a:Action>http:\/\/schemas.xmlsoap.org\/ws\/2004\/09\/transfer\/CreateResponse<\/a:Action>/);
  const root = parseXml(reply.body);
  assert.equal(text(child(child(root, NS.s, 'Header'), NS.a, 'RelatesTo')), sent);
  const body = child(root, NS.s, 'Body');
  const selector = children(child(child(child(body, NS.x, 'ResourceCreated'), NS.a, 'ReferenceParameters'), NS.w, 'SelectorSet'), NS.w, 'Selector')[0];
  assert.equal(attr(selector, 'Name'), 'ShellId');
  const shellEl = child(body, NS.rsp, 'Shell');
  assert.equal(text(child(shellEl, NS.rsp, 'ShellId')), text(selector));
  assert.equal(text(child(shellEl, NS.rsp, 'IdleTimeOut')), 'PT60.000S');
  assert.equal(text(child(shellEl, NS.rsp, 'Owner')), 'vagrant');
  assert.equal(text(child(shellEl, NS.rsp, 'ClientIP')), '127.0.0.1');
  assert.equal(host.openShells(), 1);
  assert.equal((await controlShells(host.url)).open, 1);
  const del = await client.post(client.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete', '', { shellId: text(selector) }));
  assert.equal(del.status, 200);
  assert.match(del.body, /<s:Body><\/s:Body><\/s:Envelope>$/);
  assert.equal(host.openShells(), 0);
  assert.equal((await controlShells(host.url)).open, 0);
});

test('unknown ShellId and CommandId get the InvalidSelectors fault (2150858843) with HTTP 500', async () => {
  const f1 = await faultOf(client.command('11111111-2222-3333-4444-555555555555', 'hostname'));
  assert.equal(f1.status, 500);
  assert.equal(f1.code, 's:Sender');
  assert.equal(f1.subcode, 'w:InvalidSelectors');
  assert.equal(f1.wsmanCode, 2150858843);
  assert.match(f1.message, /ShellId 11111111-2222-3333-4444-555555555555 failed because the shell was not found on the server/);
  assert.equal(f1.machine, '127.0.0.1');
  const shell = await client.create();
  try {
    const f2 = await faultOf(client.receive(shell, '87E77BEB-6761-4C48-9D70-A00266B8459A'));
    assert.equal(f2.wsmanCode, 2150858843);
    assert.match(f2.message, /^The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist/);
  } finally { await client.delete(shell); }
  const f3 = await faultOf(client.delete(shell));
  assert.equal(f3.wsmanCode, 2150858843);
});

test('an idle Receive answers the TimedOut fault (2150858793) after OperationTimeout', async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'winrm-test', ['hang']);
    const first = await client.receive(shell, id, { timeout: 'PT5S' });
    assert.match(Buffer.concat(first.streams.map((s) => s.data)).toString(), /^hanging \d+\r\n$/);
    const t0 = Date.now();
    const f = await faultOf(client.receive(shell, id, { timeout: 'PT0.600S' }));
    const took = Date.now() - t0;
    assert.equal(f.status, 500);
    assert.equal(f.code, 's:Receiver');
    assert.equal(f.subcode, 'w:TimedOut');
    assert.equal(f.wsmanCode, 2150858793);
    assert.equal(f.reason, 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ');
    assert.ok(took >= 550 && took < 3000, `took ${took} ms`);
  } finally { await client.delete(shell); }
});

test('output is sent as soon as it exists, before the command ends', async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'winrm-test', ['lines', '--count', '3', '--interval-ms', '400', '--text', 'tick']);
    const first = await client.receive(shell, id, { timeout: 'PT5S' });
    // The first line alone, while the command still runs: it did not wait for the others.
    assert.equal(Buffer.concat(first.streams.map((s) => s.data)).toString(), 'tick 1\r\n');
    assert.equal(first.state, 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running');
    assert.equal(first.exitCode, undefined);
    const rest = await client.receiveAll(shell, id);
    assert.equal(rest.stdout.toString(), 'tick 2\r\ntick 3\r\n');
    assert.equal(rest.exitCode, 0);
    const last = rest.replies[rest.replies.length - 1];
    assert.deepEqual(last.streams.filter((s) => s.end).map((s) => s.name), ['stdout', 'stderr']);
  } finally { await client.delete(shell); }
});

test('Receive replies honour the request MaxEnvelopeSize: output is split over several replies', async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'winrm-test', ['emit', '--stdout', '300000', '--stderr', '100000', '--chunk', '30000', '--exit', '4']);
    const r = await client.receiveAll(shell, id, { maxEnvelopeSize: 20000 });
    assert.ok(r.replies.length >= 25, `${r.replies.length} replies`);
    for (const rep of r.replies) assert.ok(rep.size <= 20000, `a reply of ${rep.size} bytes`);
    assert.ok(r.replies.some((rep) => rep.size > 19000), 'replies use the room they have');
    assert.equal(r.stdout.length, 300000);
    assert.equal(r.stderr.length, 100000);
    assert.deepEqual(r.stdout, patternBytes('stdout', 0, 300000));
    assert.deepEqual(r.stderr, patternBytes('stderr', 0, 100000));
    assert.equal(r.exitCode, 4);
  } finally { await client.delete(shell); }
});

test('host-wide MaxEnvelopeSizekb caps replies and refuses larger requests with HTTP 413', async () => {
  const h = await startTestHost({ wine: false, maxEnvelopeSizeKb: 32 });
  const c = new RawClient(h.url, { maxEnvelopeSize: 512000 });
  try {
    const shell = await c.create();
    const id = await c.command(shell, 'winrm-test', ['emit', '--stdout', '200000']);
    const r = await c.receiveAll(shell, id);
    assert.ok(r.replies.every((rep) => rep.size <= 32 * 1024));
    assert.ok(r.replies.length >= 7);
    assert.equal(r.stdout.length, 200000);
    const big = c.envelope('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
      `<rsp:Send><rsp:Stream Name="stdin" CommandId="${id}">${Buffer.alloc(30000, 1).toString('base64')}</rsp:Stream></rsp:Send>`, { shellId: shell });
    assert.ok(Buffer.byteLength(big) > 32 * 1024);
    const refused = await c.post(big);
    assert.equal(refused.status, 413);
    await c.delete(shell);
  } finally { c.close(); await h.close(); }
});

test('a MaxEnvelopeSize under 8192 gets the EncodingLimit fault', async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'winrm-test', ['exit', '0']);
    const f = await faultOf(client.receive(shell, id, { maxEnvelopeSize: 4096 }));
    assert.equal(f.subcode, 'w:EncodingLimit');
  } finally { await client.delete(shell); }
});

test('MaxShellsPerUser: one shell too many gets the QuotaLimit fault (2150859173); Delete frees the quota', async () => {
  const shells: string[] = [];
  try {
    for (let i = 0; i < 5; i++) shells.push(await client.create());
    const f = await faultOf(client.create());
    assert.equal(f.subcode, 'w:QuotaLimit');
    assert.equal(f.wsmanCode, 2150859173);
    assert.match(f.message, /This user is allowed a maximum number of 5 concurrent shells, which has been exceeded/);
    await client.delete(shells.pop()!);
    shells.push(await client.create());
    assert.equal(host.openShells(), 5);
  } finally {
    for (const s of shells) await client.delete(s);
  }
  assert.equal(host.openShells(), 0);
});

test('Signal terminate kills the process tree and forgets the command', async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'winrm-test', ['hang']);
    const first = await client.receive(shell, id, { timeout: 'PT5S' });
    const pid = Number(/hanging (\d+)/.exec(Buffer.concat(first.streams.map((s) => s.data)).toString())![1]);
    assert.ok(alive(pid));
    const reply = await client.signal(shell, id, 'terminate');
    assert.ok(child(child(reply, NS.s, 'Body'), NS.rsp, 'SignalResponse'));
    assert.ok(await waitFor(() => !alive(pid), 2000), 'the process is gone');
    const f = await faultOf(client.receive(shell, id));
    assert.equal(f.wsmanCode, 2150858843);
  } finally { await client.delete(shell); }
});

test('ctrl_c ends a command with STATUS_CONTROL_C_EXIT; Delete kills what still runs', async () => {
  const shell = await client.create();
  const id = await client.command(shell, 'winrm-test', ['hang']);
  await client.receive(shell, id, { timeout: 'PT5S' });
  await client.signal(shell, id, 'ctrl_c');
  const r = await client.receiveAll(shell, id);
  assert.equal(r.exitCode, 0xc000013a);
  const id2 = await client.command(shell, 'winrm-test', ['hang']);
  const first = await client.receive(shell, id2, { timeout: 'PT5S' });
  const pid = Number(/hanging (\d+)/.exec(Buffer.concat(first.streams.map((s) => s.data)).toString())![1]);
  await client.delete(shell);
  assert.ok(await waitFor(() => !alive(pid), 2000));
  assert.equal(host.openShells(), 0);
});

test('stdin: Send chunks reach the process; End closes its stdin', async () => {
  const shell = await client.create();
  try {
    const id = await client.command(shell, 'winrm-test', ['echo-stdin']);
    await client.send(shell, id, Buffer.from('first line\r\n'), false);
    await client.send(shell, id, Buffer.from('second line\r\n'), true);
    const r = await client.receiveAll(shell, id);
    assert.equal(r.stdout.toString(), 'first line\r\nsecond line\r\n');
    assert.equal(r.exitCode, 0);
  } finally { await client.delete(shell); }
});

test('code page 437: UTF-8 output is converted as Windows would write it; 65001 passes split characters through', async () => {
  const cp437 = await client.run('winrm-test', ['unicode'], { codePage: 437 });
  assert.deepEqual(cp437.stdout, iconv.encode(UNICODE_TEXT, 'cp437'));
  assert.equal(cp437.stdout[1], 0x82);
  const utf8 = await client.run('winrm-test', ['unicode'], { codePage: 65001 });
  assert.equal(utf8.stdout.toString('utf8'), UNICODE_TEXT);
  // The writes split characters, and the host sends them as they come: some Stream ends mid-character.
  const pieces = utf8.replies.flatMap((r) => r.streams.filter((s) => s.name === 'stdout' && s.data.length));
  assert.ok(pieces.length >= 2 && pieces.length <= unicodePieces().length, `${pieces.length} stream elements`);
  assert.ok(pieces.some((p) => /\uFFFD$/.test(p.data.toString('utf8'))), 'a character is split across elements');
  // stdin in code page 437 reaches a UTF-8 program as UTF-8, and comes back as 437.
  const echo = await client.run('winrm-test', ['echo-stdin'], { codePage: 437, stdin: iconv.encode('héllo\r\n', 'cp437') });
  assert.deepEqual(echo.stdout, iconv.encode('héllo\r\n', 'cp437'));
});

test('Environment, WINRS_NOPROFILE and WorkingDirectory reach the process', async () => {
  const env = await client.run('winrm-test', ['env', 'env1', 'USERPROFILE', 'COMPUTERNAME', 'USERNAME'], { env: { env1: 'var1 "quoted" & <more>' } });
  assert.equal(env.stdout.toString(), 'env1=var1 "quoted" & <more>\r\nUSERPROFILE=C:\\Users\\vagrant\r\nCOMPUTERNAME=WINRM-TEST\r\nUSERNAME=vagrant\r\n');
  const noProfile = await client.run('winrm-test', ['env', 'USERPROFILE'], { noProfile: true });
  assert.equal(noProfile.stdout.toString(), 'USERPROFILE=C:\\Users\\Default\r\n');
  const cwd = await client.run('winrm-test', ['pwd'], { workingDirectory: 'c:\\WINDOWS' });
  assert.match(cwd.stdout.toString(), /\/drive_c\/Windows\r\n$/);
  const shell = await client.create({ workingDirectory: 'C:\\does\\not\\exist' });
  try {
    const f = await faultOf(client.command(shell, 'winrm-test', ['pwd']));
    assert.equal(f.wsmanCode, 2147942667);
  } finally { await client.delete(shell); }
});

test('IdleTimeOut is an xs:duration: milliseconds get the schema fault; an idle shell is closed', async () => {
  const f = await faultOf(client.create({ idleTimeout: '3600000' }));
  assert.equal(f.subcode, 'w:SchemaValidationError');
  assert.equal(f.wsmanCode, 2150858817);
  assert.equal(f.reason, 'The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. ');
  const shell = await client.create({ idleTimeout: 'PT0.5S' });
  assert.equal(host.openShells(), 1);
  assert.ok(await waitFor(() => host.openShells() === 0, 3000), 'the idle shell was closed');
  assert.equal((await faultOf(client.command(shell, 'hostname'))).wsmanCode, 2150858843);
});

test('command lines over the limits get "The filename or extension is too long" (2147942606)', async () => {
  const shell = await client.create();
  try {
    const f = await faultOf(client.command(shell, 'winrm-test', ['exit', '0', 'x'.repeat(8200)]));
    assert.equal(f.subcode, 'w:InternalError');
    assert.equal(f.wsmanCode, 2147942606);
    assert.equal(f.message, 'The filename or extension is too long. ');
    // Without cmd.exe, CreateProcess allows 32767 characters.
    const id = await client.command(shell, 'winrm-test', ['exit', '0', 'x'.repeat(8200)], { skipCmdShell: true });
    assert.equal((await client.receiveAll(shell, id)).exitCode, 0);
    const f2 = await faultOf(client.command(shell, 'powershell.exe', ['Write-Host', 'hi'], { skipCmdShell: true }));
    assert.equal(f2.wsmanCode, 2147942402);
    assert.equal(f2.message, 'The system cannot find the file specified. ');
  } finally { await client.delete(shell); }
});

test('without wine, cmd lines answer as cmd does for an unknown program; hostname still works', async () => {
  const r = await client.run('cmd', ['/c', 'echo hi']);
  assert.equal(r.stderr.toString(), "'echo' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n");
  assert.equal(r.exitCode, 9009);
  const h = await client.run('hostname');
  assert.equal(h.stdout.toString(), 'WINRM-TEST\r\n');
  assert.equal(h.exitCode, 0);
});

test('without pwsh, PowerShell commands say how to get it and fail', async () => {
  const h = await startTestHost({ wine: false, pwshPath: null });
  const c = new RawClient(h.url);
  try {
    const r = await c.run('powershell', ['-NoProfile', '-Command', 'Write-Output hi']);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr.toString(), /pwsh is not installed/);
    assert.match(r.stderr.toString(), /dotnet tool install --tool-path \.tools\/pwsh PowerShell --version 7\.6\.9/);
  } finally { c.close(); await h.close(); }
});

test('backpressure: a fast emitter is paused while nobody receives', async () => {
  const h = await startTestHost({ wine: false, outputBufferBytes: 1024 * 1024 });
  const c = new RawClient(h.url, { maxEnvelopeSize: 512000 });
  try {
    const shell = await c.create();
    const id = await c.command(shell, 'winrm-test', ['emit', '--stdout', String(64 * 1024 * 1024), '--chunk', '65536']);
    const peakNow = async () => (await controlShells(h.url)).shells[0].commands[0].peakBufferedBytes;
    assert.ok(await waitFor(async () => (await peakNow()) >= 1024 * 1024, 15_000), 'the buffer filled');
    await new Promise((r) => setTimeout(r, 700)); // the emitter would go on here if it were not paused
    const seen = (await controlShells(h.url)).shells[0].commands[0];
    assert.equal(seen.done, false, 'the emitter is blocked, not finished');
    // Paused at 1 MiB; at most what was in flight (a few pipe reads) comes on top.
    assert.ok(seen.peakBufferedBytes < 1.5 * 1024 * 1024, `peak ${seen.peakBufferedBytes} bytes buffered`);
    assert.ok(seen.peakBufferedBytes >= 1024 * 1024);
    // Receiving drains the buffer and the emitter goes on.
    let got = 0;
    for (let i = 0; i < 20; i++) got += (await c.receive(shell, id)).streams.reduce((n, s) => n + s.data.length, 0);
    assert.ok(got > 2 * 1024 * 1024, `received ${got}`);
    const after = (await controlShells(h.url)).shells[0].commands[0];
    assert.ok(after.peakBufferedBytes < 1.5 * 1024 * 1024);
    await c.signal(shell, id, 'terminate');
    await c.delete(shell);
  } finally { c.close(); await h.close(); }
});

test('several commands run in one shell at the same time', async () => {
  const shell = await client.create();
  try {
    const a = await client.command(shell, 'winrm-test', ['lines', '--count', '2', '--interval-ms', '100', '--text', 'A']);
    const b = await client.command(shell, 'winrm-test', ['exit', '5', '--stdout', 'B']);
    assert.equal(host.shells()[0].commands.length, 2);
    const [ra, rb] = await Promise.all([client.receiveAll(shell, a), client.receiveAll(shell, b)]);
    assert.equal(ra.stdout.toString(), 'A 1\r\nA 2\r\n');
    assert.equal(rb.stdout.toString(), 'B\r\n');
    assert.equal(rb.exitCode, 5);
  } finally { await client.delete(shell); }
});

test('unknown actions and resources get Windows faults; a default-namespace envelope is read by namespace', async () => {
  const f = await faultOf(client.call(client.envelope('http://example.invalid/Frobnicate', '')));
  assert.equal(f.wsmanCode, 2150858771);
  const f2 = await faultOf(client.call(client.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', '', { resourceUri: 'http://example.invalid/resource' })));
  assert.equal(f2.wsmanCode, 2150858752);
  const plain =
    `<Envelope xmlns="${NS.s}"><Header><Action xmlns="${NS.a}">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</Action>` +
    `<MessageID xmlns="${NS.a}">uuid:00000000-0000-0000-0000-000000000001</MessageID>` +
    `<ResourceURI xmlns="${NS.w}">http://schemas.microsoft.com/wbem/wsman/1/config</ResourceURI></Header><Body/></Envelope>`;
  const r = await client.post(plain);
  assert.equal(r.status, 200);
  assert.match(r.body, /<a:RelatesTo>uuid:00000000-0000-0000-0000-000000000001<\/a:RelatesTo>/);
  assert.match(r.body, /<cfg:MaxEnvelopeSizekb>500<\/cfg:MaxEnvelopeSizekb>/);
  const garbage = await client.post('this is not xml');
  assert.equal(readFault(garbage)?.subcode, 'w:InvalidBody');
});

test('Enumerate lists the user\'s shells (ShellId, Name, ResourceUri, Owner, State) in Windows\' namespaces; Pull pages the rest', async () => {
  const h = await startTestHost({ wine: false, accounts: { bob: 'bobpw' } });
  const c = new RawClient(h.url);
  const bob = new RawClient(h.url, { user: 'bob', password: 'bobpw' });
  try {
    const alpha = await c.create({ name: 'alpha' });
    const beta = await c.create({ name: 'beta', nameAttribute: true });
    const plain = await c.create();
    const bobs = await bob.create({ name: 'bobs' });
    assert.deepEqual((await controlShells(h.url)).shells.map((s) => [s.id, (s as { name?: string }).name]), [[alpha, 'alpha'], [beta, 'beta'], [plain, undefined], [bobs, 'bobs']]);

    // Optimized, two at a time: the first page comes with the Enumerate, the rest by Pull.
    const reply = await c.post(c.enumerateEnvelope({ maxElements: 2 }));
    assert.equal(reply.status, 200);
    assert.match(reply.body, /^<s:Envelope xml:lang="en-US" xmlns:s="[^"]+" xmlns:a="[^"]+" xmlns:n="[^"]+" xmlns:w="[^"]+" xmlns:p="[^"]+"><s:Header><a:Action>http:\/\/schemas.xmlsoap.org\/ws\/2004\/09\/enumeration\/EnumerateResponse<\/a:Action>/);
    assert.match(reply.body, /<s:Body><n:EnumerateResponse><n:EnumerationContext>uuid:[0-9A-F-]{36}<\/n:EnumerationContext><w:Items><rsp:Shell xmlns:rsp="http:\/\/schemas.microsoft.com\/wbem\/wsman\/1\/windows\/shell"><rsp:ShellId>/);
    const first = readEnumerationPage(parseXml(reply.body));
    assert.equal(first.end, false);
    assert.deepEqual(first.shells.map((s) => [s.id, s.name, s.resourceUri, s.owner, s.state]), [
      [alpha, 'alpha', 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd', 'vagrant', 'Connected'],
      [beta, 'beta', 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd', 'vagrant', 'Connected'],
    ]);
    assert.deepEqual(first.shells[0].elements, ['ShellId', 'Name', 'ResourceUri', 'Owner', 'ClientIP', 'IdleTimeOut', 'InputStreams', 'OutputStreams', 'State', 'ShellRunTime', 'ShellInactivity']);
    const pulled = await c.post(c.pullEnvelope(first.context!, { maxElements: 10 }));
    assert.match(pulled.body, /<a:Action>http:\/\/schemas.xmlsoap.org\/ws\/2004\/09\/enumeration\/PullResponse<\/a:Action>/);
    assert.match(pulled.body, /<s:Body><n:PullResponse><n:Items><rsp:Shell xmlns:rsp="[^"]+"><rsp:ShellId>[^<]+<\/rsp:ShellId><rsp:ResourceUri>[^<]+<\/rsp:ResourceUri>.*<\/n:Items><n:EndOfSequence\/><\/n:PullResponse><\/s:Body>/);
    const second = readEnumerationPage(parseXml(pulled.body));
    assert.deepEqual(second.shells.map((s) => [s.id, s.name]), [[plain, undefined]]);
    assert.equal(second.end, true);
    // The context ended with the sequence.
    const gone = await faultOf(c.call(c.pullEnvelope(first.context!)));
    assert.deepEqual([gone.status, gone.code, gone.subcode, gone.wsmanCode], [500, 's:Receiver', 'n:InvalidEnumerationContext', 2150858779]);

    // All at once (.../windows/shell/cmd lists the same shells): the context stays, empty, next to EndOfSequence.
    const all = await c.post(c.enumerateEnvelope({ resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd', maxElements: 32000 }));
    assert.match(all.body, /<n:EnumerateResponse><n:EnumerationContext><\/n:EnumerationContext><w:Items>.*<\/w:Items><w:EndOfSequence\/><\/n:EnumerateResponse>/);
    assert.deepEqual(readEnumerationPage(parseXml(all.body)).shells.map((s) => s.id), [alpha, beta, plain]);
    assert.deepEqual((await bob.listShells()).shells.map((s) => [s.id, s.name]), [[bobs, 'bobs']]);

    // Not optimized: only a context; without MaxElements a Pull brings one item.
    const plainEnum = readEnumerationPage(await c.call(c.enumerateEnvelope({ optimize: false })));
    assert.deepEqual([plainEnum.shells.length, plainEnum.end], [0, false]);
    const one = readEnumerationPage(await c.call(c.pullEnvelope(plainEnum.context!)));
    assert.deepEqual([one.shells.map((s) => s.id), one.end], [[alpha], false]);
    // Release ends it.
    const released = await c.post(c.envelope('http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release',
      `<n:Release xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><n:EnumerationContext>${one.context}</n:EnumerationContext></n:Release>`,
      { resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell' }));
    assert.equal(released.status, 200);
    assert.equal((await faultOf(c.call(c.pullEnvelope(one.context!)))).wsmanCode, 2150858779);
    // Another user cannot pull from someone's context.
    const ctx = readEnumerationPage(await c.call(c.enumerateEnvelope({ maxElements: 1 }))).context!;
    assert.equal((await faultOf(bob.call(bob.pullEnvelope(ctx)))).wsmanCode, 2150858779);

    // A filter is refused (MS-WSMV 3.1.4.8.2); a deleted shell is no longer listed.
    const filtered = await faultOf(c.call(c.enumerateEnvelope({ filter: true })));
    assert.deepEqual([filtered.subcode, filtered.wsmanCode], ['n:FilteringNotSupported', 2150858776]);
    await c.delete(beta);
    assert.deepEqual((await c.listShells()).shells.map((s) => s.id), [alpha, plain]);
    // A reply holds what fits the request's MaxEnvelopeSize: small envelopes take more Pulls.
    const named = await Promise.all(Array.from({ length: 3 }, (_, i) => c.create({ name: `n${i}-${'x'.repeat(2000)}` })));
    const paged = await c.listShells({ maxEnvelopeSize: 8192 });
    assert.deepEqual(paged.shells.map((s) => s.id), [alpha, plain, ...named]);
    assert.ok(paged.pages.length >= 2, `pages: ${paged.pages.length}`);
    for (const id of [alpha, plain, ...named]) await c.delete(id);
    await bob.delete(bobs);
    assert.deepEqual((await c.listShells()).shells, []);
  } finally { c.close(); bob.close(); await h.close(); }
});

test('hooks can delay, replace or drop a reply', async () => {
  const h = await startTestHost({ wine: false });
  const c = new RawClient(h.url);
  try {
    h.setHooks({ onRequest: (info) => (info.action.endsWith('/Create') ? { delayMs: 300 } : undefined) });
    const t0 = Date.now();
    const shell = await c.create();
    assert.ok(Date.now() - t0 >= 290);
    h.setHooks({ onReply: (info, reply) => (info.action.endsWith('/Command') ? { reply: { status: 500, body: reply.soap.replace(/rsp:CommandResponse/g, 'rsp:Nope') } } : undefined) });
    const replaced = await c.post(c.envelope('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command', '<rsp:CommandLine><rsp:Command>hostname</rsp:Command></rsp:CommandLine>', { shellId: shell }));
    assert.equal(replaced.status, 500);
    assert.match(replaced.body, /<rsp:Nope>/);
    h.setHooks({ onRequest: () => ({ drop: true }) });
    await assert.rejects(c.post(c.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete', '', { shellId: shell })), /socket hang up|ECONNRESET/);
    h.setHooks(undefined);
    await c.delete(shell);
  } finally { c.close(); await h.close(); }
});

test('HTTPS: the CA verifies the host; a certificate for another name does not', async () => {
  const h = await startTestHost({ wine: false, https: true });
  try {
    assert.match(h.url, /^https:\/\/127\.0\.0\.1:\d+\/wsman$/);
    assert.match(h.caPem ?? '', /-----BEGIN CERTIFICATE-----/);
    const c = new RawClient(h.url, { ca: h.caPem });
    assert.equal((await c.run('hostname')).stdout.toString(), 'WINRM-TEST\r\n');
    c.close();
    const untrusted = new RawClient(h.url);
    await assert.rejects(untrusted.post('x'), /self[- ]signed|unable to verify|UNABLE_TO_GET_ISSUER|SELF_SIGNED/i);
    untrusted.close();
    const viaName = new RawClient(h.url.replace('127.0.0.1', 'localhost'), { ca: h.caPem });
    assert.equal((await viaName.post('x', {}, false)).status, 401);
    viaName.close();
  } finally { await h.close(); }
  const other = await startTestHost({ wine: false, https: true, certificateName: 'other.example' });
  try {
    const c = new RawClient(other.url, { ca: other.caPem });
    await assert.rejects(c.post('x'), (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    c.close();
  } finally { await other.close(); }
});

test('only loopback addresses can be bound', async () => {
  await assert.rejects(startTestHost({ bind: '0.0.0.0' }), /loopback only/);
});

test('a plain GET of /wsman or another path is refused like HTTP.sys does', async () => {
  const u = new URL(host.url);
  const status = (path: string, method = 'GET') => new Promise<number>((resolve, reject) => {
    http.request({ host: u.hostname, port: u.port, path, method }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
  });
  assert.equal(await status('/wsman'), 405);
  assert.equal(await status('/other', 'POST'), 404);
});

test('a 64 MB emitter streams through with bounded buffering and exact bytes', async () => {
  const h = await startTestHost({ wine: false });
  const c = new RawClient(h.url, { maxEnvelopeSize: 512000 });
  try {
    const total = 64 * 1024 * 1024;
    const shell = await c.create();
    const id = await c.command(shell, 'winrm-test', ['emit', '--stdout', String(total)]);
    // The pattern repeats every 2304 bytes, and a reply holds under 512000: compare each
    // element with the pattern from its offset on.
    const pattern = patternBytes('stdout', 0, 2304 * 224);
    let got = 0;
    let peak = 0;
    const open = `<rsp:Stream Name="stdout" CommandId="${id}">`;
    for (;;) {
      const reply = await c.post(c.receiveEnvelope(shell, id));
      assert.equal(reply.status, 200);
      for (let at = reply.body.indexOf(open); at >= 0; at = reply.body.indexOf(open, at + 1)) {
        const start = at + open.length;
        const data = Buffer.from(reply.body.slice(start, reply.body.indexOf('<', start)), 'base64');
        const from = got % 2304;
        if (Buffer.compare(data, pattern.subarray(from, from + data.length)) !== 0) assert.fail(`bytes after ${got} differ`);
        got += data.length;
      }
      peak = Math.max(peak, h.shells()[0].commands[0].peakBufferedBytes);
      if (reply.body.includes('CommandState/Done')) break;
    }
    assert.equal(got, total);
    assert.ok(peak < 6 * 1024 * 1024, `peak buffer ${peak}`);
    await c.delete(shell);
  } finally { c.close(); await h.close(); }
});

test('a Receive the client abandons consumes nothing; Delete answers a pending Receive', async () => {
  const shell = await client.create();
  const id = await client.command(shell, 'winrm-test', ['lines', '--count', '2', '--interval-ms', '700', '--text', 'L']);
  assert.equal(Buffer.concat((await client.receive(shell, id)).streams.map((s) => s.data)).toString(), 'L 1\r\n');
  // A Receive whose connection goes away while it waits.
  const u = new URL(host.url);
  const body = client.receiveEnvelope(shell, id);
  await new Promise<void>((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: {
      'Content-Type': 'application/soap+xml;charset=UTF-8', Authorization: `Basic ${Buffer.from('vagrant:vagrant').toString('base64')}`,
    } });
    req.on('error', () => resolve());
    req.end(body);
    setTimeout(() => { req.destroy(); resolve(); }, 200);
  });
  await new Promise((r) => setTimeout(r, 800)); // line 2 is written meanwhile
  const rest = await client.receiveAll(shell, id);
  assert.equal(rest.stdout.toString(), 'L 2\r\n');
  const id2 = await client.command(shell, 'winrm-test', ['hang']);
  await client.receive(shell, id2);
  const pending = client.receive(shell, id2, { timeout: 'PT30S' });
  await new Promise((r) => setTimeout(r, 200));
  const c2 = new RawClient(host.url);
  await c2.delete(shell);
  c2.close();
  const f = await faultOf(pending);
  assert.equal(f.wsmanCode, 2150858843);
});
