// The test host's CredSSP acceptor (MS-CSSP server side), one per connection, as a
// Windows WinRM listener does it:
// - `Authorization: CredSSP <b64 TLS records>` legs drive Node's TLS server over an
//   in-memory duplex; 401 `WWW-Authenticate: CredSSP <b64>` carries the answers;
// - inside TLS, TSRequests carry NTLM (SPNEGO-wrapped or raw) that gss-ntlmssp
//   accepts through the sidecar; the pubKeyAuth binding (v5/6 hash, or the bare key
//   for 2-4) is checked, answered, and the delegated TSCredentials are decrypted and
//   compared with the users (and recorded, so tests can assert what was delegated);
// - afterwards, `multipart/(x-multi-)encrypted` bodies with
//   `application/HTTP-CredSSP-session-encrypted` are decrypted with the TLS session
//   and replies to them encrypted the same way (16 KiB parts over 16 KiB).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { CREDSSP_ENCRYPTED, credSspSealer } from '../../../src/core/auth/credssp-provider';
import { pubKeyAuthValue, subjectPublicKey } from '../../../src/core/auth/credssp/binding';
import { tlvSize } from '../../../src/core/auth/credssp/der';
import { decodeNegTokenInit, decodeNegTokenResp, encodeNegTokenResp, NegState, NTLM_OID } from '../../../src/core/auth/credssp/spnego';
import { decodePasswordCredentials, decodeTsRequest, encodeTsRequest, type PasswordCreds, type TsRequest } from '../../../src/core/auth/credssp/structures';
import { TlsPipe, type TlsVersion } from '../../../src/core/auth/credssp/tls-pipe';
import { decodeEncrypted, isEncryptedContentType, parseContentType } from '../../../src/core/auth/encryption';
import { SOAP_CONTENT_TYPE, type Acceptor, type AcceptResult, type AuthRequest, type AuthScheme, type ConnectionContext } from '../auth';
import type { NtlmSidecar, NtlmUser } from '../ntlm/acceptor';
import { createTestCertificates } from '../tls';

export const SEC_E_LOGON_DENIED = 0x8009030c;
const SERVER_VERSION = 6;

export interface DelegatedCredentials extends PasswordCreds {
  connectionId: number;
  /** True when they match one of the acceptor's users. */
  valid: boolean;
}

export interface CredSspSchemeOptions {
  sidecar: NtlmSidecar;
  /** Who may log on; the delegated domain/user/password must match one of them. */
  users: NtlmUser[];
  /** The inner TLS server's key and certificate (PEM). */
  keyPem: string;
  certPem: string;
  minTlsVersion?: TlsVersion;
  maxTlsVersion?: TlsVersion;
  /** The CredSSP version the acceptor announces (default 6). */
  version?: number;
  /** Refuse plain requests on HTTP (AllowUnencrypted=false) with 401. */
  requireEncryption?: boolean;
  /** Answer pubKeyAuth for another key, as a relaying man in the middle would have to (tests the client's check). */
  tamperBinding?: boolean;
}

export interface CredSspScheme extends AuthScheme {
  /** Every TSCredentials received, in order. */
  readonly delegated: DelegatedCredentials[];
  /** Handshake legs answered, for tests that count them. */
  readonly legs: () => number;
}

/** A certificate for the inner TLS (made with openssl), and a function to remove its files. */
export async function credSspCertificate(): Promise<{ keyPem: string; certPem: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'credssp-cert-'));
  const c = await createTestCertificates(dir, ['credssp-acceptor']);
  return { keyPem: c.keyPem, certPem: c.certPem, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function credSspScheme(options: CredSspSchemeOptions): CredSspScheme {
  const secureContext = createSecureContext({ key: options.keyPem, cert: options.certPem });
  const publicKey = subjectPublicKey(Buffer.from(options.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64'));
  const delegated: DelegatedCredentials[] = [];
  let legs = 0;
  return {
    name: 'CredSSP',
    challenge: 'CredSSP',
    delegated,
    legs: () => legs,
    createAcceptor(conn: ConnectionContext): Acceptor {
      return new CredSspAcceptor(options, conn, secureContext, publicKey, delegated, () => legs++);
    },
  };
}

type Stage = 'tls' | 'negotiate' | 'authenticate' | 'credentials' | 'done' | 'failed';

class CredSspAcceptor implements Acceptor {
  private readonly tls: TlsPipe;
  private stage: Stage = 'tls';
  private ctx?: string;
  private spnegoMechTypes?: Buffer;
  private version = SERVER_VERSION;
  private nonce?: Buffer;
  private user?: string;
  private plain = Buffer.alloc(0);
  private lastSealed = false;
  private readonly sealer: ReturnType<typeof credSspSealer>;

  constructor(
    private readonly opts: CredSspSchemeOptions,
    private readonly conn: ConnectionContext,
    secureContext: ReturnType<typeof createSecureContext>,
    private readonly publicKey: Buffer,
    private readonly delegated: DelegatedCredentials[],
    private readonly countLeg: () => void,
  ) {
    this.tls = new TlsPipe({ role: 'server', secureContext, minVersion: opts.minTlsVersion ?? 'TLSv1.2', maxVersion: opts.maxTlsVersion ?? 'TLSv1.3' });
    this.sealer = credSspSealer(this.tls);
  }

  private leg(token: Buffer | undefined, status = 401): AcceptResult {
    return { kind: 'reply', status, headers: { 'WWW-Authenticate': token && token.length ? `CredSSP ${token.toString('base64')}` : 'CredSSP' }, body: Buffer.alloc(0) };
  }

  private refuse(): AcceptResult {
    this.stage = 'failed';
    return { kind: 'reply', status: 401, headers: { 'WWW-Authenticate': 'CredSSP' }, body: Buffer.alloc(0) };
  }

  async accept(req: AuthRequest): Promise<AcceptResult> {
    const a = req.authorization;
    if (a && a.scheme.toLowerCase() === 'credssp') {
      this.countLeg();
      if (this.stage === 'done' || this.stage === 'failed') return this.refuse(); // no restart on a used connection
      try {
        return await this.handshakeLeg(Buffer.from(a.token, 'base64'), req.body.length === 0);
      } catch {
        return this.refuse();
      }
    }
    if (a) return this.refuse();
    if (this.stage !== 'done' || !this.user) return this.refuse();
    return this.message(req);
  }

  private async handshakeLeg(records: Buffer, emptyBody: boolean): Promise<AcceptResult> {
    this.tls.feed(records);
    await this.tls.settle();
    if (this.tls.error) return this.refuse();
    if (this.stage === 'tls') {
      const out = this.tls.takeOutput();
      if (!this.tls.secure) return this.leg(out);
      this.stage = 'negotiate';
      // TLS 1.2: our ChangeCipherSpec/Finished; TLS 1.3: session tickets (or nothing),
      // unless the client sent its first TSRequest along with its Finished.
      if (out.length || this.tls.pendingPlain === 0) return this.leg(out);
    }
    this.plain = Buffer.concat([this.plain, this.tls.takePlain()]);
    const size = tlvSize(this.plain);
    if (size === undefined || this.plain.length < size) return this.refuse(); // HTTP legs carry whole messages
    const request = decodeTsRequest(this.plain.subarray(0, size));
    this.plain = this.plain.subarray(size);
    const reply = await this.onTsRequest(request);
    if (this.stage === 'done') {
      // The credentials leg: an empty body gets 200, as with NTLM.
      return emptyBody ? { kind: 'reply', status: 200, headers: {}, body: Buffer.alloc(0) } : this.refuse();
    }
    if (!reply) return this.refuse();
    this.tls.write(encodeTsRequest(reply));
    return this.leg(this.tls.takeOutput());
  }

  private async onTsRequest(req: TsRequest): Promise<TsRequest | undefined> {
    this.version = Math.min(SERVER_VERSION, this.opts.version ?? SERVER_VERSION, req.version);
    const sidecar = this.opts.sidecar;
    if (this.stage === 'negotiate') {
      const token = req.negoTokens?.[0];
      if (!token) return undefined;
      let negotiate = token;
      if (token[0] === 0x60) {
        const init = decodeNegTokenInit(token);
        if (!init.mechTypes.includes(NTLM_OID) || !init.mechToken) return { version: this.opts.version ?? SERVER_VERSION, negoTokens: [encodeNegTokenResp({ negState: NegState.reject })] };
        this.spnegoMechTypes = init.mechTypesDer;
        negotiate = init.mechToken;
      }
      this.ctx = await sidecar.newContext();
      const step = await sidecar.step(this.ctx, negotiate);
      if (!step.token) return undefined;
      this.stage = 'authenticate';
      const challenge = this.spnegoMechTypes
        ? encodeNegTokenResp({ negState: NegState.acceptIncomplete, supportedMech: NTLM_OID, responseToken: step.token })
        : step.token;
      return { version: this.opts.version ?? SERVER_VERSION, negoTokens: [challenge] };
    }
    if (this.stage === 'authenticate') {
      const token = req.negoTokens?.[0];
      if (!token || !this.ctx || !req.pubKeyAuth) return undefined;
      let authenticate = token;
      let mechListMIC: Buffer | undefined;
      if (this.spnegoMechTypes) {
        const resp = decodeNegTokenResp(token);
        if (!resp.responseToken) return undefined;
        authenticate = resp.responseToken;
        mechListMIC = resp.mechListMIC;
      }
      let step;
      try {
        step = await sidecar.step(this.ctx, authenticate);
      } catch {
        step = undefined;
      }
      if (!step?.complete) {
        // Versions 3, 4 and 6+ report the failure in errorCode; 2 and 5 just end.
        this.stage = 'failed';
        if (this.version === 3 || this.version === 4 || this.version >= 6) return { version: this.opts.version ?? SERVER_VERSION, errorCode: SEC_E_LOGON_DENIED };
        return undefined;
      }
      if (mechListMIC) {
        await sidecar.verifyMic(this.ctx, this.spnegoMechTypes!, mechListMIC);
        await sidecar.resetCrypto(this.ctx, 'recv');
      }
      if (this.version >= 5 && (!req.clientNonce || req.clientNonce.length !== 32)) return undefined;
      this.nonce = req.clientNonce;
      const proof = await sidecar.unwrap(this.ctx, req.pubKeyAuth);
      if (!proof.equals(pubKeyAuthValue(this.version, 'client', this.publicKey, this.nonce))) return undefined;
      let negoTokens: Buffer[] | undefined;
      if (this.spnegoMechTypes) {
        let mic: Buffer | undefined;
        if (mechListMIC) {
          mic = await sidecar.mic(this.ctx, this.spnegoMechTypes);
          await sidecar.resetCrypto(this.ctx, 'send');
        }
        negoTokens = [encodeNegTokenResp({ negState: NegState.acceptCompleted, mechListMIC: mic })];
      }
      const key = this.opts.tamperBinding ? Buffer.concat([this.publicKey.subarray(0, -1), Buffer.from([this.publicKey[this.publicKey.length - 1] ^ 1])]) : this.publicKey;
      const answer = await sidecar.wrap(this.ctx, pubKeyAuthValue(this.version, 'server', key, this.nonce));
      this.stage = 'credentials';
      return { version: this.opts.version ?? SERVER_VERSION, negoTokens, pubKeyAuth: answer };
    }
    if (this.stage === 'credentials') {
      if (!req.authInfo || !this.ctx) return undefined;
      const creds = decodePasswordCredentials(await sidecar.unwrap(this.ctx, req.authInfo));
      const valid = this.opts.users.some((u) => u.domain.toLowerCase() === creds.domain.toLowerCase() && u.user.toLowerCase() === creds.user.toLowerCase() && u.password === creds.password);
      this.delegated.push({ ...creds, connectionId: this.conn.id, valid });
      if (!valid) {
        this.stage = 'failed';
        return undefined;
      }
      this.user = creds.user;
      this.stage = 'done';
      return undefined;
    }
    return undefined;
  }

  private message(req: AuthRequest): AcceptResult {
    if (isEncryptedContentType(req.contentType)) {
      const protocol = parseContentType(req.contentType).protocol ?? '';
      if (protocol.toLowerCase() !== CREDSSP_ENCRYPTED.toLowerCase()) return { kind: 'reply', status: 400, headers: {}, body: Buffer.alloc(0) };
      try {
        const soap = decodeEncrypted(this.sealer, req.body);
        this.lastSealed = true;
        return { kind: 'authenticated', user: this.user!, soap, encrypted: true };
      } catch {
        // Windows answers an undecryptable body with 400 and drops the logon.
        this.stage = 'failed';
        return { kind: 'reply', status: 400, headers: {}, body: Buffer.alloc(0) };
      }
    }
    if (this.opts.requireEncryption && !this.conn.tls && req.body.length > 0) return this.refuse();
    this.lastSealed = false;
    return { kind: 'authenticated', user: this.user!, soap: req.body, encrypted: false };
  }

  wrap(soap: Buffer): { body: Buffer; contentType: string } {
    if (!this.lastSealed) return { body: soap, contentType: SOAP_CONTENT_TYPE };
    return this.sealer.sealMessage(soap);
  }

  dispose(): void {
    this.tls.destroy();
    const ctx = this.ctx;
    this.ctx = undefined;
    if (ctx) this.opts.sidecar.deleteContext(ctx).catch(() => undefined);
  }
}
