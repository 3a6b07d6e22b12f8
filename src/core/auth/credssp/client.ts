// The initiator side of MS-CSSP as a transport-agnostic engine: it consumes the
// peer's bytes and produces the next bytes to send (raw TLS records), so the same
// code runs inside WinRM's HTTP headers and on an RDP socket.
//
//   TLS handshake -> TSRequest{negoTokens: NTLM NEGOTIATE}        -> CHALLENGE
//                 -> TSRequest{AUTHENTICATE, clientNonce, pubKeyAuth} -> server pubKeyAuth (checked)
//                 -> TSRequest{authInfo: the password credentials}  (only now)
import { randomBytes } from 'node:crypto';
import { AuthError, ProtocolError } from '../../errors';
import { NtlmClient } from '../ntlm/client';
import type { NtlmSecurity } from '../ntlm/security';
import { pubKeyAuthValue, subjectPublicKey } from './binding';
import { tlvSize } from './der';
import { decodeNegTokenResp, encodeMechTypes, encodeNegTokenInit, encodeNegTokenResp, NegState, NTLM_OID } from './spnego';
import { decodeTsRequest, encodePasswordCredentials, encodeTsRequest, type TsRequest } from './structures';
import { TlsPipe, type CipherInfo, type TlsVersion } from './tls-pipe';

/** The highest MS-CSSP version we speak. */
export const CREDSSP_VERSION = 6;

export interface CredSspClientOptions {
  user: string;
  domain: string;
  password: string;
  /** Raw NTLM in negoTokens instead of SPNEGO-wrapped NTLM (FreeRDP needs raw). */
  rawNtlm?: boolean;
  /** Accept servers below version 5 (no nonce binding: CVE-2018-0886). Off by default. */
  allowOldVersions?: boolean;
  minTlsVersion?: TlsVersion;
  maxTlsVersion?: TlsVersion;
  /**
   * TLS 1.3: send our Finished in a leg of its own and read the peer's answer
   * (possibly session tickets only) before the first TSRequest. Request/response
   * carriers (HTTP) need this; a stream (RDP) can send both at once.
   */
  finishedAlone?: boolean;
  /** NTLM workstation name. */
  workstation?: string;
}

/** Where the handshake is: what the engine waits for next. */
export type CredSspStage = 'tls' | 'tls-finished' | 'negotiate' | 'authenticate' | 'credentials' | 'done';

export interface StepResult {
  /** Bytes to send; empty when the engine needs more input first (stream carriers). */
  token: Buffer;
  /** The credentials went out: nothing more to receive for the handshake. */
  done: boolean;
}

/** Windows error codes a CredSSP acceptor puts in TSRequest.errorCode, with what they mean to a user. */
const ERROR_CODES: Record<number, [AuthError['reason'], string]> = {
  0x8009030c: ['bad-credentials', 'the logon was denied (SEC_E_LOGON_DENIED): wrong user name, domain or password'],
  0xc000006d: ['bad-credentials', 'the logon failed (STATUS_LOGON_FAILURE): wrong user name, domain or password'],
  0xc000006a: ['bad-credentials', 'wrong password (STATUS_WRONG_PASSWORD)'],
  0xc0000064: ['bad-credentials', 'no such user (STATUS_NO_SUCH_USER)'],
  0xc0000234: ['bad-credentials', 'the account is locked out (STATUS_ACCOUNT_LOCKED_OUT)'],
  0xc0000072: ['bad-credentials', 'the account is disabled (STATUS_ACCOUNT_DISABLED)'],
  0xc0000071: ['bad-credentials', 'the password has expired (STATUS_PASSWORD_EXPIRED)'],
  0xc0000224: ['bad-credentials', 'the password must be changed (STATUS_PASSWORD_MUST_CHANGE)'],
  0xc000015b: ['bad-credentials', 'the user may not log on this way (STATUS_LOGON_TYPE_NOT_GRANTED)'],
  0x80090302: ['unknown', 'the server does not support the requested function (SEC_E_UNSUPPORTED_FUNCTION)'],
  0x8009030e: ['unknown', 'no credentials are available (SEC_E_NO_CREDENTIALS)'],
  0x80090322: ['unknown', 'the target name is wrong (SEC_E_WRONG_PRINCIPAL)'],
  0x80090308: ['unknown', 'the server could not read our token (SEC_E_INVALID_TOKEN)'],
  0x8009030f: ['unknown', 'a message failed its integrity check (SEC_E_MESSAGE_ALTERED)'],
};

export function errorCodeToAuthError(code: number, who: string): AuthError {
  const hex = `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  const known = ERROR_CODES[code >>> 0];
  if (known?.[0] === 'bad-credentials') {
    return new AuthError('bad-credentials', `The host refused the CredSSP logon of ${who}: ${known[1]} (${hex}).`, 'Check the user name, the domain (CredSSP needs one: the AD domain, or the computer name for a local account) and the password; the account may also be locked out or not allowed to log on over the network.', [], code >>> 0);
  }
  return new AuthError('unknown', `The host ended CredSSP authentication with error ${hex}${known ? `: ${known[1]}` : ''}.`, 'Check that CredSSP is enabled for the WinRM service (winrm set winrm/config/service/auth @{CredSSP="true"}) and that the account may delegate credentials.', [], code >>> 0);
}

export class CredSspClient {
  private readonly opts: CredSspClientOptions;
  private readonly tls: TlsPipe;
  private flow?: AsyncGenerator<Buffer, Buffer, Buffer>;
  private finished = false;
  private phase: CredSspStage = 'tls';
  private versionInUse?: number;

  constructor(opts: CredSspClientOptions) {
    this.opts = opts;
    this.tls = new TlsPipe({ role: 'client', minVersion: opts.minTlsVersion ?? 'TLSv1.2', maxVersion: opts.maxTlsVersion ?? 'TLSv1.3' });
  }

  /** The negotiated CredSSP version, once known. */
  get version(): number | undefined {
    return this.versionInUse;
  }

  get stage(): CredSspStage {
    return this.phase;
  }

  get complete(): boolean {
    return this.finished;
  }

  /** The TLS session: after completion it seals and unseals WinRM messages. */
  get tlsPipe(): TlsPipe {
    return this.tls;
  }

  cipher(): CipherInfo {
    return this.tls.cipher();
  }

  /**
   * First call without input (gives the ClientHello); then with each answer from
   * the peer. An empty token with done=false means "read more and call again".
   */
  async step(input?: Buffer): Promise<StepResult> {
    if (this.finished) throw new Error('CredSSP handshake already complete');
    if (!this.flow) {
      this.flow = this.run();
      const first = await this.flow.next(Buffer.alloc(0));
      return { token: first.value, done: false };
    }
    const r = await this.flow.next(input ?? Buffer.alloc(0));
    if (r.done) this.finished = true;
    return { token: r.value, done: this.finished };
  }

  /** The carrier ended (socket closed) while the engine waited for the peer. */
  async peerClosed(): Promise<never> {
    this.tls.feedEnd();
    await this.tls.settle();
    throw this.closedError();
  }

  destroy(): void {
    this.tls.destroy();
  }

  private who(): string {
    return this.opts.domain ? `${this.opts.domain}\\${this.opts.user}` : this.opts.user;
  }

  private closedError(): AuthError {
    if (this.phase === 'authenticate' || this.phase === 'credentials') {
      return new AuthError('bad-credentials', `The host closed the CredSSP session after our NTLM logon as ${this.who()}: the user name, domain or password was most likely refused.`, 'Check the user name, domain and password; the account may also be locked out or not allowed to log on over the network.');
    }
    return new AuthError('unknown', `The host closed the CredSSP session during the ${this.phase === 'tls' ? 'TLS handshake' : 'NTLM negotiation'}.`, 'Check that the endpoint speaks CredSSP (WinRM: CredSSP enabled on the service) and that TLS 1.2 or later is enabled on the host.');
  }

  private checkTls(): void {
    const e = this.tls.error;
    if (e) {
      if (this.phase === 'authenticate' || this.phase === 'credentials') throw this.closedError();
      throw new ProtocolError(`CredSSP TLS ${this.tls.secure ? 'session' : 'handshake'} failed: ${e.message}`, 'Check that TLS 1.2 or later is enabled on the host and that nothing between us and the host alters the traffic.');
    }
    if (this.tls.closed) throw this.closedError();
  }

  private async *run(): AsyncGenerator<Buffer, Buffer, Buffer> {
    const o = this.opts;
    const tls = this.tls;
    await tls.settle();
    let input = yield tls.takeOutput(); // ClientHello

    // TLS handshake: feed the peer's flights until our side is secure.
    let pending: Buffer = Buffer.alloc(0);
    for (;;) {
      tls.feed(input);
      await tls.settle();
      this.checkTls();
      const out = tls.takeOutput();
      if (tls.secure) {
        pending = out;
        break;
      }
      input = yield out;
    }
    if (pending.length && o.finishedAlone) {
      // TLS 1.3: our Finished goes alone; the answer may hold only tickets.
      this.phase = 'tls-finished';
      input = yield pending;
      pending = Buffer.alloc(0);
      tls.feed(input);
      await tls.settle();
      this.checkTls();
    }

    const publicKey = subjectPublicKey(tls.socket.getPeerCertificate(false).raw);
    const ntlm = new NtlmClient({ user: o.user, domain: o.domain, password: o.password, workstation: o.workstation, requireSeal: true });
    const mechTypes = encodeMechTypes([NTLM_OID]);
    this.phase = 'negotiate';

    const negotiate = ntlm.negotiate();
    let reply = yield* this.exchange({ version: CREDSSP_VERSION, negoTokens: [o.rawNtlm ? negotiate : encodeNegTokenInit([NTLM_OID], negotiate)] }, pending);
    const challenge = this.innerToken(reply, 'challenge');
    if (!challenge) throw new ProtocolError('The CredSSP server answered our NTLM NEGOTIATE without a CHALLENGE.');

    const version = Math.min(CREDSSP_VERSION, reply.version);
    this.versionInUse = version;
    if (version < 5 && !o.allowOldVersions) {
      // Refused before any credential-derived bytes go out.
      throw new AuthError('unknown', `The host speaks CredSSP version ${reply.version}, which lacks the nonce binding that fixes CVE-2018-0886; refused.`, 'Install the CredSSP updates (March 2018 or later) on the host, or explicitly allow old CredSSP versions for this host if you accept the risk.');
    }

    const authenticate = ntlm.authenticate(challenge);
    const security = ntlm.security;
    let mechListMIC: Buffer | undefined;
    if (!o.rawNtlm && ntlm.sentMic) {
      // SPNEGO mechListMIC protects the mechanism list; RC4 then starts over (MS-SPNG).
      mechListMIC = security.sign(mechTypes);
      security.resetRc4('send');
    }
    const nonce = version >= 5 ? randomBytes(32) : undefined;
    const pubKeyAuth = security.seal(pubKeyAuthValue(version, 'client', publicKey, nonce));
    this.phase = 'authenticate';
    reply = yield* this.exchange({
      version: CREDSSP_VERSION,
      negoTokens: [o.rawNtlm ? authenticate : encodeNegTokenResp({ responseToken: authenticate, mechListMIC })],
      pubKeyAuth,
      clientNonce: nonce,
    });

    if (!o.rawNtlm && reply.negoTokens?.length) this.checkFinalSpnego(reply.negoTokens[0], security, mechTypes);
    if (!reply.pubKeyAuth) throw new ProtocolError('The CredSSP server did not answer with its public-key proof (pubKeyAuth).');
    const proof = security.unseal(reply.pubKeyAuth);
    const expected = pubKeyAuthValue(version, 'server', publicKey, nonce);
    if (!proof.equals(expected)) {
      throw new AuthError('unknown', 'The CredSSP server failed the public-key check: its TLS key is not the one the authenticated host holds. Credentials were NOT sent.', 'Something between us and the host is intercepting TLS (a proxy or an attack). Connect directly to the host.');
    }

    // Verified: only now do the credentials go out.
    this.phase = 'credentials';
    const creds = encodePasswordCredentials({ domain: o.domain, user: o.user, password: o.password });
    tls.write(encodeTsRequest({ version: CREDSSP_VERSION, authInfo: security.seal(creds) }));
    this.phase = 'done';
    return tls.takeOutput();
  }

  /** Sends a TSRequest and reads the peer's TSRequest (over as many inputs as it takes). */
  private async *exchange(req: TsRequest, prefix: Buffer = Buffer.alloc(0)): AsyncGenerator<Buffer, TsRequest, Buffer> {
    const tls = this.tls;
    tls.write(encodeTsRequest(req));
    let input = yield Buffer.concat([prefix, tls.takeOutput()]);
    let plain: Buffer = Buffer.alloc(0);
    for (;;) {
      tls.feed(input);
      await tls.settle();
      plain = Buffer.concat([plain, tls.takePlain()]);
      const size = tlvSize(plain);
      if (size !== undefined && plain.length >= size) {
        if (plain.length > size) throw new ProtocolError('The CredSSP server sent more than one TSRequest at once.');
        const reply = decodeTsRequest(plain);
        if (reply.errorCode !== undefined && reply.errorCode !== 0) throw errorCodeToAuthError(reply.errorCode, this.who());
        return reply;
      }
      this.checkTls();
      input = yield Buffer.alloc(0);
    }
  }

  private innerToken(reply: TsRequest, what: string): Buffer | undefined {
    const token = reply.negoTokens?.[0];
    if (!token) return undefined;
    if (this.opts.rawNtlm) return token;
    const resp = decodeNegTokenResp(token);
    if (resp.negState === NegState.reject) {
      throw new AuthError('scheme-not-offered', 'The CredSSP server rejected NTLM inside SPNEGO.', 'The host may only accept Kerberos, or (for RDP servers) raw NTLM.');
    }
    if (resp.supportedMech && resp.supportedMech !== NTLM_OID) throw new ProtocolError(`The CredSSP server chose mechanism ${resp.supportedMech}, not NTLM.`);
    if (!resp.responseToken) throw new ProtocolError(`The CredSSP server's SPNEGO answer carries no NTLM ${what}.`);
    return resp.responseToken;
  }

  private checkFinalSpnego(token: Buffer, security: NtlmSecurity, mechTypes: Buffer): void {
    const resp = decodeNegTokenResp(token);
    if (resp.negState === NegState.reject) {
      throw new AuthError('bad-credentials', `The CredSSP server rejected the NTLM logon of ${this.who()}.`, 'Check the user name, domain and password.');
    }
    if (resp.mechListMIC) {
      security.verify(mechTypes, resp.mechListMIC);
      security.resetRc4('recv');
    }
  }
}
