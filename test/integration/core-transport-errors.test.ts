// Bad hosts and bad replies: each ends quickly in a typed error whose one-line
// message names the cause and carries a hint. Real sockets on loopback; the
// misbehaving servers here are deliberately tiny.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { AuthError, HttpError, NetworkError, ProtocolError, TimeoutError, TlsError, describeError } from '../../src/core/errors';
import { WinrmSession } from '../../src/core/session';

const credentials = { user: 'alice', password: 'canary-Pa55-do-not-log' };

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wsman` };
}

async function openShellError(session: WinrmSession): Promise<unknown> {
  const started = Date.now();
  try {
    await session.openShell({}, { deadline: Date.now() + 5000 });
  } catch (err) {
    assert.ok(Date.now() - started < 6000, 'ended within its deadline');
    return err;
  } finally {
    await session.close();
  }
  assert.fail('expected an error');
}

function assertOneLine(err: unknown): void {
  const line = describeError(err);
  assert.ok(!line.includes('\n'), `one line: ${line}`);
  assert.ok(!line.includes(credentials.password), 'no password in the message');
  assert.match(line, /Hint: \S/);
}

test('a 200 with garbage is a protocol error', async () => {
  const { server, url } = await serve((_req, res) => res.end('hello, I am not WinRM'));
  const err = await openShellError(new WinrmSession({ url, credentials }));
  server.close();
  assert.ok(err instanceof ProtocolError, String(err));
  assertOneLine(err);
});

test('truncated XML is a protocol error', async () => {
  const { server, url } = await serve((_req, res) => res.end('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'));
  const err = await openShellError(new WinrmSession({ url, credentials }));
  server.close();
  assert.ok(err instanceof ProtocolError, String(err));
  assertOneLine(err);
});

test('401 with Basic offered means bad credentials; with only Negotiate offered, the scheme is named', async () => {
  let seenAuth = '';
  const basic = await serve((req, res) => { seenAuth = req.headers.authorization ?? ''; res.writeHead(401, { 'www-authenticate': 'Basic realm="WSMAN"' }).end(); });
  const e1 = await openShellError(new WinrmSession({ url: basic.url, credentials }));
  basic.server.close();
  assert.ok(e1 instanceof AuthError && e1.reason === 'bad-credentials', String(e1));
  assert.equal(Buffer.from(seenAuth.replace('Basic ', ''), 'base64').toString(), `${credentials.user}:${credentials.password}`);
  assertOneLine(e1);
  const nego = await serve((_req, res) => res.writeHead(401, { 'www-authenticate': ['Negotiate', 'Kerberos'] }).end());
  const e2 = await openShellError(new WinrmSession({ url: nego.url, credentials }));
  nego.server.close();
  assert.ok(e2 instanceof AuthError && e2.reason === 'scheme-not-offered', String(e2));
  assert.deepEqual(e2.offeredSchemes, ['Negotiate', 'Kerberos']);
  assert.match(e2.message, /offers Negotiate, Kerberos/);
});

test('a 404 page says the path is not a WinRM listener', async () => {
  const { server, url } = await serve((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>'));
  const err = await openShellError(new WinrmSession({ url, credentials }));
  server.close();
  assert.ok(err instanceof HttpError && err.status === 404, String(err));
  assert.match(err.hint, /\/wsman/);
});

test('a closed port is named, with the WinRM ports in the hint', async () => {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const err = await openShellError(new WinrmSession({ url: `http://127.0.0.1:${port}/wsman`, credentials }));
  assert.ok(err instanceof NetworkError && err.code === 'ECONNREFUSED', String(err));
  assert.match(err.hint, /5985/);
  assertOneLine(err);
});

test('an unknown host name is named', async () => {
  // Resolution is answered locally: tests never query a name server.
  const lookup = ((_host: string, _opts: unknown, cb: (err: Error) => void) => {
    cb(Object.assign(new Error('getaddrinfo ENOTFOUND winrm-lab.invalid'), { code: 'ENOTFOUND' }));
  }) as never;
  const err = await openShellError(new WinrmSession({ url: 'http://winrm-lab.invalid:5985/wsman', credentials, lookup }));
  assert.ok(err instanceof NetworkError && err.code === 'ENOTFOUND', String(err));
  assert.match(err.message, /winrm-lab\.invalid/);
});

test('https against a plain HTTP port says so', async () => {
  const { server, url } = await serve((_req, res) => res.end());
  const err = await openShellError(new WinrmSession({ url: url.replace('http:', 'https:'), credentials }));
  server.close();
  assert.ok(err instanceof TlsError, String(err));
  assert.match(err.hint, /http:\/\//);
});

test('a host that never answers ends at the deadline', async () => {
  const { server, url } = await serve(() => { /* never answers */ });
  const err = await openShellError(new WinrmSession({ url, credentials }));
  server.closeAllConnections();
  server.close();
  assert.ok(err instanceof TimeoutError, String(err));
});

test('a reply far larger than any envelope is refused without buffering it', async () => {
  const { server, url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/soap+xml' });
    const block = Buffer.alloc(1 << 20, 0x41);
    let sent = 0;
    const pump = () => { while (sent < 200 && res.write(block)) sent++; if (sent < 200) res.once('drain', pump); else res.end(); };
    pump();
  });
  const err = await openShellError(new WinrmSession({ url, credentials }));
  server.closeAllConnections();
  server.close();
  assert.ok(err instanceof ProtocolError, String(err));
  assert.match(err.message, /larger than/);
});
