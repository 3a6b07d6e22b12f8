// DER of the MS-CSSP and SPNEGO structures against bytes worked out by hand from
// the ASN.1 definitions (each TLV's length counted in the comments).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DerError, decodeOne, integer, oid, readInteger, readOid, tlvSize, octetString } from '../../src/core/auth/credssp/der';
import {
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeMechTypes,
  encodeNegTokenInit,
  encodeNegTokenResp,
  NegState,
  NTLM_OID,
} from '../../src/core/auth/credssp/spnego';
import {
  decodeNegoData,
  decodePasswordCredentials,
  decodeTsCredentials,
  decodeTsRequest,
  encodeNegoData,
  encodePasswordCredentials,
  encodeTsCredentials,
  encodeTsPasswordCreds,
  encodeTsRequest,
} from '../../src/core/auth/credssp/structures';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('TSRequest with only a version', () => {
  const der = hex('30 05  a0 03 02 01 06');
  assert.deepEqual(encodeTsRequest({ version: 6 }), der);
  assert.deepEqual(decodeTsRequest(der), { version: 6 });
});

test('TSRequest with negoTokens: NegoData is a SEQUENCE OF SEQUENCE { [0] OCTET STRING }', () => {
  const der = hex('30 12  a0 03 02 01 06  a1 0b 30 09 30 07 a0 05 04 03 010203');
  assert.deepEqual(encodeTsRequest({ version: 6, negoTokens: [hex('010203')] }), der);
  assert.deepEqual(decodeTsRequest(der), { version: 6, negoTokens: [hex('010203')] });
});

test('TSRequest with every field, in tag order; errorCode as the signed 32-bit INTEGER', () => {
  const nonce = Buffer.alloc(32, 0x11);
  const der = Buffer.concat([
    hex('30 47'),
    hex('a0 03 02 01 06'), // version
    hex('a1 09 30 07 30 05 a0 03 04 01 aa'), // negoTokens
    hex('a2 03 04 01 bb'), // authInfo
    hex('a3 04 04 02 cc dd'), // pubKeyAuth
    hex('a4 06 02 04 80 09 03 0c'), // errorCode SEC_E_LOGON_DENIED
    hex('a5 22 04 20'), nonce, // clientNonce
  ]);
  const req = { version: 6, negoTokens: [hex('aa')], authInfo: hex('bb'), pubKeyAuth: hex('ccdd'), errorCode: 0x8009030c, clientNonce: nonce };
  assert.deepEqual(encodeTsRequest(req), der);
  assert.deepEqual(decodeTsRequest(der), req);
});

test('errorCode decodes to the same unsigned value whichever signedness the peer wrote', () => {
  assert.equal(decodeTsRequest(hex('30 0c a0 03 02 01 06 a4 05 02 03 00 ff ff')).errorCode, 0xffff);
  assert.equal(decodeTsRequest(hex('30 0e a0 03 02 01 06 a4 07 02 05 00 80 09 03 0c')).errorCode, 0x8009030c);
  assert.equal(decodeTsRequest(hex('30 0d a0 03 02 01 06 a4 06 02 04 c0 00 00 6d')).errorCode, 0xc000006d);
});

test('TSRequest decoding refuses trailing bytes, missing version, out-of-order and truncated fields', () => {
  assert.throws(() => decodeTsRequest(hex('30 05 a0 03 02 01 06 00')), DerError);
  assert.throws(() => decodeTsRequest(hex('30 05 a2 03 04 01 bb')), /without version/);
  assert.throws(() => decodeTsRequest(hex('30 0a a2 03 04 01 bb a0 03 02 01 06')), /out of order/);
  assert.throws(() => decodeTsRequest(hex('30 07 a0 03 02 01 06')), /runs past/);
  assert.throws(() => decodeTsRequest(hex('30 80 a0 03 02 01 06 00 00')), /indefinite/);
});

test('NegoData with two tokens', () => {
  const der = hex('30 0e  30 05 a0 03 04 01 01  30 05 a0 03 04 01 02');
  assert.deepEqual(encodeNegoData([hex('01'), hex('02')]), der);
  assert.deepEqual(decodeNegoData(der), [hex('01'), hex('02')]);
});

test('long lengths: 0x81 and 0x82 forms', () => {
  assert.deepEqual(octetString(Buffer.alloc(200)).subarray(0, 3), hex('04 81 c8'));
  assert.deepEqual(octetString(Buffer.alloc(300)).subarray(0, 4), hex('04 82 01 2c'));
  const big = encodeTsRequest({ version: 6, authInfo: Buffer.alloc(70_000, 7) });
  assert.deepEqual(big.subarray(0, 4), hex('30 83 01 11'));
  assert.equal(tlvSize(big), big.length);
  assert.equal(tlvSize(big.subarray(0, 3)), undefined, 'length not complete yet');
  assert.deepEqual(decodeTsRequest(big).authInfo, Buffer.alloc(70_000, 7));
});

test('TSPasswordCreds: UTF-16LE strings, an empty password is an empty OCTET STRING', () => {
  assert.deepEqual(encodeTsPasswordCreds({ domain: 'D', user: 'u', password: 'p' }), hex('30 12  a0 04 04 02 4400  a1 04 04 02 7500  a2 04 04 02 7000'));
  assert.deepEqual(encodeTsPasswordCreds({ domain: 'D', user: 'u', password: '' }), hex('30 10  a0 04 04 02 4400  a1 04 04 02 7500  a2 02 04 00'));
});

test('TSCredentials holding TSPasswordCreds (credType 1), and back', () => {
  const inner = hex('30 12 a0 04 04 02 4400 a1 04 04 02 7500 a2 04 04 02 7000');
  const der = Buffer.concat([hex('30 1d  a0 03 02 01 01  a1 16 04 14'), inner]);
  assert.deepEqual(encodeTsCredentials(1, inner), der);
  assert.deepEqual(encodePasswordCredentials({ domain: 'D', user: 'u', password: 'p' }), der);
  assert.deepEqual(decodeTsCredentials(der), { credType: 1, credentials: inner });
  const creds = { domain: 'CONTOSO', user: 'Ådmin', password: 'pä$$ wörd €' };
  assert.deepEqual(decodePasswordCredentials(encodePasswordCredentials(creds)), creds);
  assert.throws(() => decodePasswordCredentials(encodeTsCredentials(2, inner)), /credType 2/);
});

test('INTEGER: minimal two\'s complement both ways', () => {
  const cases: [number, string][] = [[0, '020100'], [6, '020106'], [127, '02017f'], [128, '02020080'], [256, '02020100'], [-1, '0201ff'], [-128, '020180'], [-129, '0202ff7f'], [0x8009030c | 0, '020480 09030c'], [0xffffffff, '020500ffffffff']];
  for (const [n, h] of cases) {
    assert.deepEqual(integer(n), hex(h), `encode ${n}`);
    assert.equal(readInteger(decodeOne(hex(h))), n, `decode ${h}`);
  }
});

test('OIDs: NTLM and SPNEGO encodings', () => {
  assert.deepEqual(oid(NTLM_OID), hex('06 0a 2b 06 01 04 01 82 37 02 02 0a'));
  assert.deepEqual(oid('1.3.6.1.5.5.2'), hex('06 06 2b 06 01 05 05 02'));
  assert.equal(readOid(decodeOne(hex('06 0a 2b 06 01 04 01 82 37 02 02 0a'))), NTLM_OID);
  assert.equal(readOid(decodeOne(hex('06 09 2a 86 48 86 f7 12 01 02 02'))), '1.2.840.113554.1.2.2');
});

test('SPNEGO NegTokenInit offering NTLM with its NEGOTIATE (the Windows prefix)', () => {
  const der = hex('60 22  06 06 2b 06 01 05 05 02  a0 18 30 16  a0 0e 30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a  a2 04 04 02 01 02');
  assert.deepEqual(encodeNegTokenInit([NTLM_OID], hex('0102')), der);
  const init = decodeNegTokenInit(der);
  assert.deepEqual(init.mechTypes, [NTLM_OID]);
  assert.deepEqual(init.mechToken, hex('0102'));
  assert.deepEqual(init.mechTypesDer, encodeMechTypes([NTLM_OID]));
  assert.deepEqual(init.mechTypesDer, hex('30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a'));
});

test('SPNEGO NegTokenResp: accept-incomplete with NTLM and a token; accept-completed with a mechListMIC', () => {
  const der = hex('a1 1a 30 18  a0 03 0a 01 01  a1 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a  a2 03 04 01 aa');
  const resp = { negState: NegState.acceptIncomplete, supportedMech: NTLM_OID, responseToken: hex('aa') };
  assert.deepEqual(encodeNegTokenResp(resp), der);
  assert.deepEqual(decodeNegTokenResp(der), resp);
  const done = hex('a1 0b 30 09  a0 03 0a 01 00  a3 02 04 00');
  assert.deepEqual(decodeNegTokenResp(done), { negState: 0, mechListMIC: Buffer.alloc(0) });
  assert.throws(() => decodeNegTokenResp(hex('a0 03 30 01 00')), /NegTokenResp expected/);
});
