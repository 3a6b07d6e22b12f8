// The MS-CSSP public-key binding: the certificate's subjectPublicKey, and the
// pubKeyAuth values for versions 5/6 (SHA-256 with the magic strings and the
// nonce) and 2-4 (the key, and the key with its first byte + 1 from the server).
// Expected values come from openssl and Python's hashlib, not from our code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_TO_SERVER, pubKeyAuthValue, SERVER_TO_CLIENT, subjectPublicKey } from '../../src/core/auth/credssp/binding';

const CERT_PEM = `-----BEGIN CERTIFICATE-----
MIICDDCCAXWgAwIBAgIUM4GLZRkt6g5ywrRGUlhyNbZ71CAwDQYJKoZIhvcNAQEL
BQAwFzEVMBMGA1UEAwwMY3JlZHNzcC11bml0MCAXDTI2MTEyOTA0MzM1NFoYDzIx
MjYxMTA1MDQzMzU0WjAXMRUwEwYDVQQDDAxjcmVkc3NwLXVuaXQwgZ8wDQYJKoZI
hvcNAQEBBQADgY0AMIGJAoGBAOg9bsYF49NNSfgsAN3uNqWGeNoBWpIpCi5h7Iqy
ZZbRwwGbPSt7HW6+NJ/1rSMhzme2HqvFQHio57GnnmDIiyAVQJETpF9DGyUjOhju
vmKsHtv9c803eAZXFxSS6kjkC74skIIgBpVMgPt6mP8MhN3XjJ7mI1jTt4h2+taO
CRfNAgMBAAGjUzBRMB0GA1UdDgQWBBTcsigDgyE8BiCjpnCq9JMPypNaQDAfBgNV
HSMEGDAWgBTcsigDgyE8BiCjpnCq9JMPypNaQDAPBgNVHRMBAf8EBTADAQH/MA0G
CSqGSIb3DQEBCwUAA4GBAGEb6FEg4gEqkHrUqaND3XNwA2AX2rM0GDYhxdcAv0y4
8o+p2rBYkRP0vFSQYjpgRQa1lGdvgZZa2VblmDwkMhTqRS4Fo04xDR9Wk+0565c7
b/5IwJmhiKpq3gn8Zw6SVH+9KxL9EBdPmyKyj0IikaMKb4Mkbfxn4MfuSHOCWFya
-----END CERTIFICATE-----`;

// `openssl x509 -pubkey | openssl rsa -pubin -RSAPublicKey_out -outform DER`
const RSA_PUBLIC_KEY = '30818902818100e83d6ec605e3d34d49f82c00ddee36a58678da015a92290a2e61ec8ab26596d1c3019b3d2b7b1d6ebe349ff5ad2321ce67b61eabc54078a8e7b1a79e60c88b2015409113a45f431b25233a18eebe62ac1edbfd73cd37780657171492ea48e40bbe2c90822006954c80fb7a98ff0c84ddd78c9ee62358d3b78876fad68e0917cd0203010001';

test('subjectPublicKey of a certificate is the DER RSAPublicKey (BIT STRING without its unused-bits octet)', () => {
  const der = Buffer.from(CERT_PEM.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  assert.equal(subjectPublicKey(der).toString('hex'), RSA_PUBLIC_KEY);
});

test('version 5/6 hashes: SHA-256(magic || nonce || key), magic strings end with NUL', () => {
  assert.equal(CLIENT_TO_SERVER, 'CredSSP Client-To-Server Binding Hash\u0000');
  assert.equal(SERVER_TO_CLIENT, 'CredSSP Server-To-Client Binding Hash\u0000');
  const nonce = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const key = Buffer.from('3003020105', 'hex');
  // python3: hashlib.sha256(b'CredSSP Client-To-Server Binding Hash\x00' + bytes(range(32)) + key)
  assert.equal(pubKeyAuthValue(6, 'client', key, nonce).toString('hex'), 'c848967e38c1bf2057ebfe758e5bf55fd370f2c069ed21550f615ff0bbf11c2d');
  assert.equal(pubKeyAuthValue(5, 'server', key, nonce).toString('hex'), '790613cfe0c67924041dbcaeac5ca65737421afad7af88cb39b3844920be5790');
  assert.throws(() => pubKeyAuthValue(6, 'client', key, undefined), /nonce/);
  assert.throws(() => pubKeyAuthValue(6, 'client', key, Buffer.alloc(16)), /nonce/);
});

test('versions 2-4: the key itself, and the server answers with the first byte incremented (mod 256)', () => {
  const key = Buffer.from('30ff0102', 'hex');
  assert.equal(pubKeyAuthValue(4, 'client', key).toString('hex'), '30ff0102');
  assert.equal(pubKeyAuthValue(4, 'server', key).toString('hex'), '31ff0102');
  assert.equal(pubKeyAuthValue(2, 'server', Buffer.from('ff00', 'hex')).toString('hex'), '0000');
  assert.equal(key.toString('hex'), '30ff0102', 'input untouched');
});
