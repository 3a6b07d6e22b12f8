// Naming our shells, and telling which failed Creates may have left a shell on the host
// (those start the search for it by name: see session.ts and faults-orphans).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthError, CancelledError, ConfigError, HttpError, NetworkError, ProtocolError, TimeoutError, TlsError, WsmanFaultError,
} from '../../src/core/errors';
import { SHELL_NAME_PREFIX, createOutcomeUnknown, newShellName } from '../../src/core/winrs/orphans';

test('shell names: our prefix and 64 random bits, never the same twice', () => {
  const names = new Set(Array.from({ length: 2000 }, () => newShellName()));
  assert.equal(names.size, 2000);
  for (const n of names) assert.match(n, new RegExp(`^${SHELL_NAME_PREFIX}[0-9a-f]{16}$`));
});

test('which failed Creates may have left a shell on the host', () => {
  const network = (code: string) => new NetworkError('x', 'h', code);
  const cases: [unknown, boolean][] = [
    // The host answered, refused, or never got the request.
    [new WsmanFaultError({ code: 2150859173, message: 'quota' }), false],
    [new AuthError('bad-credentials', 'x', 'h'), false],
    [new TlsError('x', 'h'), false],
    [new ConfigError('x'), false],
    [network('ECONNREFUSED'), false],
    [network('ENOTFOUND'), false],
    [network('EHOSTUNREACH'), false],
    [new TimeoutError('Connecting timed out.', undefined, { notSent: true }), false],
    [new HttpError(400, 'x', 'h'), false],
    [new HttpError(413, 'x', 'h'), false],
    // It may have reached the host and the answer was lost.
    [network('ECONNRESET'), true],
    [network('UND_ERR_SOCKET'), true],
    [new NetworkError('x', 'h'), true],
    [new TimeoutError('No answer within 35 s.'), true],
    [new ProtocolError('garbage'), true],
    [new HttpError(502, 'x', 'h'), true],
    [new CancelledError(), true],
    [new Error('unexpected'), true],
  ];
  for (const [err, unknown] of cases) assert.equal(createOutcomeUnknown(err), unknown, `${(err as Error).constructor.name}: ${(err as Error).message} ${(err as NetworkError).code ?? ''}`);
});
