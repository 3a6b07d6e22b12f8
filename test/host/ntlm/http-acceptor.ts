// NTLM (Negotiate) acceptance for one HTTP connection, as a Windows WinRM listener
// does it, with gss-ntlmssp (through the sidecar) doing the NTLM work:
// - `Authorization: Negotiate|NTLM <token>` legs -> 401 with the CHALLENGE, then the
//   connection is authenticated (an empty-body AUTHENTICATE gets 200, as pywinrm expects);
// - later requests carry no header; sealed bodies (multipart/encrypted) are unwrapped
//   by gss-ntlmssp and the replies to them sealed by it;
// - `requireEncryption` refuses plain requests over HTTP with 401, like a default
//   Windows host (AllowUnencrypted=false); `refuseEncryption` answers sealed bodies with
//   400, like a host without message encryption.
import { checkLength, frameEncrypted, isEncryptedContentType, parseContentType, parseEncrypted } from '../../../src/core/auth/encryption';
import { tlsServerEndPointData } from '../../../src/core/auth/ntlm/channel-binding';
import type { NtlmSidecar } from './acceptor';

export const SPNEGO_ENCRYPTED = 'application/HTTP-SPNEGO-session-encrypted';
export const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';

export interface NtlmAcceptorOptions {
  sidecar: NtlmSidecar;
  /** Refuse unsealed requests on plain HTTP (Windows' default AllowUnencrypted=false). */
  requireEncryption?: boolean;
  /** Answer sealed requests with 400 (a host without message encryption). */
  refuseEncryption?: boolean;
  /** Require channel binding on TLS connections (Extended Protection). Default true when a certificate is given. */
  channelBinding?: boolean;
  /** What a bare or failed request is offered in WWW-Authenticate. Default ['Negotiate']. */
  offer?: string[];
}

export interface ConnectionFacts {
  tls: boolean;
  /** The server certificate (DER) on TLS connections. */
  serverCertificate?: Buffer;
}

export interface InboundRequest {
  /** The Authorization header value, if any. */
  authorization?: string;
  contentType?: string;
  body: Buffer;
}

export type AcceptOutcome =
  | { kind: 'reply'; status: number; headers: Record<string, string | string[]>; body: Buffer }
  | { kind: 'authenticated'; user: string; soap: Buffer; encrypted: boolean };

export class NtlmConnectionAcceptor {
  private ctx: string | undefined;
  private user: string | undefined;
  private lastSealed = false;
  /** Requests seen, for tests that count legs (no retry storms). */
  legs = 0;
  /** Every completed logon on this connection (kept after the connection closes). */
  readonly logons: string[] = [];

  constructor(private readonly opts: NtlmAcceptorOptions, private readonly conn: ConnectionFacts) {}

  /** True once a handshake completed on this connection. */
  get authenticatedUser(): string | undefined {
    return this.user;
  }

  private refusal(status = 401): AcceptOutcome {
    const offer = this.opts.offer ?? ['Negotiate'];
    return { kind: 'reply', status, headers: status === 401 ? { 'www-authenticate': offer } : {}, body: Buffer.alloc(0) };
  }

  async accept(req: InboundRequest): Promise<AcceptOutcome> {
    this.legs++;
    const m = req.authorization ? /^\s*(Negotiate|NTLM)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.authorization) : null;
    if (m && (this.opts.offer ?? ['Negotiate']).some((o) => o.toLowerCase() === m[1].toLowerCase())) {
      const token = Buffer.from(m[2], 'base64');
      // A NEGOTIATE (message type 1) starts over, even on an authenticated connection.
      if (token.length >= 12 && token.readUInt32LE(8) === 1) await this.reset();
      if (!this.ctx) {
        const cb = this.conn.tls && this.conn.serverCertificate && this.opts.channelBinding !== false ? tlsServerEndPointData(this.conn.serverCertificate) : undefined;
        this.ctx = await this.opts.sidecar.newContext(cb);
      }
      let step;
      try {
        step = await this.opts.sidecar.step(this.ctx, token);
      } catch {
        await this.reset();
        return this.refusal();
      }
      if (!step.complete) {
        return { kind: 'reply', status: 401, headers: { 'www-authenticate': `${m[1]} ${step.token!.toString('base64')}` }, body: Buffer.alloc(0) };
      }
      this.user = step.user;
      this.logons.push(step.user ?? '');
      if (req.body.length === 0) return { kind: 'reply', status: 200, headers: {}, body: Buffer.alloc(0) };
    } else if (req.authorization) {
      return this.refusal();
    }
    if (!this.user || !this.ctx) return this.refusal();

    if (isEncryptedContentType(req.contentType)) {
      if (this.opts.refuseEncryption) return { kind: 'reply', status: 400, headers: { 'content-type': 'text/plain' }, body: Buffer.from('Message encryption is not supported by this host.') };
      const protocol = parseContentType(req.contentType).protocol ?? '';
      if (protocol.toLowerCase() !== SPNEGO_ENCRYPTED.toLowerCase()) return { kind: 'reply', status: 400, headers: {}, body: Buffer.alloc(0) };
      try {
        // Old pywinrm ends a one-part request without the closing boundary.
        const parts = parseEncrypted(req.body, SPNEGO_ENCRYPTED, (n) => n, { allowUnclosedSinglePart: true });
        const plain: Buffer[] = [];
        for (const part of parts) {
          if (part.headerLength !== 16) throw new Error('bad signature length');
          // Over the blocking channel, as the reply's wrap: no event-loop turn per request.
          const data = this.opts.sidecar.unwrapSync(this.ctx, part.token);
          checkLength(data, part);
          plain.push(data);
        }
        this.lastSealed = true;
        return { kind: 'authenticated', user: this.user, soap: plain.length === 1 ? plain[0] : Buffer.concat(plain), encrypted: true };
      } catch {
        // Windows answers an undecryptable body with 400 and drops the logon.
        await this.reset();
        return { kind: 'reply', status: 400, headers: {}, body: Buffer.alloc(0) };
      }
    }
    if (this.opts.requireEncryption && !this.conn.tls && req.body.length > 0) return this.refusal();
    this.lastSealed = false;
    return { kind: 'authenticated', user: this.user, soap: req.body, encrypted: false };
  }

  /** Seals the reply to the request just accepted when that request was sealed. */
  async wrap(soap: Buffer): Promise<{ body: Buffer; contentType: string }> {
    if (!this.lastSealed || !this.ctx) return { body: soap, contentType: SOAP_CONTENT_TYPE };
    const token = await this.opts.sidecar.wrap(this.ctx, soap);
    return frameEncrypted(SPNEGO_ENCRYPTED, [{ plainLength: soap.length, headerLength: 16, token }]);
  }

  /** `wrap` for callers that must answer synchronously (blocks on the sidecar's named-pipe channel). */
  wrapSync(soap: Buffer): { body: Buffer; contentType: string } {
    if (!this.lastSealed || !this.ctx) return { body: soap, contentType: SOAP_CONTENT_TYPE };
    const token = this.opts.sidecar.wrapSync(this.ctx, soap);
    return frameEncrypted(SPNEGO_ENCRYPTED, [{ plainLength: soap.length, headerLength: 16, token }]);
  }

  async reset(): Promise<void> {
    const ctx = this.ctx;
    this.ctx = undefined;
    this.user = undefined;
    this.lastSealed = false;
    if (ctx) await this.opts.sidecar.deleteContext(ctx).catch(() => undefined);
  }
}
