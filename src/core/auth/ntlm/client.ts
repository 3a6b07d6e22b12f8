// The initiator side of NTLM (MS-NLMP §3.1): NEGOTIATE, then AUTHENTICATE with an
// NTLMv2 response, MIC and channel binding, then session security.
import { randomBytes } from 'node:crypto';
import { AuthError } from '../../errors';
import { computeResponseV2, fileTimeNow, hmacMd5, ntowfv2 } from './crypto';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  encodeAuthenticate,
  encodeAvPairs,
  encodeNegotiate,
  NegotiateFlags as F,
  parseChallenge,
  setMic,
  type AvPair,
  type ChallengeMessage,
} from './messages';
import { rc4k } from './rc4';
import { NtlmSecurity } from './security';

/** What we ask for: NTLMv2-style session security, 128-bit, key exchange, sign and seal. */
export const CLIENT_FLAGS = (
  F.UNICODE | F.OEM | F.REQUEST_TARGET | F.SIGN | F.SEAL | F.NTLM | F.ALWAYS_SIGN |
  F.EXTENDED_SESSIONSECURITY | F.VERSION | F.KEY_128 | F.KEY_EXCH | F.KEY_56) >>> 0;

export interface NtlmClientOptions {
  user: string;
  domain: string;
  password: string;
  workstation?: string;
  /**
   * MsvAvChannelBindings: MD5 of the gss_channel_bindings_struct (16 bytes); zeros when
   * absent, as Windows sends. A function is asked when the AUTHENTICATE is built (the
   * server certificate is known only once the connection is up).
   */
  channelBindings?: Buffer | (() => Buffer | undefined);
  /** MsvAvTargetName, e.g. `HTTP/host`. */
  targetName?: string;
  /** Seal (encrypt) is required; a CHALLENGE without SEAL is then refused. */
  requireSeal?: boolean;
  /** Test hooks (MS-NLMP test vectors fix these). */
  randomSessionKey?: Buffer;
  clientChallenge?: Buffer;
  now?: () => Buffer;
}

export class NtlmClient {
  private negotiateMsg?: Buffer;
  private securityCtx?: NtlmSecurity;
  private negotiatedFlags = 0;
  private micSent = false;

  constructor(private readonly opts: NtlmClientOptions) {}

  negotiate(): Buffer {
    this.negotiateMsg = encodeNegotiate(CLIENT_FLAGS);
    return this.negotiateMsg;
  }

  /** Builds the AUTHENTICATE for a CHALLENGE; afterwards `security` seals and signs. */
  authenticate(challengeBytes: Buffer): Buffer {
    if (!this.negotiateMsg) throw new Error('negotiate() first');
    const challenge = parseChallenge(challengeBytes);
    const flags = this.chooseFlags(challenge);

    const o = this.opts;
    const time = challenge.timestamp ?? (o.now ?? fileTimeNow)();
    const clientChallenge = o.clientChallenge ?? randomBytes(8);
    const withMic = challenge.timestamp !== undefined;
    const targetInfo = encodeAvPairs(this.clientAvPairs(challenge, withMic));

    const keyNT = ntowfv2(o.password, o.user, o.domain);
    const r = computeResponseV2(keyNT, challenge.serverChallenge, clientChallenge, time, targetInfo, withMic);

    // NTLMv2: KeyExchangeKey = SessionBaseKey. With KEY_EXCH the exported key is our own random key, sent RC4-encrypted.
    let exportedSessionKey: Buffer = r.sessionBaseKey;
    let encryptedRandomSessionKey: Buffer = Buffer.alloc(0);
    if (flags & F.KEY_EXCH) {
      exportedSessionKey = o.randomSessionKey ?? randomBytes(16);
      encryptedRandomSessionKey = rc4k(r.sessionBaseKey, exportedSessionKey);
    }

    const msg = encodeAuthenticate({
      flags,
      lmChallengeResponse: r.lmChallengeResponse,
      ntChallengeResponse: r.ntChallengeResponse,
      domain: o.domain,
      user: o.user,
      workstation: o.workstation ?? '',
      encryptedRandomSessionKey,
      withMic,
    });
    if (withMic) setMic(msg, hmacMd5(exportedSessionKey, this.negotiateMsg, challengeBytes, msg));
    this.micSent = withMic;
    this.negotiatedFlags = flags;
    this.securityCtx = new NtlmSecurity(exportedSessionKey, flags, 'client');
    return msg;
  }

  get flags(): number {
    return this.negotiatedFlags;
  }

  get sentMic(): boolean {
    return this.micSent;
  }

  get security(): NtlmSecurity {
    if (!this.securityCtx) throw new Error('NTLM context not complete');
    return this.securityCtx;
  }

  private chooseFlags(challenge: ChallengeMessage): number {
    let flags = (challenge.flags & CLIENT_FLAGS) >>> 0;
    if (flags & F.UNICODE) flags &= ~F.OEM;
    else if (!(flags & F.OEM)) throw refusal('the host chose neither Unicode nor OEM strings');
    if (!(flags & F.EXTENDED_SESSIONSECURITY)) throw refusal('the host did not agree to NTLMv2 extended session security');
    if (this.opts.requireSeal && !(flags & F.SEAL && flags & F.SIGN)) {
      throw new AuthError('encryption-refused', 'The host refused NTLM message encryption (no SEAL in its CHALLENGE).', 'Use HTTPS, or set encryption to "never" if the host allows unencrypted traffic (AllowUnencrypted=true).');
    }
    return flags >>> 0;
  }

  private clientAvPairs(challenge: ChallengeMessage, withMic: boolean): AvPair[] {
    const drop = new Set<number>([AvId.EOL, AvId.Flags, AvId.TargetName, AvId.ChannelBindings]);
    const pairs = challenge.avPairs.filter((p) => !drop.has(p.id));
    const serverFlags = challenge.avPairs.find((p) => p.id === AvId.Flags);
    let avFlags = serverFlags && serverFlags.value.length >= 4 ? serverFlags.value.readUInt32LE(0) : 0;
    if (withMic) avFlags |= AV_FLAG_MIC_PRESENT;
    if (avFlags) {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(avFlags >>> 0);
      pairs.push({ id: AvId.Flags, value: v });
    }
    if (this.opts.targetName) pairs.push({ id: AvId.TargetName, value: Buffer.from(this.opts.targetName, 'utf16le') });
    const cb = typeof this.opts.channelBindings === 'function' ? this.opts.channelBindings() : this.opts.channelBindings;
    pairs.push({ id: AvId.ChannelBindings, value: cb ?? Buffer.alloc(16) });
    return pairs;
  }
}

function refusal(what: string): AuthError {
  return new AuthError('unknown', `NTLM negotiation failed: ${what}.`, 'The host offers only legacy NTLM. Enable NTLMv2 on the host (LmCompatibilityLevel 3 or higher) or use Kerberos/HTTPS.');
}
