// HTTP transport over one kept-alive undici connection per session. NTLM and
// CredSSP authenticate a TCP connection, and sealed messages carry sequence
// numbers, so requests go strictly one at a time on that connection. When the
// connection is replaced (dropped, aborted), the next request authenticates the
// new one first.
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction, Socket } from 'node:net';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { buildConnector, Client, type Dispatcher } from 'undici';
import type { AuthProvider, AuthSession, ConnectionInfo, HttpReply, HttpRequest } from '../auth/types';
import { parseWwwAuthenticate } from '../auth/types';
import { AuthError, CancelledError, ConfigError, ProtocolError, TimeoutError, WinrmError } from '../errors';
import { redactHeaders } from '../redact';
import { classifyTransportError } from './tls-errors';

export interface TlsOptions {
  /** PEM of the CA (or CAs) that issued the host's certificate; added to nothing else: it replaces the system store. */
  ca?: string | Buffer;
  /** Verify the certificate (and send SNI) for this name instead of the URL's host. */
  serverName?: string;
  /** Skip certificate verification entirely. Callers must warn the user. */
  insecureSkipVerify?: boolean;
}

export interface TraceEvent {
  direction: 'request' | 'reply';
  url: string;
  status?: number;
  headers: Record<string, string>;
  /** The SOAP text (before sealing / after unsealing); handshake legs show no body. */
  body: string;
}
export type TraceSink = (event: TraceEvent) => void;

export interface TransportOptions {
  url: string;
  auth: AuthProvider;
  tls?: TlsOptions;
  connectTimeoutMs?: number;
  /** Largest reply body accepted, in bytes; bigger replies are refused without buffering them. */
  maxReplyBytes?: number;
  trace?: TraceSink;
  /** Name resolution override (tests; split-horizon setups). Same contract as dns.lookup. */
  lookup?: LookupFunction;
}

export interface PostOptions {
  signal?: AbortSignal;
  /** Time allowed for this one request, in ms (must exceed the WS-Man OperationTimeout). */
  timeoutMs: number;
}

interface BoundSession {
  auth: AuthSession;
  socket: Socket | undefined;
}

export class HttpTransport {
  readonly url: URL;
  private readonly client: Client;
  private readonly options: TransportOptions;
  private session: BoundSession | undefined;
  private lastSocket: Socket | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: TransportOptions) {
    this.options = options;
    this.url = parseEndpoint(options.url);
    const https = this.url.protocol === 'https:';
    const tls = options.tls ?? {};
    const serverName = tls.serverName || undefined;
    const connector = buildConnector({
      timeout: options.connectTimeoutMs ?? 15_000,
      ...(options.lookup ? { lookup: options.lookup } : {}),
      ...(https
        ? {
            ca: tls.ca,
            rejectUnauthorized: !tls.insecureSkipVerify,
            minVersion: 'TLSv1.2' as const,
            servername: serverName,
            checkServerIdentity: (host: string, cert: PeerCertificate) =>
              tls.insecureSkipVerify ? undefined : checkServerIdentity(serverName ?? host, cert),
          }
        : {}),
    });
    this.client = new Client(this.url.origin, {
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      connect: (opts, callback) => {
        connector(serverName ? { ...opts, servername: serverName } : opts, (err, socket) => {
          if (socket) this.lastSocket = socket;
          if (err) callback(err, null);
          else callback(null, socket!);
        });
      },
    });
  }

  get https(): boolean {
    return this.url.protocol === 'https:';
  }

  /** Send one SOAP request and return the reply's SOAP text with its HTTP status. */
  async post(soap: string, options: PostOptions): Promise<{ status: number; body: string }> {
    const reply = await this.postBytes(soap, options);
    return { status: reply.status, body: reply.body.toString('utf8') };
  }

  /** As post, with the reply's SOAP as UTF-8 bytes: the parser decodes only its markup. */
  postBytes(soap: string, options: PostOptions): Promise<{ status: number; body: Buffer }> {
    // The time allowed counts from now, waiting behind an earlier request included, and a
    // request that gives up while waiting does not let the next one overtake that earlier one.
    const { signal, done } = requestSignal(options.signal, options.timeoutMs);
    const turn = this.queue;
    const run = untilAborted(turn, signal).then(
      () => this.postNow(soap, options, signal),
      // Its time ran out (or it was cancelled) while an earlier request held the connection: never sent.
      (err) => { throw this.translate(err, signal, options, true); },
    );
    run.then(done, done);
    this.queue = run.then(() => turn, () => turn);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.destroy().catch(() => undefined);
  }

  private async postNow(soap: string, options: PostOptions, signal: AbortSignal): Promise<{ status: number; body: Buffer }> {
    if (this.closed) throw new CancelledError('The session is closed.');
    try {
      const plaintext = Buffer.from(soap, 'utf8');
      for (let attempt = 0; ; attempt++) {
        const session = await this.ensureSession(signal);
        const { body, contentType } = session.auth.wrap(plaintext);
        const headers = { 'content-type': contentType, ...session.auth.requestHeaders() };
        this.trace('request', headers, soap);
        const reply = await this.send({ headers, body }, signal);
        if (reply.status === 401) {
          // A new connection since the handshake means the host never saw our
          // credentials on this one: authenticate again and resend (a 401 is
          // never processed, so resending is safe).
          if (attempt === 0 && session.socket !== undefined && session.socket !== this.lastSocket) {
            this.session = undefined;
            continue;
          }
          this.session = undefined;
          this.trace('reply', flatten(reply.headers), '', reply.status);
          // The scheme may know better (NTLM: "this host requires encryption").
          session.auth.unwrap(reply);
          throw authFailure(reply, this.options.auth.scheme, this.https);
        }
        let unwrapped: Buffer;
        try {
          unwrapped = session.auth.unwrap(reply);
        } catch (err) {
          // A reply that does not verify ends this security context: the next
          // request authenticates a new connection instead of failing forever.
          this.session = undefined;
          this.lastSocket?.destroy();
          throw err;
        }
        if (this.options.trace) this.trace('reply', flatten(reply.headers), unwrapped.toString('utf8'), reply.status);
        return { status: reply.status, body: unwrapped };
      }
    } catch (err) {
      throw this.translate(err, signal, options);
    }
  }

  private async ensureSession(signal: AbortSignal): Promise<BoundSession> {
    const current = this.session;
    if (current && !(current.socket && (current.socket.destroyed || current.socket !== this.lastSocket))) return current;
    this.session = undefined;
    const conn: ConnectionInfo = {
      tls: this.https,
      hostname: this.options.tls?.serverName || this.url.hostname,
      peerCertificate: () => {
        const s = this.lastSocket as TLSSocket | undefined;
        if (!s || typeof s.getPeerCertificate !== 'function') return undefined;
        return s.getPeerCertificate(false)?.raw;
      },
    };
    const auth = await this.options.auth.handshake((req) => {
      this.trace('request', req.headers, req.body.length ? '(handshake body)' : '');
      return this.send(req, signal).then((reply) => {
        this.trace('reply', flatten(reply.headers), '', reply.status);
        return reply;
      });
    }, conn, signal);
    this.session = { auth, socket: this.lastSocket };
    return this.session;
  }

  // A dispatch handler collects the reply's chunks as they arrive: request()'s
  // Readable body and async iterator cost more CPU than the rest of a Receive.
  private send(req: HttpRequest, signal: AbortSignal): Promise<HttpReply> {
    const limit = this.options.maxReplyBytes ?? 64 * 1024 * 1024;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<HttpReply>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let raw: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const settle = (err: unknown, reply?: HttpReply) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (reply) resolve(reply);
        else reject(err);
      };
      const onAbort = () => {
        const reason = signal.reason as Error;
        settle(reason);
        controller?.abort(reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.client.dispatch({
        path: this.url.pathname + this.url.search,
        method: 'POST',
        headers: { ...req.headers, 'content-length': String(req.body.length), 'user-agent': 'winrm-runner' },
        body: req.body,
        headersTimeout: 0,
        bodyTimeout: 0,
      }, {
        onRequestStart(c) {
          controller = c;
          if (settled) c.abort(signal.reason as Error);
        },
        onResponseStart(_c, statusCode, headers) {
          if (statusCode < 200) return; // informational: the reply follows
          status = statusCode;
          raw = headers;
        },
        onResponseData(c, chunk) {
          if (settled) return;
          size += chunk.length;
          if (size > limit) {
            settle(new ProtocolError(`The host sent a reply larger than ${limit} bytes; it was refused.`));
            c.abort(new ProtocolError('reply over the size limit'));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          const headers: HttpReply['headers'] = {};
          for (const [name, value] of Object.entries(raw)) {
            if (value === undefined) continue;
            headers[name.toLowerCase()] = name.toLowerCase() === 'www-authenticate' ? ([] as string[]).concat(value) : Array.isArray(value) ? value.join(', ') : value;
          }
          settle(undefined, { status, headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
        },
        onResponseError(_c, err) {
          settle(err);
        },
      });
    });
  }

  private translate(err: unknown, signal: AbortSignal, options: PostOptions, notSent = false): unknown {
    if (err instanceof WinrmError) return err;
    if (signal.aborted) {
      if (options.signal?.aborted) return new CancelledError();
      return new TimeoutError(`No answer from ${this.url.host} within ${Math.round(options.timeoutMs / 1000)} s.`, undefined, { notSent });
    }
    return classifyTransportError(err, { url: this.url.href, hostname: this.url.hostname, port: this.url.port || (this.https ? '443' : '80'), https: this.https });
  }

  private trace(direction: 'request' | 'reply', headers: Record<string, string>, body: string, status?: number): void {
    if (!this.options.trace) return;
    this.options.trace({ direction, url: this.url.href, status, headers: redactHeaders(headers), body });
  }
}

function flatten(headers: HttpReply['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Resolves when `turn` settles, rejects when `signal` aborts first. */
function untilAborted(turn: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    turn.then(() => { signal.removeEventListener('abort', onAbort); resolve(); }, () => { signal.removeEventListener('abort', onAbort); resolve(); });
  });
}

/**
 * The signal for one request: the caller's abort, or its time running out; `done` clears
 * the timer. Not AbortSignal.any over AbortSignal.timeout: on Node 20 nothing holds the
 * timeout signal strongly, so it can be garbage-collected and never fire (a silent host
 * then hangs the request).
 */
function requestSignal(user: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  // Whole milliseconds: a fractional deadline must not matter.
  const timer = setTimeout(() => controller.abort(new DOMException('The request timed out.', 'TimeoutError')), Math.max(1, Math.ceil(timeoutMs)));
  const onAbort = (): void => controller.abort(user?.reason);
  if (user?.aborted) onAbort();
  else user?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      user?.removeEventListener('abort', onAbort);
    },
  };
}

/** Explain a final 401 by what the host offers. */
export function authFailure(reply: HttpReply, scheme: string, https: boolean): AuthError {
  const offered = parseWwwAuthenticate(reply.headers['www-authenticate']).map((o) => o.scheme);
  const wire = scheme === 'basic' ? 'Basic' : scheme === 'credssp' ? 'CredSSP' : 'Negotiate';
  const offersOurs = offered.some((o) => o.toLowerCase() === wire.toLowerCase() || (wire === 'Negotiate' && o.toLowerCase() === 'ntlm'));
  if (offered.length > 0 && !offersOurs) {
    return new AuthError('scheme-not-offered', `The host refused ${scheme} authentication; it offers ${offered.join(', ')}.`,
      `Choose one of the offered schemes, or enable ${scheme} on the host (winrm set winrm/config/service/auth @{${wire}="true"}).`, offered);
  }
  const unencrypted = !https && scheme === 'basic'
    ? ' Over plain HTTP, Basic also needs AllowUnencrypted=true on the host (winrm set winrm/config/service @{AllowUnencrypted="true"}); HTTPS avoids that.'
    : '';
  return new AuthError('bad-credentials', 'The host rejected the user name or password (HTTP 401).',
    `Check the user name (DOMAIN\\user or user@domain), the password, and that the user is in "Remote Management Users".${unencrypted}`, offered);
}

/** Accepts http(s)://host[:port][/wsman] or a bare host name (http, 5985). */
export function parseEndpoint(input: string): URL {
  const text = input.trim();
  if (!text) throw new ConfigError('No host given.', 'Give a host name or a URL such as https://server.example.com:5986/wsman.');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    // Echo the input without a user:password@ part: the message goes to logs and screens.
    throw new ConfigError(`"${text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1…@')}" is not a valid host or URL.`, 'Use a host name (server01), host:port, or a URL such as http://server01:5985/wsman.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`"${url.protocol}" is not supported; WinRM uses http or https.`, 'Use http://host:5985/wsman or https://host:5986/wsman.');
  }
  if (url.username || url.password) throw new ConfigError('Put the user name and password in their own fields, not in the URL.', 'Remove "user:password@" from the address.');
  if (!url.hostname) throw new ConfigError(`"${input}" has no host name.`, 'Give a host name or IP address.');
  // URL drops a default port (https://h:443 has port ''): only fill in WinRM's ports when none was written.
  const explicitPort = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/?#:]*):(\d+)/i.test(withScheme);
  if (!url.port && !explicitPort) url.port = url.protocol === 'https:' ? '5986' : '5985';
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/wsman';
  return url;
}
