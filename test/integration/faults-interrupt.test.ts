// Ctrl+C (CommandRun.interrupt) when the connection it goes out on drops: the
// signal is retried like cleanup, so the user's interrupt still reaches the command.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WinrmSession } from '../../src/core/session';
import { startTestHost, type TestHost } from '../host/host';
import { RequestLog, actionOf, notHanging } from '../support/faults';

const PASSWORD = 'canary-Interrupt-Pa55-3!';
const credentials = { user: 'alice', password: PASSWORD };

let host: TestHost;
before(async () => { host = await startTestHost({ user: 'alice', password: PASSWORD, wine: false, pwshPath: null }); });
after(async () => host.close());

test('a Ctrl+C whose connection drops is sent again and still interrupts the command', { timeout: 60_000 }, async () => {
  const session = new WinrmSession({ url: host.url, credentials, operationTimeout: 2 });
  const log = new RequestLog();
  let dropped = false;
  host.setHooks(log.hooks({
    onRequest: (info) => {
      if (actionOf(info) === 'Signal' && !dropped && /ctrl_c/.test(info.soap)) { dropped = true; return { drop: true }; }
      return undefined;
    },
  }));
  try {
    const run = session.run('winrm-test', ['lines', '--count', '200', '--interval-ms', '100']);
    let lines = 0;
    let interrupted: Promise<void> | undefined;
    await notHanging((async () => {
      for await (const c of run) {
        if (c.stream !== 'stdout') continue;
        lines += c.bytes.toString('utf8').split('\n').length - 1;
        if (lines >= 3) interrupted ??= run.interrupt();
      }
    })(), 30_000, 'run');
    await interrupted;
    // Ended by SIGINT on the host (STATUS_CONTROL_C_EXIT), long before its 200 lines.
    assert.equal((await run.exitCode) >>> 0, 0xC000013A);
    assert.ok(lines < 150, `${lines} lines`);
    const signals = log.requests.filter((q) => q.action === 'Signal' && /ctrl_c/.test(q.soap));
    assert.equal(signals.length, 2, 'the dropped Ctrl+C and its retry');
  } finally {
    host.setHooks(undefined);
    await session.close();
  }
  assert.equal(host.openShells(), 0);
});
