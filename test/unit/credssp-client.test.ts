// TSRequest errorCode -> AuthError: the reason a caller can act on, the code in hex,
// and nothing secret in the text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCodeToAuthError } from '../../src/core/auth/credssp/client';

test('logon failures map to bad-credentials with the user and the code', () => {
  for (const [code, words] of [[0x8009030c, /SEC_E_LOGON_DENIED/], [0xc000006d, /STATUS_LOGON_FAILURE/], [0xc0000234, /locked out/]] as const) {
    const err = errorCodeToAuthError(code, 'LAB\\alice');
    assert.equal(err.reason, 'bad-credentials');
    assert.match(err.message, /LAB\\alice/);
    assert.match(err.message, words);
    assert.match(err.message, new RegExp(`0x${code.toString(16).toUpperCase()}`));
    assert.match(err.hint, /domain/);
  }
});

test('a negative (signed) code is the same as its unsigned value; unknown codes keep their hex', () => {
  assert.equal(errorCodeToAuthError(0x8009030c | 0, 'x').reason, 'bad-credentials');
  const err = errorCodeToAuthError(0xc00700ea, 'LAB\\alice');
  assert.equal(err.reason, 'unknown');
  assert.match(err.message, /error 0xC00700EA\./);
  assert.equal(errorCodeToAuthError(5, 'x').message, 'The host ended CredSSP authentication with error 0x00000005.');
});
