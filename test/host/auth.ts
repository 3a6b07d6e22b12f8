// Authentication for the test host, one acceptor per TCP connection.
//
// Windows authenticates connections, not requests: after an NTLM/Kerberos/CredSSP
// handshake the later requests on the same connection carry no Authorization header,
// and with message encryption their bodies are sealed (multipart/encrypted). So:
//
// - An AuthScheme is installed on the host (Basic here; NTLM and CredSSP plug in the
//   same way). Its `challenge` is what a bare 401 offers in WWW-Authenticate.
// - When a request on a connection carries `Authorization: <Scheme> ...`, the host asks
//   that scheme for a fresh Acceptor (or keeps the connection's current one when the
//   scheme is the same) and hands it every request of the connection from then on,
//   with the raw body and Content-Type.
// - The acceptor answers either with a reply to send as is (a 401 handshake leg, a
//   refusal) or with "authenticated": the user and the plain SOAP it unwrapped.
// - The host runs the SOAP and gives the reply back to the same acceptor's `wrap`
//   (seal it, or return it unchanged) before sending it.
import type { IncomingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

export const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';

/** What an acceptor knows about its connection. */
export interface ConnectionContext {
  /** A number unique within the host, for logs. */
  readonly id: number;
  readonly tls: boolean;
  readonly remoteAddress: string;
  /** The server certificate (DER) on TLS connections: channel binding hashes it. */
  readonly serverCertificate: Buffer | undefined;
}

export interface AuthRequest {
  headers: IncomingHttpHeaders;
  /** The Authorization header split into scheme and the rest (token or credentials); undefined when absent. */
  authorization: { scheme: string; token: string } | undefined;
  contentType: string | undefined;
  /** The body exactly as received (sealed bodies included). */
  body: Buffer;
}

export type AcceptResult =
  /** Send this reply as it is (a handshake leg, or a refusal); the request is not processed. */
  | { kind: 'reply'; status: number; headers?: Record<string, string | string[]>; body?: Buffer }
  /**
   * The request is authenticated: run `soap`. `encrypted` says whether the body was
   * sealed (the host enforces AllowUnencrypted with it); `headers` go on the reply.
   */
  | { kind: 'authenticated'; user: string; soap: Buffer; encrypted: boolean; headers?: Record<string, string | string[]> };

export interface Acceptor {
  /** Every request of the connection once the client picked this scheme, the first one included. */
  accept(req: AuthRequest): Promise<AcceptResult>;
  /** The plain SOAP reply to the request just accepted -> what goes on the wire, with its Content-Type. */
  wrap(soap: Buffer): { body: Buffer; contentType: string };
  /** The connection closed (free sidecar state). */
  dispose(): void;
}

export interface AuthScheme {
  /** As in the Authorization header: 'Basic', 'Negotiate', 'CredSSP' (matched case-insensitively). */
  readonly name: string;
  /** The WWW-Authenticate value a bare 401 offers for this scheme, e.g. `Basic realm="WSMAN"`. */
  readonly challenge: string;
  createAcceptor(conn: ConnectionContext): Acceptor;
}

export function parseAuthorization(value: string | undefined): AuthRequest['authorization'] {
  if (!value) return undefined;
  const m = /^\s*([A-Za-z][\w-]*)(?:\s+(.*))?$/.exec(value);
  return m ? { scheme: m[1], token: (m[2] ?? '').trim() } : undefined;
}

/** Local accounts (user name -> password). Names compare case-insensitively, as Windows does. */
export type Accounts = Record<string, string>;

function findPassword(accounts: Accounts, user: string): string | undefined {
  // `.\user` and `HOST\user` name the same local account; Windows accepts both.
  const plain = user.includes('\\') ? user.slice(user.lastIndexOf('\\') + 1) : user;
  for (const [name, password] of Object.entries(accounts)) if (name.toLowerCase() === plain.toLowerCase()) return password;
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * HTTP Basic: credentials on every request; nothing is sealed. A refusal is a 401 with
 * the host's challenges (the same reply as for a request without credentials).
 */
export function basicScheme(accounts: Accounts, refuse: () => { status: number; headers: Record<string, string | string[]> }): AuthScheme {
  return {
    name: 'Basic',
    challenge: 'Basic realm="WSMAN"',
    createAcceptor(): Acceptor {
      return {
        async accept(req) {
          const a = req.authorization;
          if (a && a.scheme.toLowerCase() === 'basic') {
            const decoded = Buffer.from(a.token, 'base64').toString('utf8');
            const colon = decoded.indexOf(':');
            if (colon > 0) {
              const user = decoded.slice(0, colon);
              const expected = findPassword(accounts, user);
              if (expected !== undefined && sameText(expected, decoded.slice(colon + 1))) {
                const plain = user.includes('\\') ? user.slice(user.lastIndexOf('\\') + 1) : user;
                return { kind: 'authenticated', user: plain, soap: req.body, encrypted: false };
              }
            }
          }
          return { kind: 'reply', ...refuse() };
        },
        wrap(soap) {
          return { body: soap, contentType: SOAP_CONTENT_TYPE };
        },
        dispose() {},
      };
    },
  };
}
