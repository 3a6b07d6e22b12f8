// The user-facing CredSSP choices reach the wire, through the two ways users set them:
// winrm-run's --credssp-raw-ntlm / --credssp-allow-old-versions (the real CLI process) and
// a host's `credssp` settings (sessionOptionsFor → testConnection, as the extension calls it).
//
// - Raw NTLM against FreeRDP's shadow server, an acceptor we did not write that refuses
//   SPNEGO-wrapped NTLM. FreeRDP speaks CredSSP on a raw RDP socket, so a small HTTP bridge
//   here carries each `Authorization: CredSSP <b64>` leg onto an RDP connection (after the
//   X.224 preamble, one RDP connection per HTTP connection) and FreeRDP's answer back as
//   `WWW-Authenticate: CredSSP <b64>`. FreeRDP then checks the NTLM logon against its SAM
//   file and decrypts the delegated credentials (it logs NLA.authInfo); it runs no WinRM, so
//   the bridge answers the first real (sealed) request with 503: that request arriving,
//   sealed with the CredSSP session, shows the handshake completed. SPNEGO-wrapped NTLM
//   (the default) is refused by FreeRDP at the first NTLM leg: it logs an invalid NTLM
//   signature (SEC_E_INVALID_TOKEN), answers with a 12 KB token and closes. That token is
//   more than an HTTP client takes in one header, so the client's own message there is an
//   artifact of the bridge ("connection dropped"): those cases assert on FreeRDP's log.
// - Old CredSSP versions against the test host's acceptor announcing version 4: refused by
//   default (nothing delegated), accepted with the flag or setting (real PowerShell runs).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sessionOptionsFor, testConnection, type HostSettings } from '../../src/core/hosts';
import { credSspCertificate, credSspScheme, type CredSspScheme } from '../host/credssp/acceptor';
import { startTestHost, type TestHost } from '../host/host';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { FREERDP_HOW_TO_GET, freerdpAvailable, parseConnectionConfirm, startShadowServer, x224ConnectionRequest, type ShadowServer } from '../support/freerdp';
import { cliMissing, runCli } from '../support/cli';
import { peerMissing, pwshPath } from '../support/peers';

const PASSWORD = 'Cred-opt-pässwörd-3!';
const noCli = cliMissing();
const noFreeRdp = peerMissing('FreeRDP shadow server (freerdp-shadow-cli, winpr-hash, Xvfb)', freerdpAvailable(), FREERDP_HOW_TO_GET);
const noSidecar = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);
const noPwsh = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

const cli = (args: string[], password = PASSWORD) => runCli(args, { password });

/** Bytes from the RDP socket as they come. */
class RdpReader {
  private buffered = Buffer.alloc(0);
  ended = false;
  private wake?: () => void;
  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => { this.buffered = Buffer.concat([this.buffered, d]); this.wake?.(); });
    for (const e of ['end', 'close', 'error']) socket.on(e, () => { this.ended = true; this.wake?.(); });
  }
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }
  async exactly(n: number, ms = 10_000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.buffered.length < n && !this.ended && Date.now() < deadline) await this.wait(deadline - Date.now());
    if (this.buffered.length < n) throw new Error(`RDP server sent ${this.buffered.length} of ${n} bytes`);
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }
  /**
   * FreeRDP's answer to one leg: whole TLS records, collected until it has been quiet for a
   * while (it polls every ~100 ms, and one flight may come in several writes). Empty when it
   * sent nothing within `firstMs`.
   */
  async flight(firstMs: number): Promise<Buffer> {
    const deadline = Date.now() + firstMs;
    while (!this.buffered.length && !this.ended && Date.now() < deadline) await this.wait(deadline - Date.now());
    while (this.buffered.length && !this.ended) {
      const before = this.buffered.length;
      // A record cut in two: its rest comes soon; whole records: wait for a quiet spell.
      await this.wait(recordsEnd(this.buffered) === before ? 300 : 5_000);
      if (this.buffered.length === before) break;
    }
    const out = this.buffered;
    this.buffered = Buffer.alloc(0);
    return out;
  }
}

/** Length of the whole TLS records at the start of `b`. */
function recordsEnd(b: Buffer): number {
  let at = 0;
  while (at + 5 <= b.length && at + 5 + b.readUInt16BE(at + 3) <= b.length) at += 5 + b.readUInt16BE(at + 3);
  return at;
}

interface BridgeLeg { connection: number; leg: number; sent: number; answered: number; status: number }
interface Bridge {
  url: string;
  legs: BridgeLeg[];
  /** Content-Type of each non-handshake request (the first WinRM request after the logon). */
  requests: string[];
  close(): Promise<void>;
}

/** HTTP (WinRM's CredSSP binding) in front, FreeRDP's CredSSP over RDP behind. */
async function startBridge(rdpPort: number): Promise<Bridge> {
  const legs: BridgeLeg[] = [];
  const requests: string[] = [];
  const rdp = new Map<object, { socket: Socket; reader: RdpReader; id: number; legs: number }>();
  const sockets = new Set<Socket>();
  let ids = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const m = /^CredSSP\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) {
      requests.push(String(req.headers['content-type'] ?? ''));
      res.writeHead(503, { 'content-type': 'text/plain' }).end('bridge to FreeRDP: no WinRM behind it');
      return;
    }
    let conn = rdp.get(req.socket);
    if (!conn) {
      const socket = connect(rdpPort, '127.0.0.1');
      sockets.add(socket);
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const reader = new RdpReader(socket);
      socket.write(x224ConnectionRequest());
      const selected = parseConnectionConfirm(await reader.exactly(19));
      if (selected !== 0x02) throw new Error(`FreeRDP selected protocol ${selected}, not HYBRID`);
      conn = { socket, reader, id: ++ids, legs: 0 };
      rdp.set(req.socket, conn);
      req.socket.once('close', () => conn!.socket.destroy());
    }
    const token = Buffer.from(m[1], 'base64');
    conn.legs++;
    conn.socket.write(token);
    const answer = await conn.reader.flight(3_000);
    // No answer on an open socket after the NTLM legs: FreeRDP took the credentials and
    // waits for RDP's next phase; that is "logged on" (200) in WinRM's binding. Before that
    // (TLS 1.3: the client's Finished may get no answer) and on a closed socket: 401, no token.
    const status = answer.length === 0 && !conn.reader.ended && conn.legs >= 3 ? 200 : 401;
    legs.push({ connection: conn.id, leg: conn.legs, sent: token.length, answered: answer.length, status });
    res.writeHead(status, status === 401 ? { 'www-authenticate': answer.length ? `CredSSP ${answer.toString('base64')}` : 'CredSSP' } : {}).end();
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`bridge: ${err.message}`);
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/wsman`,
    legs,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const SEALED = /^multipart\/encrypted;\s*protocol="application\/HTTP-CredSSP-session-encrypted"/;

describe('raw NTLM (--credssp-raw-ntlm, "credssp": { "rawNtlm": true }) against FreeRDP, which refuses SPNEGO', { skip: noFreeRdp }, () => {
  const ALICE = { user: 'alice', domain: 'DOM', password: PASSWORD };
  let server: ShadowServer;
  let bridge: Bridge;
  before(async () => {
    server = await startShadowServer([ALICE]);
    bridge = await startBridge(server.port);
  });
  after(async () => {
    await bridge?.close();
    await server?.stop();
  });

  const SPNEGO_REFUSED = /NTLM_MESSAGE_HEADER Invalid signature[\s\S]*AcceptSecurityContext status SEC_E_INVALID_TOKEN/;

  /** The bridge's legs and FreeRDP's log lines since a mark (the whole log here is ~35 KB, under the 200 KB the helper keeps). */
  const since = (mark: { legs: number; log: number; requests: number }) => ({
    legs: bridge.legs.slice(mark.legs),
    log: server.log().slice(mark.log),
    requests: bridge.requests.slice(mark.requests),
  });
  const mark = () => ({ legs: bridge.legs.length, log: server.log().length, requests: bridge.requests.length });

  test('winrm-run --auth credssp --credssp-raw-ntlm: FreeRDP verifies the logon and takes the delegated credentials; without the flag it refuses SPNEGO; a wrong password is refused', { skip: noCli }, async () => {
    const args = ['--host', bridge.url, '--user', 'DOM\\alice', '--auth', 'credssp', '--command', 'hostname'];
    let m = mark();
    const raw = await cli([...args, '--credssp-raw-ntlm']);
    let seen = since(m);
    assert.equal(raw.code, 255, raw.stderr);
    // Past the logon: the first WinRM request went out sealed with the CredSSP session, and the
    // error is the bridge's 503 (no WinRM behind FreeRDP), not an authentication failure.
    assert.ok(seen.requests.length >= 1 && seen.requests.every((t) => SEALED.test(t)), JSON.stringify(seen));
    assert.match(raw.stderr, /503/);
    assert.doesNotMatch(raw.stderr, /CredSSP|logon|password/i);
    assert.match(seen.log, /NLA\.authInfo \(length = \d+\)/, 'FreeRDP decrypted the delegated credentials');
    assert.doesNotMatch(seen.log, /\[ERROR\]\[com\.freerdp\.core\.nla\]/);
    assert.doesNotMatch(seen.log, SPNEGO_REFUSED);
    assert.equal(seen.legs.at(-1)?.status, 200);
    assert.ok(!raw.stderr.includes(PASSWORD));

    m = mark();
    const spnego = await cli(args);
    seen = since(m);
    assert.equal(spnego.code, 255);
    assert.match(seen.log, SPNEGO_REFUSED, 'FreeRDP got SPNEGO where it takes raw NTLM only');
    assert.deepEqual(seen.requests, [], 'no WinRM request after a refused logon');
    assert.doesNotMatch(seen.log, /NLA\.authInfo/, 'no credentials delegated');
    assert.ok(seen.legs.every((l) => l.status === 401));
    assert.ok(!spnego.stderr.includes(PASSWORD));

    m = mark();
    const wrong = await cli([...args, '--credssp-raw-ntlm'], 'not-' + PASSWORD);
    seen = since(m);
    assert.equal(wrong.code, 255);
    assert.match(wrong.stderr, /DOM\\alice/);
    assert.doesNotMatch(seen.log, SPNEGO_REFUSED, 'raw NTLM reached FreeRDP');
    assert.doesNotMatch(seen.log, /NLA\.authInfo/);
    assert.deepEqual(seen.requests, []);
    assert.ok(!wrong.stderr.includes(PASSWORD));
  });

  test('host settings { "credssp": { "rawNtlm": true } } through Test Connection: past the logon; the default (SPNEGO) is refused', async () => {
    const host: HostSettings = { id: 'rdp', name: 'FreeRDP', url: bridge.url, auth: 'credssp', user: 'alice', domain: 'DOM', style: 'dashed', profile: 'safe', credssp: { rawNtlm: true } };
    let m = mark();
    const raw = await testConnection(sessionOptionsFor(host, PASSWORD), { timeoutMs: 30_000 });
    let seen = since(m);
    assert.equal(raw.ok, false);
    if (!raw.ok) assert.equal(raw.diagnosis.title, 'Unexpected HTTP 503', JSON.stringify(raw.diagnosis));
    assert.ok(seen.requests.length >= 1 && seen.requests.every((t) => SEALED.test(t)), JSON.stringify(seen.requests));
    assert.match(seen.log, /NLA\.authInfo \(length = \d+\)/);
    assert.doesNotMatch(seen.log, SPNEGO_REFUSED);

    m = mark();
    const spnego = await testConnection(sessionOptionsFor({ ...host, credssp: undefined }, PASSWORD), { timeoutMs: 30_000 });
    seen = since(m);
    assert.equal(spnego.ok, false);
    assert.match(seen.log, SPNEGO_REFUSED);

    assert.deepEqual(seen.requests, []);
    assert.doesNotMatch(seen.log, /NLA\.authInfo/);
  });
});

describe('old CredSSP versions (--credssp-allow-old-versions, "credssp": { "allowOldVersions": true }) against a version 4 test host', { skip: noSidecar }, () => {
  const users = [{ domain: 'LAB', user: 'alice', password: PASSWORD }];
  let sidecar: NtlmSidecar;
  let cert: Awaited<ReturnType<typeof credSspCertificate>>;
  let host: TestHost;
  let scheme: CredSspScheme;
  before(async () => {
    sidecar = new NtlmSidecar({ users, domainName: 'LAB', computerName: 'LAB-OLD01' });
    await sidecar.ready();
    cert = await credSspCertificate();
    scheme = credSspScheme({ sidecar, users, keyPem: cert.keyPem, certPem: cert.certPem, version: 4 });
    host = await startTestHost({ user: 'alice', password: PASSWORD, schemes: () => [scheme], allowUnencrypted: false, hostName: 'LAB-OLD01' });
  });
  after(async () => {
    await host?.close();
    await sidecar?.close();
    await cert?.remove();
  });

  test('winrm-run refuses the version 4 host by default with the CVE and the way out; runs PowerShell with --credssp-allow-old-versions, with a warning', { skip: noCli || noPwsh }, async () => {
    const args = ['--host', host.url, '--user', 'LAB\\alice', '--auth', 'credssp', '--language', 'powershell', '--command', "Write-Output ('old ' + (6*7)); exit 3"];
    const refused = await cli(args);
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /CredSSP version 4.*CVE-2018-0886; refused/);
    assert.equal(scheme.delegated.length, 0, 'nothing delegated to an old host by default');

    const allowed = await cli([...args, '--credssp-allow-old-versions']);
    assert.equal(allowed.code, 3, allowed.stderr);
    assert.equal(allowed.stdout.replace(/\r\n/g, '\n'), 'old 42\n');
    assert.match(allowed.stderr, /^winrm-run: warning: CredSSP versions 2-4 are accepted \(--credssp-allow-old-versions\); .*man in the middle can take the delegated password\.$/m);
    assert.ok(scheme.delegated.length >= 1);
    for (const d of scheme.delegated) assert.deepEqual([d.domain, d.user, d.password, d.valid], ['LAB', 'alice', PASSWORD, true]);
    assert.ok(!allowed.stdout.includes(PASSWORD) && !allowed.stderr.includes(PASSWORD));
    assert.equal(host.openShells(), 0);
  });

  test('Test Connection: the diagnosis names the opt-in after "update the host"; with { "allowOldVersions": true } the host name comes back', async () => {
    const settings: HostSettings = { id: 'old', name: 'Old', url: host.url, auth: 'credssp', user: 'alice', domain: 'LAB', style: 'dashed', profile: 'safe' };
    const before = scheme.delegated.length;
    const refused = await testConnection(sessionOptionsFor(settings, PASSWORD), { timeoutMs: 20_000 });
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.diagnosis.title, 'The host\'s CredSSP is out of date (CVE-2018-0886)');
      assert.match(refused.diagnosis.hint, /March 2018.*Only if the host cannot be updated.*"allowOldVersions": true.*--credssp-allow-old-versions/);
    }
    assert.equal(scheme.delegated.length, before);
    const allowed = await testConnection(sessionOptionsFor({ ...settings, credssp: { allowOldVersions: true } }, PASSWORD), { timeoutMs: 20_000 });
    assert.deepEqual(allowed.ok ? allowed.hostname : allowed.diagnosis, 'LAB-OLD01');
    assert.ok(scheme.delegated.length > before);
    assert.equal(host.openShells(), 0);
  });
});
