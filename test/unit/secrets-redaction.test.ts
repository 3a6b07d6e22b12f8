// A canary password must not come out of the core in any form (plain, base64 of it or of
// "user:password", UTF-16, hex, URL-encoded): not in error messages or hints from the
// paths that echo user input, not in describeError, not in trace text. The transport and
// CLI over real connections are checked in test/integration/faults-secrets.test.ts.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { createBasicProvider } from '../../src/core/auth/basic';
import { ConfigError, WinrmError, describeError } from '../../src/core/errors';
import { formatTraceEvent, scrub } from '../../src/core/format/trace';
import { redactHeaders } from '../../src/core/redact';
import { authFailure, parseEndpoint } from '../../src/core/transport/http';
import { canaryLeaks } from '../support/faults';

const CANARY = 'Cnry-7f3a9-Pässwörd!';
const USER = 'LAB\\alice';

function assertClean(what: string, text: string): void {
  assert.deepEqual(canaryLeaks(text, CANARY, USER), [], `${what} leaks the password: ${text}`);
}

test('URLs with the password in them: the error neither echoes it nor its encodings', () => {
  const enc = encodeURIComponent(CANARY);
  for (const input of [
    `http://alice:${enc}@winrm01:5985/wsman`,
    `https://alice:${enc}@winrm01:99999/wsman`,  // invalid port: the "not a valid URL" path
    `http://alice:${enc}@win rm01/wsman`,          // invalid host
    `alice:${enc}@winrm01`,
    `ftp://alice:${enc}@winrm01/`,
    `http://alice:${CANARY}@[::1`,
    `http://alice:pa/${CANARY}@winrm01:5985/wsman`, // an unencoded '/' in the password
  ]) {
    let err: unknown;
    try { parseEndpoint(input); } catch (e) { err = e; }
    assert.ok(err instanceof ConfigError, `${input} is refused`);
    assertClean(input, `${describeError(err)} ${inspect(err)}`);
  }
});

test('auth failures describe the scheme and the user, never the password', () => {
  const reply = (offer: string[]) => ({ status: 401, headers: { 'www-authenticate': offer }, body: Buffer.alloc(0) });
  for (const offer of [['Basic realm="WSMAN"'], ['Negotiate', 'Kerberos'], []]) {
    for (const https of [false, true]) {
      const err = authFailure(reply(offer), 'basic', https);
      assertClean('authFailure', `${describeError(err)} ${inspect(err)}`);
    }
  }
});

test('trace text: Authorization and WWW-Authenticate values are masked; the password is scrubbed from bodies', () => {
  const basic = createBasicProvider({ user: USER, password: CANARY });
  return basic.handshake(async () => ({ status: 200, headers: {}, body: Buffer.alloc(0) }), { tls: true, hostname: 'h', peerCertificate: () => undefined }, new AbortController().signal).then((session) => {
    const headers: Record<string, string> = { ...session.requestHeaders(), 'content-type': 'application/soap+xml', 'WWW-Authenticate': 'Negotiate TlRMTVNTUAACAAAA', 'Proxy-Authorization': `Basic ${Buffer.from(`x:${CANARY}`).toString('base64')}` };
    assert.match(headers.authorization, /^Basic /);
    const masked = redactHeaders(headers);
    assert.equal(masked.authorization, 'Basic [redacted]');
    assert.equal(masked['WWW-Authenticate'], 'Negotiate [redacted]');
    assertClean('redactHeaders', JSON.stringify(masked));
    // A script that echoes the password (e.g. as an argument) must not put it in the trace log either.
    const body = `<rsp:Arguments>${CANARY}</rsp:Arguments><x>${Buffer.from(CANARY, 'utf16le').toString('base64')}</x><y>${Buffer.from(CANARY).toString('base64')}</y>`;
    const line = formatTraceEvent({ direction: 'request', url: 'https://h:5986/wsman', headers, body }, [CANARY]);
    assertClean('formatTraceEvent', line);
    assert.match(line, /\[redacted\]/);
    assertClean('scrub', scrub(`failed for ${CANARY}`, [CANARY]));
  });
});

test('describeError never adds more than the error carries', () => {
  const err = new WinrmError('protocol', 'The reply is not XML.', 'Check the URL.');
  assert.equal(describeError(err), 'The reply is not XML. Hint: Check the URL.');
});
