// The NTLM provider's handshake decisions that need no NTLM peer: what it sends
// first, and how it reads hosts that do not answer with a usable challenge.
// (Full handshakes against gss-ntlmssp are in test/integration/ntlm-*.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNtlmProvider } from '../../src/core/auth/ntlm-provider';
import { parseNegotiate, NegotiateFlags as F } from '../../src/core/auth/ntlm/messages';
import type { ConnectionInfo, HttpReply, HttpRequest } from '../../src/core/auth/types';
import { AuthError, ProtocolError } from '../../src/core/errors';

const conn: ConnectionInfo = { tls: false, hostname: 'win01', peerCertificate: () => undefined };
const never = new AbortController().signal;

function scripted(replies: HttpReply[]) {
  const sent: HttpRequest[] = [];
  return {
    sent,
    exchange: async (req: HttpRequest) => {
      sent.push(req);
      const r = replies.shift();
      if (!r) throw new Error('no more scripted replies');
      return r;
    },
  };
}
const reply = (status: number, wwwAuthenticate?: string[]): HttpReply => ({ status, headers: wwwAuthenticate ? { 'www-authenticate': wwwAuthenticate } : {}, body: Buffer.alloc(0) });
const provider = (password = 'Passw0rd!') => createNtlmProvider({ credentials: { user: 'LAB\\alice', password } });

test('the first leg is an empty POST carrying a NEGOTIATE that asks for NTLMv2 session security, sign and seal', async () => {
  const s = scripted([reply(401, ['Basic realm="WSMAN"'])]);
  await assert.rejects(provider().handshake(s.exchange, conn, never));
  assert.equal(s.sent.length, 1);
  assert.equal(s.sent[0].body.length, 0);
  const m = /^Negotiate ([A-Za-z0-9+/=]+)$/.exec(s.sent[0].headers.authorization);
  assert.ok(m, s.sent[0].headers.authorization);
  const flags = parseNegotiate(Buffer.from(m[1], 'base64')).flags;
  for (const f of [F.UNICODE, F.NTLM, F.EXTENDED_SESSIONSECURITY, F.KEY_128, F.KEY_EXCH, F.SIGN, F.SEAL, F.ALWAYS_SIGN]) assert.ok(flags & f);
});

test('no Negotiate or NTLM offered: scheme-not-offered with the offered list, after one request', async () => {
  const s = scripted([reply(401, ['Basic realm="WSMAN"', 'Kerberos'])]);
  await assert.rejects(provider().handshake(s.exchange, conn, never), (e: unknown) =>
    e instanceof AuthError && e.reason === 'scheme-not-offered' && e.offeredSchemes.join(',') === 'Basic,Kerberos' && /offers: Basic, Kerberos/.test(e.message) && /Negotiate="true"/.test(e.hint));
  assert.equal(s.sent.length, 1);
});

test('Negotiate offered but no challenge (NTLM restricted by policy): its own message', async () => {
  const s = scripted([reply(401, ['Negotiate'])]);
  await assert.rejects(provider().handshake(s.exchange, conn, never), (e: unknown) => e instanceof AuthError && e.reason === 'scheme-not-offered' && /restricted/.test(e.message));
});

test('only "NTLM" offered: the NEGOTIATE is sent again under that scheme name', async () => {
  const s = scripted([reply(401, ['NTLM']), reply(401, ['Basic'])]);
  await assert.rejects(provider().handshake(s.exchange, conn, never));
  assert.equal(s.sent.length, 2);
  assert.match(s.sent[1].headers.authorization, /^NTLM /);
});

test('a garbage challenge token is a ProtocolError, and nothing more is sent', async () => {
  const s = scripted([reply(401, ['Negotiate TlRMTVNTUAACAAAA'])]);
  await assert.rejects(provider().handshake(s.exchange, conn, never), ProtocolError);
  assert.equal(s.sent.length, 1);
});

test('a 200 to the NEGOTIATE (not a WinRM listener, or no auth at all) is reported with its status', async () => {
  const s = scripted([reply(200)]);
  await assert.rejects(provider().handshake(s.exchange, conn, never), (e: unknown) => e instanceof AuthError && /HTTP 200/.test(e.message));
});
