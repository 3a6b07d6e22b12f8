// SPNEGO (RFC 4178) tokens, only as far as NTLM inside CredSSP needs them: the
// client's NegTokenInit offering NTLM, and NegTokenResp in both directions.
//
//   InitialContextToken ::= [APPLICATION 0] { thisMech OID 1.3.6.1.5.5.2, [0] NegTokenInit }
//   NegTokenInit ::= SEQUENCE { mechTypes [0] SEQUENCE OF OID, reqFlags [1] OPTIONAL,
//                               mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//   NegTokenResp ::= [1] SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] OID OPTIONAL,
//                               responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
import {
  children,
  contextFields,
  ctx,
  decodeOne,
  DerError,
  enumerated,
  explicit,
  octetString,
  oid,
  readInteger,
  readOctetString,
  readOid,
  sequence,
  Tag,
  tlv,
} from './der';

export const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLM_OID = '1.3.6.1.4.1.311.2.2.10';

export const NegState = {
  acceptCompleted: 0,
  acceptIncomplete: 1,
  reject: 2,
  requestMic: 3,
} as const;

/** DER of the MechTypeList: what the mechListMIC signs. */
export function encodeMechTypes(mechs: string[]): Buffer {
  return sequence(...mechs.map(oid));
}

export function encodeNegTokenInit(mechs: string[], mechToken?: Buffer): Buffer {
  const init = sequence(
    explicit(0, encodeMechTypes(mechs)),
    mechToken ? explicit(2, octetString(mechToken)) : undefined,
  );
  return tlv(Tag.APPLICATION_0, Buffer.concat([oid(SPNEGO_OID), explicit(0, init)]));
}

export interface NegTokenInit {
  mechTypes: string[];
  /** The MechTypeList exactly as received, for the mechListMIC. */
  mechTypesDer: Buffer;
  mechToken?: Buffer;
  mechListMIC?: Buffer;
}

export function decodeNegTokenInit(token: Buffer): NegTokenInit {
  const app = decodeOne(token, Tag.APPLICATION_0);
  const [mech, inner, ...rest] = children(app.value);
  if (!mech || !inner || rest.length) throw new DerError('bad InitialContextToken');
  if (readOid(mech) !== SPNEGO_OID) throw new DerError(`not SPNEGO (${readOid(mech)})`);
  if (inner.tag !== ctx(0)) throw new DerError('SPNEGO token is not a NegTokenInit');
  const f = contextFields(decodeOne(inner.value, Tag.SEQUENCE));
  const types = f.get(0);
  if (!types || types.tag !== Tag.SEQUENCE) throw new DerError('NegTokenInit without mechTypes');
  const out: NegTokenInit = { mechTypes: children(types.value).map(readOid), mechTypesDer: types.raw };
  const mechToken = f.get(2);
  if (mechToken) out.mechToken = readOctetString(mechToken);
  const mic = f.get(3);
  if (mic) out.mechListMIC = readOctetString(mic);
  return out;
}

export interface NegTokenResp {
  negState?: number;
  supportedMech?: string;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
}

export function encodeNegTokenResp(r: NegTokenResp): Buffer {
  return explicit(1, sequence(
    r.negState !== undefined ? explicit(0, enumerated(r.negState)) : undefined,
    r.supportedMech ? explicit(1, oid(r.supportedMech)) : undefined,
    r.responseToken ? explicit(2, octetString(r.responseToken)) : undefined,
    r.mechListMIC ? explicit(3, octetString(r.mechListMIC)) : undefined,
  ));
}

export function decodeNegTokenResp(token: Buffer): NegTokenResp {
  const outer = decodeOne(token);
  if (outer.tag !== ctx(1)) throw new DerError(`SPNEGO NegTokenResp expected, got tag 0x${outer.tag.toString(16)}`);
  const f = contextFields(decodeOne(outer.value, Tag.SEQUENCE));
  const out: NegTokenResp = {};
  const state = f.get(0);
  if (state) {
    if (state.tag !== Tag.ENUMERATED) throw new DerError('negState is not ENUMERATED');
    out.negState = readInteger(state);
  }
  const mech = f.get(1);
  if (mech) out.supportedMech = readOid(mech);
  const rt = f.get(2);
  if (rt) out.responseToken = readOctetString(rt);
  const mic = f.get(3);
  if (mic) out.mechListMIC = readOctetString(mic);
  return out;
}
