// Our NTLM provider over real HTTP(S) (undici, one kept-alive connection) against a
// small echo server whose NTLM side is gss-ntlmssp through the sidecar. The server
// answers each authenticated SOAP body with its SHA-256, so every byte is checked.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { buildConnector, Client } from 'undici';
import { AuthError, CancelledError, ProtocolError } from '../../src/core/errors';
import { createNtlmProvider } from '../../src/core/auth/ntlm-provider';
import type { AuthSession, ConnectionInfo, EncryptionMode, Exchange, HttpReply } from '../../src/core/auth/types';
import { NtlmSidecar, SIDECAR_HOW_TO_GET, sidecarAvailable } from '../host/ntlm/acceptor';
import { NtlmConnectionAcceptor, type NtlmAcceptorOptions } from '../host/ntlm/http-acceptor';
import { peerMissing } from '../support/peers';

const skip = peerMissing('gss-ntlmssp with python3-gssapi (Debian /usr/bin/python3)', sidecarAvailable(), SIDECAR_HOW_TO_GET);
const PASSWORD = 'S3cret-Pässword!';
let sidecar: NtlmSidecar;
let certDir: string;
let cert: { key: Buffer; cert: Buffer; der: Buffer; otherDer: Buffer };

before(async () => {
  if (skip) return;
  sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: 'alice', password: PASSWORD }] });
  await sidecar.ready();
  certDir = mkdtempSync(join(tmpdir(), 'ntlm-http-'));
  const mk = (name: string) => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '2',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(certDir, `${name}.key`), '-out', join(certDir, `${name}.pem`)], { stdio: 'ignore' });
    return { key: readFileSync(join(certDir, `${name}.key`)), pem: readFileSync(join(certDir, `${name}.pem`)) };
  };
  const a = mk('a');
  const b = mk('b');
  const der = (pem: Buffer) => Buffer.from(pem.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
  cert = { key: a.key, cert: a.pem, der: der(a.pem), otherDer: der(b.pem) };
});
after(async () => {
  if (sidecar) await sidecar.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

interface Host {
  url: string;
  server: Server;
  acceptors: NtlmConnectionAcceptor[];
  /** What the echo service saw: sealed or not, per authenticated request. */
  seen: { encrypted: boolean; user: string; bytes: number }[];
  close(): Promise<void>;
}

async function startHost(t: TestContext, opts: Omit<NtlmAcceptorOptions, 'sidecar'> & { https?: boolean; bindTo?: Buffer; tamperReplies?: boolean; plainReplies?: boolean } = {}): Promise<Host> {
  const acceptors: NtlmConnectionAcceptor[] = [];
  const seen: Host['seen'] = [];
  const perSocket = new WeakMap<Socket, NtlmConnectionAcceptor>();
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let acceptor = perSocket.get(req.socket);
    if (!acceptor) {
      acceptor = new NtlmConnectionAcceptor({ ...opts, sidecar }, { tls: !!opts.https, serverCertificate: opts.https ? opts.bindTo ?? cert.der : undefined });
      perSocket.set(req.socket, acceptor);
      acceptors.push(acceptor);
    }
    const out = await acceptor.accept({ authorization: req.headers.authorization, contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
    if (out.kind === 'reply') {
      res.writeHead(out.status, { ...out.headers, 'content-length': out.body.length });
      res.end(out.body);
      return;
    }
    seen.push({ encrypted: out.encrypted, user: out.user, bytes: out.soap.length });
    const soap = Buffer.from(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Echo user="${out.user}" sha256="${createHash('sha256').update(out.soap).digest('hex')}"/></s:Body></s:Envelope>`);
    const wrapped = opts.plainReplies ? { body: soap, contentType: 'application/soap+xml;charset=UTF-8' } : await acceptor.wrap(soap);
    if (opts.tamperReplies && out.encrypted) wrapped.body[wrapped.body.length - 40] ^= 0x08;
    res.writeHead(200, { 'content-type': wrapped.contentType, 'content-length': wrapped.body.length });
    res.end(wrapped.body);
  };
  const server = opts.https ? createHttpsServer({ key: cert.key, cert: cert.cert }, handler) : createHttpServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  t.after(close);
  return {
    url: `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    server,
    acceptors,
    seen,
    close,
  };
}

/** One undici connection and the exchange / ConnectionInfo the transport would give a provider. */
function connect(t: TestContext, url: string): { exchange: Exchange; conn: ConnectionInfo; sockets: () => number } {
  let socket: Socket | undefined;
  let count = 0;
  const https = url.startsWith('https');
  const connector = buildConnector(https ? { rejectUnauthorized: false } : {});
  const client = new Client(url, {
    pipelining: 1,
    connect: (opts, cb) => connector(opts, (err, s) => {
      if (s) { socket = s; count++; }
      if (err) cb(err, null);
      else cb(null, s!);
    }),
  });
  t.after(() => client.destroy());
  const exchange: Exchange = async (req) => {
    const res = await client.request({ path: '/wsman', method: 'POST', headers: { ...req.headers, 'content-length': String(req.body.length) }, body: req.body });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    const headers: HttpReply['headers'] = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      headers[k.toLowerCase()] = k.toLowerCase() === 'www-authenticate' ? ([] as string[]).concat(v) : Array.isArray(v) ? v.join(', ') : v;
    }
    return { status: res.statusCode, headers, body: Buffer.concat(chunks) };
  };
  const conn: ConnectionInfo = {
    tls: https,
    hostname: 'localhost',
    peerCertificate: () => (socket as TLSSocket | undefined)?.getPeerCertificate?.(false)?.raw,
  };
  return { exchange, conn, sockets: () => count };
}

async function post(exchange: Exchange, session: AuthSession, soap: Buffer): Promise<HttpReply & { soap: Buffer }> {
  const { body, contentType } = session.wrap(soap);
  const reply = await exchange({ headers: { 'content-type': contentType }, body });
  return { ...reply, soap: session.unwrap(reply) };
}

const echoOf = (soap: Buffer, user = 'LAB\\alice') => `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Echo user="${user}" sha256="${createHash('sha256').update(soap).digest('hex')}"/></s:Body></s:Envelope>`;
const provider = (encryption: EncryptionMode, password = PASSWORD, extra: { channelBinding?: boolean; user?: string } = {}) =>
  createNtlmProvider({ credentials: { user: extra.user ?? 'LAB\\alice', password }, encryption, channelBinding: extra.channelBinding });

test('HTTP, encryption auto: sealed requests and replies on one connection, sizes up to 5 MB', { skip }, async (t) => {
  const host = await startHost(t, { requireEncryption: true });
  const { exchange, conn, sockets } = connect(t, host.url);
  const session = await provider('auto').handshake(exchange, conn, new AbortController().signal);
  assert.equal(session.encrypted, true);
  assert.deepEqual(session.requestHeaders(), {});
  for (const n of [0, 1, 300, 70_000, 5 << 20, 10]) {
    const soap = randomBytes(n);
    const r = await post(exchange, session, soap);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^multipart\/encrypted;protocol="application\/HTTP-SPNEGO-session-encrypted"/);
    assert.equal(r.soap.toString(), echoOf(soap));
  }
  assert.equal(sockets(), 1, 'all legs and requests on one connection');
  assert.deepEqual(host.seen.map((s) => s.encrypted), [true, true, true, true, true, true]);
  assert.equal(host.seen[0].user, 'LAB\\alice');
});

test('user@domain and an explicit domain field name the same account', { skip }, async (t) => {
  const host = await startHost(t);
  for (const creds of [{ user: 'alice@LAB', password: PASSWORD }, { user: 'alice', domain: 'LAB', password: PASSWORD }]) {
    const { exchange, conn } = connect(t, host.url);
    const session = await createNtlmProvider({ credentials: creds }).handshake(exchange, conn, new AbortController().signal);
    const r = await post(exchange, session, Buffer.from('<x/>'));
    assert.equal(r.soap.toString(), echoOf(Buffer.from('<x/>')));
  }
});

test('HTTP, encryption never, host allows unencrypted traffic: plain SOAP after the handshake', { skip }, async (t) => {
  const host = await startHost(t);
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('never').handshake(exchange, conn, new AbortController().signal);
  assert.equal(session.encrypted, false);
  const soap = Buffer.from('<s:Envelope>plain</s:Envelope>');
  const r = await post(exchange, session, soap);
  assert.equal(r.headers['content-type'], 'application/soap+xml;charset=UTF-8');
  assert.equal(r.soap.toString(), echoOf(soap));
  assert.deepEqual(host.seen.map((s) => s.encrypted), [false]);
});

test('HTTP, encryption never, host requires encryption: a clear "encryption required" error, not "bad password"', { skip }, async (t) => {
  const host = await startHost(t, { requireEncryption: true });
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('never').handshake(exchange, conn, new AbortController().signal);
  await assert.rejects(post(exchange, session, Buffer.from('<s:Envelope/>')), (e: unknown) =>
    e instanceof AuthError && e.reason === 'encryption-required' && /AllowUnencrypted/.test(e.message) && /"auto" or "always"/.test(e.hint));
  assert.equal(host.seen.length, 0);
});

test('wrong password: one NEGOTIATE and one AUTHENTICATE, then a bad-credentials error that does not contain the password', { skip }, async (t) => {
  const host = await startHost(t);
  const { exchange, conn } = connect(t, host.url);
  const wrong = 'Wr0ng-Passw0rd';
  await assert.rejects(provider('auto', wrong).handshake(exchange, conn, new AbortController().signal), (e: unknown) => {
    assert.ok(e instanceof AuthError);
    assert.equal(e.reason, 'bad-credentials');
    assert.match(e.message, /LAB\\alice/);
    assert.ok(!`${e.message} ${e.hint}`.includes(wrong));
    return true;
  });
  assert.equal(host.acceptors[0].legs, 2, 'no retries');
});

test('a host that offers only Basic: the error lists what it offers', { skip }, async (t) => {
  const host = await startHost(t, { offer: ['Basic realm="WSMAN"'] });
  const { exchange, conn } = connect(t, host.url);
  await assert.rejects(provider('auto').handshake(exchange, conn, new AbortController().signal), (e: unknown) =>
    e instanceof AuthError && e.reason === 'scheme-not-offered' && e.offeredSchemes.join() === 'Basic' && /offers: Basic/.test(e.message));
});

test('a host that offers "NTLM" but not "Negotiate": the provider switches scheme names', { skip }, async (t) => {
  const host = await startHost(t, { offer: ['NTLM'], requireEncryption: true });
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('auto').handshake(exchange, conn, new AbortController().signal);
  const r = await post(exchange, session, Buffer.from('<ntlm-scheme/>'));
  assert.equal(r.soap.toString(), echoOf(Buffer.from('<ntlm-scheme/>')));
});

test('a host that refuses message encryption: "encryption refused"', { skip }, async (t) => {
  const host = await startHost(t, { refuseEncryption: true });
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('always').handshake(exchange, conn, new AbortController().signal);
  await assert.rejects(post(exchange, session, Buffer.from('<s:Envelope/>')), (e: unknown) => e instanceof AuthError && e.reason === 'encryption-refused');
});

test('a tampered sealed reply is an error, never data, and the session stays unusable', { skip }, async (t) => {
  const host = await startHost(t, { tamperReplies: true });
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('auto').handshake(exchange, conn, new AbortController().signal);
  await assert.rejects(post(exchange, session, Buffer.from('<s:Envelope>1</s:Envelope>')), (e: unknown) => e instanceof ProtocolError && /integrity check/.test((e as Error).message));
  assert.throws(() => session.wrap(Buffer.from('<again/>')), ProtocolError);
});

test('plain SOAP replies to sealed requests (as OMI sends some): accepted with "auto", refused with "always"', { skip }, async (t) => {
  const host = await startHost(t, { plainReplies: true });
  const a = connect(t, host.url);
  const auto = await provider('auto').handshake(a.exchange, a.conn, new AbortController().signal);
  assert.equal((await post(a.exchange, auto, Buffer.from('<omi/>'))).soap.toString(), echoOf(Buffer.from('<omi/>')));
  const b = connect(t, host.url);
  const always = await provider('always').handshake(b.exchange, b.conn, new AbortController().signal);
  await assert.rejects(post(b.exchange, always, Buffer.from('<omi/>')), (e: unknown) => e instanceof AuthError && e.reason === 'encryption-refused' && /plain text/.test(e.message));
});

test('HTTPS with channel binding (auto = no sealing): accepted when the binding matches the served certificate', { skip }, async (t) => {
  const host = await startHost(t, { https: true });
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('auto').handshake(exchange, conn, new AbortController().signal);
  assert.equal(session.encrypted, false);
  const soap = Buffer.from('<s:Envelope>over tls</s:Envelope>');
  assert.equal((await post(exchange, session, soap)).soap.toString(), echoOf(soap));
});

test('HTTPS where the host binds to another certificate (a TLS-intercepting proxy): refused, with the channel-binding hint', { skip }, async (t) => {
  const host = await startHost(t, { https: true, bindTo: cert.otherDer });
  const { exchange, conn } = connect(t, host.url);
  await assert.rejects(provider('auto').handshake(exchange, conn, new AbortController().signal), (e: unknown) =>
    e instanceof AuthError && e.reason === 'bad-credentials' && /channel binding/.test(e.hint));
});

test('HTTPS with encryption always: sealed inside TLS, as pywinrm does with message_encryption=always', { skip }, async (t) => {
  const host = await startHost(t, { https: true });
  const { exchange, conn } = connect(t, host.url);
  const session = await provider('always').handshake(exchange, conn, new AbortController().signal);
  assert.equal(session.encrypted, true);
  const soap = randomBytes(100_000);
  assert.equal((await post(exchange, session, soap)).soap.toString(), echoOf(soap));
  assert.deepEqual(host.seen.map((s) => s.encrypted), [true]);
});

test('a dropped connection: the next connection authenticates afresh and sequence numbers start over', { skip }, async (t) => {
  const host = await startHost(t, { requireEncryption: true });
  const { exchange, conn, sockets } = connect(t, host.url);
  const p = provider('auto');
  const first = await p.handshake(exchange, conn, new AbortController().signal);
  assert.equal((await post(exchange, first, Buffer.from('<a/>'))).soap.toString(), echoOf(Buffer.from('<a/>')));
  host.server.closeAllConnections();
  await new Promise((r) => setTimeout(r, 50));
  const second = await p.handshake(exchange, conn, new AbortController().signal);
  for (const n of [1, 2, 3]) assert.equal((await post(exchange, second, Buffer.from(`<b n="${n}"/>`))).soap.toString(), echoOf(Buffer.from(`<b n="${n}"/>`)));
  assert.equal(sockets(), 2);
  assert.equal(host.acceptors.length, 2);
});

test('an aborted signal stops the handshake before it sends', { skip }, async (t) => {
  const host = await startHost(t);
  const { exchange, conn } = connect(t, host.url);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(provider('auto').handshake(exchange, conn, ac.signal), CancelledError);
  assert.equal(host.acceptors.length, 0);
});
