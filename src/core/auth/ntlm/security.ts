// NTLM session security with extended session security (MS-NLMP §3.4): one RC4
// keystream and one sequence number per direction, for the life of the context.
import { timingSafeEqual } from 'node:crypto';
import { ProtocolError } from '../../errors';
import { hmacMd5, sealKey, signKey, type Direction } from './crypto';
import { NegotiateFlags } from './messages';
import { Rc4 } from './rc4';

export const SIGNATURE_LENGTH = 16;

export class NtlmSignatureError extends ProtocolError {
  constructor(what: string) {
    super(`The host's reply failed the NTLM integrity check (${what}); it was discarded.`, 'The reply was altered on the way or the session keys disagree. Retry; if it persists, check proxies or inspection devices between us and the host.');
  }
}

export class NtlmSecurity {
  private readonly sendSignKey: Buffer;
  private readonly recvSignKey: Buffer;
  private sendHandle: Rc4;
  private recvHandle: Rc4;
  private readonly sealKeys: { send: Buffer; recv: Buffer };
  private sendSeq = 0;
  private recvSeq = 0;
  private readonly keyExch: boolean;
  private broken = false;

  /**
   * `role` is the side this object speaks for: a client seals with the
   * client-to-server keys and unseals with the server-to-client keys.
   */
  constructor(exportedSessionKey: Buffer, readonly flags: number, role: Direction = 'client') {
    if (!(flags & NegotiateFlags.EXTENDED_SESSIONSECURITY)) throw new Error('NTLM session security without extended session security is not supported');
    const peer: Direction = role === 'client' ? 'server' : 'client';
    this.sendSignKey = signKey(exportedSessionKey, role);
    this.recvSignKey = signKey(exportedSessionKey, peer);
    this.sealKeys = { send: sealKey(exportedSessionKey, flags, role), recv: sealKey(exportedSessionKey, flags, peer) };
    this.sendHandle = new Rc4(this.sealKeys.send);
    this.recvHandle = new Rc4(this.sealKeys.recv);
    this.keyExch = (flags & NegotiateFlags.KEY_EXCH) !== 0;
  }

  /** Sequence numbers of the next message in each direction. */
  get sequence(): { send: number; recv: number } {
    return { send: this.sendSeq, recv: this.recvSeq };
  }

  /**
   * Restarts one direction's RC4 state from its seal key; sequence numbers carry on.
   * (Added for CredSSP: SPNEGO does this after the mechListMIC, MS-SPNG 3.3.5.1.)
   */
  resetRc4(direction: 'send' | 'recv'): void {
    if (direction === 'send') this.sendHandle = new Rc4(this.sealKeys.send);
    else this.recvHandle = new Rc4(this.sealKeys.recv);
  }

  /** GSS_WrapEx with confidentiality: the 16-byte signature followed by the sealed message (the WinRM layout). */
  seal(message: Uint8Array): Buffer {
    this.checkUsable();
    const out = Buffer.allocUnsafe(SIGNATURE_LENGTH + message.length);
    this.sendHandle.update(message, out.subarray(SIGNATURE_LENGTH));
    this.writeSignature(out, message, this.sendSeq);
    this.sendSeq = (this.sendSeq + 1) >>> 0;
    return out;
  }

  /** GSS_UnwrapEx: verifies the signature; any failure breaks the session for good (the RC4 streams are out of step). */
  unseal(token: Uint8Array): Buffer {
    this.checkUsable();
    if (token.length < SIGNATURE_LENGTH) this.fail('token shorter than its signature');
    const message = Buffer.allocUnsafe(token.length - SIGNATURE_LENGTH);
    this.recvHandle.update(token.subarray(SIGNATURE_LENGTH), message);
    this.verifySignature(token.subarray(0, SIGNATURE_LENGTH), message);
    return message;
  }

  /** GSS_GetMICEx: a signature over the message without sealing it. */
  sign(message: Uint8Array): Buffer {
    this.checkUsable();
    const sig = Buffer.allocUnsafe(SIGNATURE_LENGTH);
    this.writeSignature(sig, message, this.sendSeq);
    this.sendSeq = (this.sendSeq + 1) >>> 0;
    return sig;
  }

  /** GSS_VerifyMICEx. Throws NtlmSignatureError when the signature does not match. */
  verify(message: Uint8Array, signature: Uint8Array): void {
    this.checkUsable();
    this.verifySignature(signature, message);
  }

  private writeSignature(out: Buffer, message: Uint8Array, seq: number): void {
    const seqBuf = Buffer.allocUnsafe(4);
    seqBuf.writeUInt32LE(seq);
    const mac = hmacMd5(this.sendSignKey, seqBuf, message);
    out.writeUInt32LE(1, 0);
    if (this.keyExch) this.sendHandle.update(mac.subarray(0, 8), out.subarray(4, 12));
    else mac.copy(out, 4, 0, 8);
    seqBuf.copy(out, 12);
  }

  private verifySignature(signature: Uint8Array, message: Uint8Array): void {
    if (signature.length !== SIGNATURE_LENGTH) this.fail('wrong signature length');
    const sig = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
    const seqBuf = Buffer.allocUnsafe(4);
    seqBuf.writeUInt32LE(this.recvSeq);
    const mac = hmacMd5(this.recvSignKey, seqBuf, message);
    const expected = Buffer.allocUnsafe(8);
    if (this.keyExch) this.recvHandle.update(mac.subarray(0, 8), expected);
    else mac.copy(expected, 0, 0, 8);
    if (sig.readUInt32LE(0) !== 1) this.fail('unknown signature version');
    if (!timingSafeEqual(sig.subarray(4, 12), expected)) this.fail('checksum mismatch');
    if (sig.readUInt32LE(12) !== this.recvSeq) this.fail(`sequence number ${sig.readUInt32LE(12)}, expected ${this.recvSeq}`);
    this.recvSeq = (this.recvSeq + 1) >>> 0;
  }

  private fail(what: string): never {
    this.broken = true;
    throw new NtlmSignatureError(what);
  }

  private checkUsable(): void {
    if (this.broken) throw new ProtocolError('The NTLM session was broken by an earlier integrity failure.', 'Open a new connection; the transport re-authenticates.');
  }
}
