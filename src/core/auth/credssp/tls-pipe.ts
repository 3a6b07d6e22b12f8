// Node's own TLS stack over an in-memory duplex: CredSSP carries raw TLS records
// inside other messages (HTTP headers, WinRM bodies, an RDP socket), so the TLS
// engine must consume and produce bytes rather than own a socket.
//
// Node runs a TLSSocket over a JS stream synchronously for one write or one
// pushed input: encrypt-then-emit and decrypt-then-emit happen inside the call.
// The handshake spans event-loop turns, so `settle()` waits for quiet. Only one
// write may be in flight per turn (the next is queued until a setImmediate), which
// fits WinRM: one sealed message per HTTP round trip.
import { Duplex } from 'node:stream';
import { TLSSocket, connect, type SecureContext, type SecureVersion } from 'node:tls';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsPipeOptions {
  role: 'client' | 'server';
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** Server: the key and certificate. */
  secureContext?: SecureContext;
  /** Client: the SNI name to send (none by default, as CredSSP clients do not need it). */
  servername?: string;
  /** Client: OpenSSL cipher list (TLS 1.2 suites), e.g. to match a host's policy. */
  ciphers?: string;
}

export class TlsPipe {
  readonly socket: TLSSocket;
  private readonly duplex: Duplex;
  private out: Buffer[] = [];
  private plain: Buffer[] = [];
  private failure?: Error;
  private secured = false;
  private ended = false;
  private changes = 0;

  constructor(options: TlsPipeOptions) {
    this.duplex = new Duplex({
      read() { /* input is pushed by feed() */ },
      write: (chunk: Buffer, _enc, cb) => {
        this.out.push(Buffer.from(chunk));
        this.changes++;
        cb();
      },
      final(cb) {
        cb();
      },
    });
    const versions = {
      minVersion: (options.minVersion ?? 'TLSv1.2') as SecureVersion,
      maxVersion: (options.maxVersion ?? 'TLSv1.3') as SecureVersion,
    };
    if (options.role === 'client') {
      // No certificate check here: CredSSP's public-key binding authenticates the key.
      this.socket = connect({ socket: this.duplex, rejectUnauthorized: false, servername: options.servername, ciphers: options.ciphers, ...versions });
      this.socket.once('secureConnect', () => this.onSecure());
    } else {
      this.socket = new TLSSocket(this.duplex, { isServer: true, secureContext: options.secureContext, ...versions });
      this.socket.once('secure', () => this.onSecure());
    }
    this.socket.on('data', (d: Buffer) => {
      this.plain.push(d);
      this.changes++;
    });
    this.socket.on('error', (e) => {
      this.failure ??= e;
      this.changes++;
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.changes++;
    });
  }

  private onSecure(): void {
    this.secured = true;
    this.changes++;
  }

  /** The handshake finished on our side. */
  get secure(): boolean {
    return this.secured;
  }

  /** The TLS error (bad record, alert from the peer), if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** The peer closed TLS (close_notify) or the input ended. */
  get closed(): boolean {
    return this.ended || this.socket.destroyed;
  }

  /** TLS records from the peer. */
  feed(records: Buffer): void {
    if (records.length) this.duplex.push(records);
  }

  /** The peer's transport ended (TCP close). */
  feedEnd(): void {
    this.duplex.push(null);
  }

  /** Encrypts application data; the records are available from takeOutput() right away. */
  write(plain: Buffer): void {
    this.socket.write(plain);
  }

  takeOutput(): Buffer {
    const b = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
    this.out = [];
    return b;
  }

  takePlain(): Buffer {
    const b = this.plain.length === 1 ? this.plain[0] : Buffer.concat(this.plain);
    this.plain = [];
    return b;
  }

  /** Bytes of decrypted data not yet taken. */
  get pendingPlain(): number {
    return this.plain.reduce((n, b) => n + b.length, 0);
  }

  /** Puts back plaintext that was taken but not yet consumed. */
  unshiftPlain(b: Buffer): void {
    if (b.length) this.plain.unshift(b);
  }

  /** Waits until the TLS engine has nothing more to do with what it was given. */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < 200 && quiet < 3; i++) {
      const before = this.changes;
      await new Promise<void>((r) => setImmediate(r));
      quiet = this.changes === before ? quiet + 1 : 0;
    }
  }

  /** Cipher and protocol once secure, e.g. { name: 'ECDHE-RSA-AES256-GCM-SHA384', version: 'TLSv1.2' }. */
  cipher(): CipherInfo {
    const c = this.socket.getCipher();
    return { name: c.name, standardName: c.standardName, version: c.version };
  }

  destroy(): void {
    this.socket.destroy();
    this.duplex.destroy();
  }
}

export interface CipherInfo {
  name: string;
  standardName?: string;
  version: string;
}

/**
 * The "trailer" length WinRM writes before each CredSSP-encrypted part: what
 * SChannel reports as the stream trailer for `plainLength` bytes of data.
 * - TLS 1.3: the 16-byte AEAD tag plus the inner content-type byte (17);
 * - TLS 1.2 AEAD (GCM, CCM, ChaCha20-Poly1305): the 16-byte tag;
 * - CBC: the MAC plus the padding that fills the last block (1..block bytes,
 *   counting the padding-length byte); RC4 has no padding.
 */
export function trailerLength(cipher: CipherInfo, plainLength: number): number {
  if (cipher.version === 'TLSv1.3') return 17;
  const name = (cipher.standardName || cipher.name).toUpperCase();
  if (/GCM|CCM|CHACHA20|POLY1305/.test(name)) return 16;
  const mac = macLength(name);
  if (/RC4/.test(name)) return mac;
  const block = /AES|CAMELLIA|ARIA|SEED/.test(name) ? 16 : 8; // else 3DES, DES, IDEA: 64-bit blocks
  const prePad = plainLength + mac;
  const padding = block - (prePad % block);
  return mac + padding;
}

function macLength(name: string): number {
  // Both naming styles: OpenSSL (…-SHA384, …-SHA256, …-SHA, …-MD5) and IANA (…_SHA384, …_SHA).
  if (/SHA384$/.test(name)) return 48;
  if (/SHA256$/.test(name)) return 32;
  if (/SHA$/.test(name)) return 20;
  if (/MD5$/.test(name)) return 16;
  throw new Error(`Unknown MAC in cipher suite ${name}`);
}

/** Splits a byte string into whole TLS records; a partial record at the end is returned as `rest`. */
export function splitRecords(data: Buffer): { records: Buffer[]; rest: Buffer } {
  const records: Buffer[] = [];
  let p = 0;
  while (data.length - p >= 5) {
    const len = data.readUInt16BE(p + 3);
    if (data.length - p < 5 + len) break;
    records.push(data.subarray(p, p + 5 + len));
    p += 5 + len;
  }
  return { records, rest: data.subarray(p) };
}
