// NTLM over HTTP(S) for WinRM: the three legs on one connection, then either
// sealed multipart bodies (message encryption) or plain SOAP.
//
// How we tell the failure modes apart:
// - final leg answered 401: bad credentials (or, over HTTPS with channel binding,
//   a binding the host did not accept). Never retried: retrying locks accounts.
// - no token for Negotiate/NTLM in a 401: the scheme is not offered; we list the offered ones.
// - a CHALLENGE without SEAL while we must encrypt: the host refused encryption.
// - a 401 on a connection whose handshake succeeded: the password was already proven,
//   so on plain HTTP without encryption it means AllowUnencrypted=false; with
//   encryption it means the host refused our sealed message. `unwrap` raises these.
import { AuthError, CancelledError, ProtocolError } from '../errors';
import { encodeEncrypted, unwrapSessionReply, type MessageSealer } from './encryption';
import { channelBindingHash } from './ntlm/channel-binding';
import { NtlmClient } from './ntlm/client';
import { NtlmSecurity, SIGNATURE_LENGTH } from './ntlm/security';
import {
  parseWwwAuthenticate,
  SOAP_CONTENT_TYPE,
  splitUserName,
  type AuthProvider,
  type AuthSession,
  type ConnectionInfo,
  type Credentials,
  type EncryptionMode,
  type Exchange,
  type HttpReply,
} from './types';

export const SPNEGO_ENCRYPTED = 'application/HTTP-SPNEGO-session-encrypted';

export interface NtlmProviderOptions {
  credentials: Credentials;
  /** auto: encrypt on http, not on https (default). */
  encryption?: EncryptionMode;
  /** Send the tls-server-end-point binding over HTTPS (default true). */
  channelBinding?: boolean;
  /** Workstation name in the AUTHENTICATE (default empty). */
  workstation?: string;
}

/** The NTLM session as a framing sealer (16-byte signature, then the sealed message). */
export function ntlmSealer(security: NtlmSecurity): MessageSealer {
  return {
    protocol: SPNEGO_ENCRYPTED,
    seal: (plain) => ({ headerLength: SIGNATURE_LENGTH, token: security.seal(plain) }),
    unseal: (token, headerLength) => {
      if (headerLength !== SIGNATURE_LENGTH) throw new ProtocolError(`Encrypted part has a ${headerLength}-byte signature; NTLM uses ${SIGNATURE_LENGTH}.`);
      return security.unseal(token);
    },
    encryptedLength: (n) => n,
  };
}

export function createNtlmProvider(options: NtlmProviderOptions): AuthProvider {
  const mode = options.encryption ?? 'auto';
  return {
    scheme: 'ntlm',
    async handshake(exchange: Exchange, conn: ConnectionInfo, signal: AbortSignal): Promise<AuthSession> {
      const encrypt = mode === 'always' || (mode === 'auto' && !conn.tls);
      const { user, domain } = splitUserName(options.credentials.user, options.credentials.domain);
      const who = domain ? `${domain}\\${user}` : user;

      // Asked when the AUTHENTICATE is built: the certificate exists once the first leg connected.
      let bindings: Buffer | undefined;
      const channelBindings = (): Buffer | undefined => {
        if (!conn.tls || options.channelBinding === false) return undefined;
        const der = conn.peerCertificate();
        bindings = der ? channelBindingHash(der) : undefined;
        return bindings;
      };
      const client = new NtlmClient({
        user,
        domain,
        password: options.credentials.password,
        workstation: options.workstation,
        channelBindings,
        targetName: conn.hostname ? `HTTP/${conn.hostname}` : undefined,
        requireSeal: encrypt,
      });

      const send = async (scheme: string, token: Buffer): Promise<HttpReply> => {
        if (signal.aborted) throw new CancelledError();
        // Empty bodies: with encryption nothing can be sealed before the keys exist,
        // and the transport sends the real request once the session is up.
        return exchange({ headers: { authorization: `${scheme} ${token.toString('base64')}` }, body: Buffer.alloc(0) });
      };

      let scheme = 'Negotiate';
      let reply = await send(scheme, client.negotiate());
      let offered = parseWwwAuthenticate(reply.headers['www-authenticate']);
      if (reply.status === 401 && !tokenFor(offered, scheme) && has(offered, 'NTLM') && !has(offered, 'Negotiate')) {
        scheme = 'NTLM';
        reply = await send(scheme, client.negotiate());
        offered = parseWwwAuthenticate(reply.headers['www-authenticate']);
      }
      if (reply.status !== 401) {
        throw new AuthError('unknown', `The host answered HTTP ${reply.status} to the NTLM negotiate request instead of a challenge.`, 'Check that the URL points at the WinRM listener (http://host:5985/wsman or https://host:5986/wsman).');
      }
      const challenge = tokenFor(offered, scheme);
      if (!challenge) {
        const names = [...new Set(offered.map((o) => o.scheme))];
        if (has(offered, scheme)) {
          throw new AuthError('scheme-not-offered', `The host offers ${scheme} but did not answer our NTLM message with a challenge; NTLM is probably restricted on the host or domain.`, 'Allow NTLM for this host ("Network security: Restrict NTLM" policies) or use Kerberos.', names);
        }
        throw new AuthError('scheme-not-offered', `The host does not offer NTLM (Negotiate); it offers: ${names.length ? names.join(', ') : 'nothing'}.`, 'Enable it on the host with `winrm set winrm/config/service/auth @{Negotiate="true"}`, or pick an offered scheme in the host settings.', names);
      }

      const authenticate = client.authenticate(Buffer.from(challenge, 'base64'));
      reply = await send(scheme, authenticate);
      if (reply.status === 401) {
        const cbNote = bindings ? ' If the password is right, a TLS-inspecting proxy may have broken channel binding.' : '';
        throw new AuthError('bad-credentials', `The host rejected the credentials of ${who} (NTLM).`, `Check the user name, domain (DOMAIN\\user or user@domain; "." or the computer name for a local account) and password; the account may also be locked out or not allowed to log on over the network.${cbNote}`);
      }
      return new NtlmSession(client.security, encrypt, mode, conn.tls);
    },
  };
}

function has(offered: { scheme: string }[], scheme: string): boolean {
  return offered.some((o) => o.scheme.toLowerCase() === scheme.toLowerCase());
}

function tokenFor(offered: { scheme: string; token?: string }[], scheme: string): string | undefined {
  return offered.find((o) => o.scheme.toLowerCase() === scheme.toLowerCase() && o.token)?.token;
}

class NtlmSession implements AuthSession {
  private readonly sealer: MessageSealer;
  private dead?: Error;

  constructor(security: NtlmSecurity, readonly encrypted: boolean, private readonly mode: EncryptionMode, private readonly tls: boolean) {
    this.sealer = ntlmSealer(security);
  }

  requestHeaders(): Record<string, string> {
    return {};
  }

  wrap(soap: Buffer): { body: Buffer; contentType: string } {
    if (this.dead) throw this.dead;
    if (!this.encrypted) return { body: soap, contentType: SOAP_CONTENT_TYPE };
    return encodeEncrypted(this.sealer, soap);
  }

  unwrap(reply: HttpReply): Buffer {
    if (this.dead) throw this.dead;
    try {
      return this.unwrapReply(reply);
    } catch (err) {
      // Sealed streams are out of step after any failure: the connection must be replaced.
      if (this.encrypted) this.dead = err as Error;
      throw err;
    }
  }

  private unwrapReply(reply: HttpReply): Buffer {
    return unwrapSessionReply(reply, { scheme: 'NTLM', protocol: SPNEGO_ENCRYPTED, sealer: this.sealer, encrypted: this.encrypted, tls: this.tls, mode: this.mode });
  }
}
