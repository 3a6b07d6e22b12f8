// Our CredSSP client engine against an acceptor we did not write: FreeRDP's
// shadow server (RDP NLA, CredSSP version 6, raw NTLM) over TLS 1.2 and 1.3.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CredSspClient } from '../../src/core/auth/credssp/client';
import { AuthError } from '../../src/core/errors';
import { FREERDP_HOW_TO_GET, freerdpAvailable, runNla, startShadowServer, type ShadowServer } from '../support/freerdp';
import { peerMissing } from '../support/peers';

const skip = peerMissing('FreeRDP shadow server (freerdp-shadow-cli, winpr-hash, Xvfb)', freerdpAvailable(), FREERDP_HOW_TO_GET);
const ALICE = { user: 'alice', domain: 'DOM', password: 'Sh4dow-Pass!' };

describe('CredSSP client against FreeRDP shadow server', { skip }, () => {
  let server: ShadowServer;
  before(async () => {
    server = await startShadowServer([ALICE]);
  });
  after(async () => {
    await server?.stop();
  });

  for (const tls of ['TLSv1.2', 'TLSv1.3'] as const) {
    test(`good password completes through authInfo (${tls})`, async () => {
      const logStart = server.log().length;
      const engine = new CredSspClient({ ...ALICE, rawNtlm: true, minTlsVersion: tls, maxTlsVersion: tls });
      const { socket, reader } = await runNla(server.port, engine);
      try {
        assert.equal(engine.complete, true);
        assert.equal(engine.version, 6);
        assert.equal(engine.cipher().version, tls);
        // FreeRDP decrypts the credentials and then waits for the RDP MCS phase:
        // the socket stays open, and it logged the authInfo with no NLA error.
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(reader.isEnded, false, 'server closed the connection after authInfo');
        const log = server.log().slice(logStart);
        assert.match(log, /NLA\.authInfo \(length = \d+\)/);
        assert.doesNotMatch(log, /\[ERROR\]\[com\.freerdp\.core\.nla\]/);
      } finally {
        socket.destroy();
        engine.destroy();
      }
    });
  }

  test('SPNEGO-wrapped NTLM: FreeRDP answers with a TSRequest errorCode, reported with its code', async () => {
    const engine = new CredSspClient({ ...ALICE });
    await assert.rejects(runNla(server.port, engine), (err: unknown) => {
      assert.ok(err instanceof AuthError, String(err));
      assert.match(err.message, /error 0x[0-9A-F]{8}/);
      return true;
    });
    assert.equal(engine.stage, 'negotiate', 'refused at the first NTLM leg');
    engine.destroy();
  });

  test('wrong password is refused with a clear error (TLS 1.2 and 1.3)', async () => {
    for (const tls of ['TLSv1.2', 'TLSv1.3'] as const) {
      const engine = new CredSspClient({ ...ALICE, password: 'not-the-password', rawNtlm: true, minTlsVersion: tls, maxTlsVersion: tls });
      await assert.rejects(runNla(server.port, engine), (err: unknown) => {
        assert.ok(err instanceof AuthError, String(err));
        assert.equal(err.reason, 'bad-credentials');
        assert.match(err.message, /DOM\\alice/);
        assert.doesNotMatch(err.message + err.hint, /not-the-password/);
        return true;
      });
      assert.equal(engine.complete, false);
      engine.destroy();
    }
  });
});
