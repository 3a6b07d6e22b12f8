// CredSSP for WinRM (MS-CSSP over HTTP): the engine's TLS records travel base64 in
// `Authorization: CredSSP` / `WWW-Authenticate: CredSSP` on one kept-alive
// connection; afterwards the same TLS session seals the SOAP bodies
// (`application/HTTP-CredSSP-session-encrypted`, each part = uint32-LE trailer
// length + TLS record; bodies over 16 KiB as 16 KiB parts under
// `multipart/x-multi-encrypted`).
import { AuthError, CancelledError, ConfigError, ProtocolError } from '../errors';
import { CredSspClient } from './credssp/client';
import { splitRecords, trailerLength, type TlsPipe, type TlsVersion } from './credssp/tls-pipe';
import { frameEncrypted, unwrapSessionReply, type MessageSealer } from './encryption';
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

export const CREDSSP_ENCRYPTED = 'application/HTTP-CredSSP-session-encrypted';
/** Largest plaintext per encrypted part: one TLS record. */
export const CREDSSP_PART_SIZE = 16384;

export interface CredSspProviderOptions {
  credentials: Credentials;
  /** auto: encrypt on http, not on https (default). */
  encryption?: EncryptionMode;
  /** Raw NTLM instead of SPNEGO-wrapped NTLM inside the TSRequest (Windows expects SPNEGO). */
  rawNtlm?: boolean;
  /** Accept CredSSP versions 2-4 (without the CVE-2018-0886 fix). Off by default. */
  allowOldVersions?: boolean;
  minTlsVersion?: TlsVersion;
  maxTlsVersion?: TlsVersion;
}

/** The CredSSP TLS session as a framing sealer. Every part of one message is encrypted by a single TLS write. */
export function credSspSealer(tls: TlsPipe): MessageSealer & { sealMessage(plain: Buffer): { body: Buffer; contentType: string } } {
  const unseal = (token: Buffer): Buffer => {
    tls.feed(token);
    const plain = tls.takePlain();
    // A bad record yields no data at once (Node reports the TLS error a tick later).
    if (tls.error || plain.length === 0) {
      throw new ProtocolError(`The host's CredSSP-encrypted reply did not decrypt${tls.error ? `: ${tls.error.message}` : ''}.`, 'The TLS session is out of step or the body was altered; the connection is replaced on the next request.');
    }
    return plain;
  };
  const seal = (plain: Buffer): Buffer => {
    tls.write(plain);
    const records = tls.takeOutput();
    if (!records.length) throw new ProtocolError('The CredSSP TLS session produced no record (a previous write is still in flight).', 'Requests on one CredSSP connection must go one at a time.');
    return records;
  };
  return {
    protocol: CREDSSP_ENCRYPTED,
    maxPartSize: CREDSSP_PART_SIZE,
    seal: (plain) => ({ headerLength: trailerLength(tls.cipher(), plain.length), token: seal(plain) }),
    unseal: (token) => unseal(token),
    sealMessage(plain: Buffer) {
      // One write: OpenSSL cuts records at 16384 bytes, exactly the part size,
      // so record i holds part i (Node sends a second write only a turn later).
      const cipher = tls.cipher();
      const chunks: Buffer[] = [];
      for (let p = 0; p < plain.length || chunks.length === 0; p += CREDSSP_PART_SIZE) chunks.push(plain.subarray(p, p + CREDSSP_PART_SIZE));
      const { records, rest } = splitRecords(seal(plain));
      if (records.length !== chunks.length || rest.length) throw new ProtocolError(`CredSSP encryption produced ${records.length} TLS records for ${chunks.length} parts.`, 'The TLS session uses an unexpected record size; report this with the host\'s Windows version.');
      const parts = chunks.map((chunk, i) => ({ plainLength: chunk.length, headerLength: trailerLength(cipher, chunk.length), token: records[i] }));
      return frameEncrypted(CREDSSP_ENCRYPTED, parts, chunks.length > 1);
    },
  };
}

export function createCredSspProvider(options: CredSspProviderOptions): AuthProvider {
  const mode = options.encryption ?? 'auto';
  return {
    scheme: 'credssp',
    async handshake(exchange: Exchange, conn: ConnectionInfo, signal: AbortSignal): Promise<AuthSession> {
      const encrypt = mode === 'always' || (mode === 'auto' && !conn.tls);
      const { user, domain } = splitUserName(options.credentials.user, options.credentials.domain);
      if (!domain) {
        throw new ConfigError('CredSSP needs a domain: it delegates DOMAIN\\user and the password to the host.', 'Give the domain (DOMAIN\\user, user@domain, or the domain field); for a local account use the computer name.');
      }
      const who = `${domain}\\${user}`;
      const engine = new CredSspClient({
        user,
        domain,
        password: options.credentials.password,
        rawNtlm: options.rawNtlm,
        allowOldVersions: options.allowOldVersions,
        minTlsVersion: options.minTlsVersion,
        maxTlsVersion: options.maxTlsVersion,
        finishedAlone: true,
      });
      try {
        let step = await engine.step();
        for (let leg = 1; ; leg++) {
          if (signal.aborted) throw new CancelledError();
          // Empty bodies: the transport sends the real (sealed) request once the session is up.
          const reply = await exchange({ headers: { authorization: `CredSSP ${step.token.toString('base64')}` }, body: Buffer.alloc(0) });
          if (step.done) {
            if (reply.status === 401) {
              throw new AuthError('bad-credentials', `The host refused the credentials delegated for ${who} (CredSSP, HTTP 401 after the credentials were sent).`, 'The password or user may be wrong, or the host does not accept delegated credentials from this client (CredSSP must be enabled on the service: winrm set winrm/config/service/auth @{CredSSP="true"}).');
            }
            break;
          }
          const offered = parseWwwAuthenticate(reply.headers['www-authenticate']);
          const token = offered.find((o) => o.scheme.toLowerCase() === 'credssp' && o.token)?.token;
          if (reply.status !== 401) {
            throw new AuthError('unknown', `The host answered HTTP ${reply.status} in the middle of the CredSSP handshake instead of a CredSSP token.`, 'Check that the URL points at the WinRM listener (http://host:5985/wsman or https://host:5986/wsman).');
          }
          if (!token) {
            const names = [...new Set(offered.map((o) => o.scheme))];
            if (leg === 1) {
              if (names.some((n) => n.toLowerCase() === 'credssp')) {
                throw new AuthError('scheme-not-offered', 'The host offers CredSSP but did not answer our TLS hello; TLS 1.2 may be disabled on the host.', 'Enable TLS 1.2 (or 1.3) for SChannel on the host.', names);
              }
              throw new AuthError('scheme-not-offered', `The host does not offer CredSSP; it offers: ${names.length ? names.join(', ') : 'nothing'}.`, 'Enable it on the host with `Enable-WSManCredSSP -Role Server` (or winrm set winrm/config/service/auth @{CredSSP="true"}), or pick an offered scheme.', names);
            }
            if (engine.stage !== 'tls-finished') {
              if (engine.stage === 'authenticate') {
                throw new AuthError('bad-credentials', `The host refused the CredSSP logon of ${who} (HTTP 401 without a CredSSP token).`, 'Check the user name, the domain and the password; the account may also be locked out or not allowed to log on over the network.');
              }
              throw new AuthError('unknown', `The host ended the CredSSP handshake at the ${engine.stage} stage without a token (HTTP 401).`, 'Check that CredSSP is enabled on the WinRM service and that TLS 1.2 or later is enabled on the host.');
            }
          }
          step = await engine.step(token ? Buffer.from(token, 'base64') : Buffer.alloc(0));
          if (!step.token.length && !step.done) throw new ProtocolError('The host sent an incomplete CredSSP token.', 'Check that nothing between us and the host alters the Authorization headers.');
        }
      } catch (err) {
        engine.destroy();
        throw err;
      }
      return new CredSspSession(engine, encrypt, mode, conn.tls);
    },
  };
}

class CredSspSession implements AuthSession {
  private readonly sealer: ReturnType<typeof credSspSealer>;
  private dead?: Error;

  constructor(private readonly engine: CredSspClient, readonly encrypted: boolean, private readonly mode: EncryptionMode, private readonly tls: boolean) {
    this.sealer = credSspSealer(engine.tlsPipe);
  }

  requestHeaders(): Record<string, string> {
    return {};
  }

  wrap(soap: Buffer): { body: Buffer; contentType: string } {
    if (this.dead) throw this.dead;
    if (!this.encrypted) return { body: soap, contentType: SOAP_CONTENT_TYPE };
    try {
      return this.sealer.sealMessage(soap);
    } catch (err) {
      this.dead = err as Error;
      throw err;
    }
  }

  unwrap(reply: HttpReply): Buffer {
    if (this.dead) throw this.dead;
    try {
      return this.unwrapReply(reply);
    } catch (err) {
      // A TLS stream that failed once is out of step: the connection must be replaced.
      if (this.encrypted) {
        this.dead = err as Error;
        this.engine.destroy();
      }
      throw err;
    }
  }

  private unwrapReply(reply: HttpReply): Buffer {
    return unwrapSessionReply(reply, { scheme: 'CredSSP', protocol: CREDSSP_ENCRYPTED, sealer: this.sealer, encrypted: this.encrypted, tls: this.tls, mode: this.mode });
  }
}
