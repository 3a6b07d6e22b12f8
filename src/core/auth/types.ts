// The one interface every authentication scheme implements. The transport owns
// the connection; a scheme only sees a function that sends one request on it.

export type AuthScheme = 'basic' | 'ntlm' | 'credssp';
export type EncryptionMode = 'auto' | 'always' | 'never';

export interface Credentials {
  /** Plain user name; `DOMAIN\user` and `user@domain` are split by `splitUserName`. */
  user: string;
  password: string;
  domain?: string;
}

export interface HttpReply {
  status: number;
  /** Header names are lower case; repeated headers are joined with ", " except www-authenticate, kept as an array. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface HttpRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one request on the connection the handshake runs on. */
export type Exchange = (req: HttpRequest) => Promise<HttpReply>;

export interface ConnectionInfo {
  /** True for https. */
  readonly tls: boolean;
  /** The server certificate (DER) once the connection is up; for channel binding. */
  peerCertificate(): Buffer | undefined;
  /** Host name as in the URL (for SPNs, CredSSP target names). */
  readonly hostname: string;
}

/** What a completed handshake gives the transport for later requests on the same connection. */
export interface AuthSession {
  /** True when bodies are sealed (wrap/unwrap do real work). */
  readonly encrypted: boolean;
  /** Headers for each request (Basic sends Authorization every time; NTLM none after the handshake). */
  requestHeaders(): Record<string, string>;
  /** Turn a SOAP body into what goes on the wire, with its Content-Type. */
  wrap(soap: Buffer): { body: Buffer; contentType: string };
  /** Turn a reply body back into SOAP; throws on a bad signature or framing. */
  unwrap(reply: HttpReply): Buffer;
}

export interface AuthProvider {
  readonly scheme: AuthScheme;
  /**
   * Authenticate a fresh connection. `exchange` sends on that connection; the
   * first request of a sealed session usually has an empty body.
   * Throws AuthError with a reason when the host refuses.
   */
  handshake(exchange: Exchange, conn: ConnectionInfo, signal: AbortSignal): Promise<AuthSession>;
}

export const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';

/** `DOMAIN\user` and `user@domain` to their parts; an explicit domain wins. */
export function splitUserName(user: string, domain?: string): { user: string; domain: string } {
  const backslash = user.indexOf('\\');
  if (backslash >= 0) return { user: user.slice(backslash + 1), domain: domain || user.slice(0, backslash) };
  const at = user.lastIndexOf('@');
  if (at > 0) return { user: user.slice(0, at), domain: domain || user.slice(at + 1) };
  return { user, domain: domain ?? '' };
}

/** The schemes (with their base64 token, if any) offered by the WWW-Authenticate headers. */
export function parseWwwAuthenticate(value: string | string[] | undefined): { scheme: string; token?: string }[] {
  if (value === undefined) return [];
  const out: { scheme: string; token?: string }[] = [];
  for (const header of Array.isArray(value) ? value : [value]) {
    for (const piece of header.split(',')) {
      const m = /^\s*([A-Za-z][\w-]*)(=)?(?:\s+(\S+))?/.exec(piece);
      if (!m || m[2]) continue; // `realm="WSMAN"` is a parameter of the scheme before it
      const token = m[3] && /^[A-Za-z0-9+/]+=*$/.test(m[3]) ? m[3] : undefined;
      out.push({ scheme: m[1], token });
    }
  }
  return out;
}
