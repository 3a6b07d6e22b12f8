// The persistent languages at run time: powerhell/exchange loops in real pwsh behind
// the test host over HTTP, through runScript as the CLI and the extension use it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelledError, ConfigError } from '../../src/core/errors';
import { EXCHANGE_MISSING_MESSAGE, planLaunch, type LaunchPlan, type LaunchRequest, type ScriptArgument } from '../../src/core/launch';
import { LoopStderr, MarkerScanner } from '../../src/core/launch/powerhell-session';
import { createClixmlConverter } from '../../src/core/text';
import {
  closePersistentSessions, persistentLoopFor, persistentLoops, resetPersistentSessions, runScript, type PersistentScriptResult,
} from '../../src/core/run-script';
import { WinrmSession } from '../../src/core/session';
import { startTestHost, type TestHost } from '../host/host';
import { FAULTS, faultEnvelope } from '../host/wsman';
import { peerMissing, pwshPath } from '../support/peers';

const PASSWORD = 'canary-powerhell-Pa55!';
const skip = peerMissing('pwsh 7.6.9', pwshPath() !== undefined, 'Run: dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

let host: TestHost;
before(async () => { host = await startTestHost({ https: false, user: 'alice', password: PASSWORD }); });
after(async () => host.close());

const newSession = () => new WinrmSession({ url: host.url, credentials: { user: 'alice', password: PASSWORD } });
const a = (name: string, value: ScriptArgument['value']): ScriptArgument => ({ name, value });
const plan = (over: Partial<LaunchRequest>): LaunchPlan => planLaunch({ language: 'powerhell', code: '', args: [], style: 'variables', profile: 'safe', ...over });

interface Ran { stdout: string; stderr: string; exitCode: number; result: PersistentScriptResult }

async function run(session: WinrmSession, p: LaunchPlan): Promise<Ran> {
  const r = runScript(session, p);
  let stdout = '';
  let stderr = '';
  for await (const c of r) if (c.stream === 'stdout') stdout += c.text; else stderr += c.text;
  return { stdout: stdout.replace(/\r\n/g, '\n'), stderr, exitCode: await r.exitCode, result: (await r.persistent)! };
}

/** Runs fn with a session, then closes the loops and the session and checks that no shell is left. */
async function withSession(fn: (s: WinrmSession) => Promise<void>): Promise<void> {
  const s = newSession();
  try {
    await fn(s);
  } finally {
    await closePersistentSessions(s);
    await s.close();
  }
  assert.equal(host.openShells(), 0, 'no shell left on the host');
}

for (const profile of ['connector-1.5', 'safe'] as const) {
  describe(`powerhell loop, ${profile} profile`, () => {
    test('several scripts in one loop keep a variable; one shell for all', { skip }, async () => {
      await withSession(async (s) => {
        const first = await run(s, plan({ profile, code: '$x = 41' }));
        assert.deepEqual({ out: first.stdout, code: first.exitCode, outcome: first.result.outcome, newLoop: first.result.newLoop }, { out: '', code: 0, outcome: 'ok', newLoop: true });
        const shells = host.shells();
        assert.equal(shells.length, 1);
        const second = await run(s, plan({ profile, code: '$x + 1' }));
        assert.equal(second.stdout, '42\n');
        assert.equal(second.exitCode, 0);
        assert.equal(second.result.newLoop, false);
        // The same shell and the same command (the loop) ran both scripts.
        assert.deepEqual(host.shells().map((sh) => [sh.id, sh.commands.length]), [[shells[0].id, 1]]);
        assert.equal(persistentLoops(s).length, 1);
        assert.equal(persistentLoops(s)[0].state, 'running');
      });
    });

    test('an error written by a script is reported with its message, the loop goes on', { skip }, async () => {
      await withSession(async (s) => {
        const failed = await run(s, plan({ profile, code: "Write-Output 'before'; Write-Error 'mailbox quota exceeded'" }));
        assert.equal(failed.exitCode, 1);
        assert.equal(failed.result.outcome, 'error');
        assert.equal(failed.result.connectorError, 'mailbox quota exceeded');
        assert.equal(failed.result.message, 'mailbox quota exceeded');
        assert.equal(failed.stdout, 'before\n');
        // pwsh keeps its CLIXML error records until the process ends: nothing on stderr yet.
        assert.equal(failed.stderr, '');
        // stderr written directly arrives with its script; the connector would drop it.
        const next = await run(s, plan({ profile, code: "[Console]::Error.WriteLine('direct'); 'still here'" }));
        assert.deepEqual([next.stdout, next.stderr.trim(), next.exitCode, next.result.newLoop], ['still here\n', 'direct', 0, false]);
        assert.equal(next.result.stderrHiddenByConnector, true);
        // When the loop ends, the held error record comes out with that script's stderr.
        const exited = await run(s, plan({ profile, code: 'exit' }));
        assert.match(exited.stderr, /Write-Error: mailbox quota exceeded/);
      });
    });

    test('a script that calls exit ends the loop; the next script runs in a new loop without the variables', { skip }, async () => {
      await withSession(async (s) => {
        await run(s, plan({ profile, code: '$y = 5' }));
        const exited = await run(s, plan({ profile, code: "Write-Output 'bye'; exit" }));
        assert.deepEqual([exited.stdout, exited.exitCode, exited.result.outcome, exited.result.loopExitCode], ['bye\n', 0, 'loop-exit', 0]);
        const next = await run(s, plan({ profile, code: '"y=[$y]"' }));
        assert.deepEqual([next.stdout, next.exitCode, next.result.newLoop], ['y=[]\n', 0, true]);
        // exit 0 keeps the shell, as the connector does: a new loop command in the same shell.
        assert.equal(host.openShells(), 1);
        // A non-zero exit is the connector's failure, and the shell is dropped.
        const failed = await run(s, plan({ profile, code: 'exit 7' }));
        assert.equal(failed.exitCode, 7);
        assert.equal(failed.result.connectorError, 'Exit code received during command execution (exit code 7)');
        assert.equal(host.openShells(), 0);
        assert.equal((await run(s, plan({ profile, code: "'again'" }))).stdout, 'again\n');
      });
    });

    test('reset drops the variables and the shell; the next script starts a new loop', { skip }, async () => {
      await withSession(async (s) => {
        await run(s, plan({ profile, code: '$z = "kept"' }));
        assert.equal((await run(s, plan({ profile, code: '"z=$z"' }))).stdout, 'z=kept\n');
        const before = host.shells()[0].id;
        assert.equal(await resetPersistentSessions(s, 'powerhell'), 1);
        assert.equal(host.openShells(), 0);
        const after = await run(s, plan({ profile, code: '"z=[$z]"' }));
        assert.deepEqual([after.stdout, after.result.newLoop], ['z=[]\n', true]);
        assert.notEqual(host.shells()[0].id, before);
      });
    });
  });
}

test('the loops are per language and profile, and each keeps its own variables', { skip }, async () => {
  await withSession(async (s) => {
    await run(s, plan({ profile: 'safe', code: '$w = "safe"' }));
    await run(s, plan({ profile: 'connector-1.5', code: '$w = "connector"' }));
    assert.equal(host.openShells(), 2);
    assert.equal((await run(s, plan({ profile: 'safe', code: '$w' }))).stdout, 'safe\n');
    assert.equal((await run(s, plan({ profile: 'connector-1.5', code: '$w' }))).stdout, 'connector\n');
    assert.notEqual(persistentLoopFor(s, plan({ profile: 'safe' })), persistentLoopFor(s, plan({ profile: 'connector-1.5' })));
  });
});

test('scripts queue: two started at once run one after the other in the same loop', { skip }, async () => {
  await withSession(async (s) => {
    const [one, two] = await Promise.all([
      run(s, plan({ code: '$q = 1; Start-Sleep -Milliseconds 300; "one q=$q"' })),
      run(s, plan({ code: '$q = $q + 1; "two q=$q"' })),
    ]);
    assert.equal(one.stdout, 'one q=1\n');
    assert.equal(two.stdout, 'two q=2\n');
    assert.equal(host.openShells(), 1);
  });
});

test('arguments reach the script in the variables style (connector-1.5 and safe)', { skip }, async () => {
  await withSession(async (s) => {
    for (const profile of ['connector-1.5', 'safe'] as const) {
      const r = await run(s, plan({ profile, code: '"who=$who"', args: [a('who', "O'Neil $x `y")] }));
      assert.equal(r.stdout, "who=O'Neil $x `y\n", profile);
    }
  });
});

test('connector-1.5 dashed style: the 1.1 loop bug is warned about and really breaks the script', { skip }, async () => {
  await withSession(async (s) => {
    const p = plan({ profile: 'connector-1.5', style: 'dashed', code: "Write-Output 'ran'", args: [a('name', 'v')] });
    assert.ok(p.warnings.some((w) => w.code === 'powerhell-argument-bug' && w.severity === 'warning'));
    assert.equal(p.script, "-name = 'v'; Write-Output 'ran'");
    const r = await run(s, p);
    assert.equal(r.exitCode, 1);
    assert.match(r.result.connectorError ?? '', /'-name' is not recognized/);
    // The safe profile's dashed style passes -name:'v' as meant.
    const safe = await run(s, plan({ style: 'dashed', code: 'function Show-It { param($name) "name=$name" }; Show-It', args: [a('name', 'v')] }));
    assert.deepEqual([safe.stdout, safe.exitCode], ['name=v\n', 0]);
  });
});

test('exchange on a host without the snap-in: the safe loop gives the clear error', { skip }, async () => {
  await withSession(async (s) => {
    const r = await run(s, plan({ language: 'exchange', code: 'Get-Mailbox' }));
    assert.equal(r.exitCode, 64);
    assert.equal(r.result.outcome, 'start-failed');
    assert.equal(r.result.message, EXCHANGE_MISSING_MESSAGE);
    assert.match(r.stderr, /EXCHANGE SNAP-IN NOT AVAILABLE/);
    assert.equal(host.openShells(), 0);
  });
});

test('exchange, connector-1.5: the loop starts anyway (Add-PSSnapin fails) and the missing cmdlet is explained', { skip }, async () => {
  await withSession(async (s) => {
    const r = await run(s, plan({ language: 'exchange', profile: 'connector-1.5', code: 'Enable-Mailbox -Identity $id', args: [a('id', 'jdoe')] }));
    assert.equal(r.exitCode, 1);
    assert.match(r.result.connectorError ?? '', /Enable-Mailbox/);
    assert.ok(r.result.message?.includes(EXCHANGE_MISSING_MESSAGE), r.result.message);
  });
});

for (const profile of ['connector-1.5', 'safe'] as const) test(`output streams: the first line arrives while the script still runs (${profile})`, { skip }, async () => {
  await withSession(async (s) => {
    await run(s, plan({ profile, code: '$null' })); // the loop's start is not part of the timing
    const started = Date.now();
    const seen: { text: string; at: number }[] = [];
    const r = runScript(s, plan({ profile, code: "'first'; Start-Sleep -Seconds 1; 'second'" }));
    for await (const c of r) if (c.stream === 'stdout') seen.push({ text: c.text, at: Date.now() - started });
    const end = Date.now() - started;
    assert.equal(await r.exitCode, 0);
    const first = seen.find((x) => x.text.includes('first'));
    assert.ok(first, JSON.stringify(seen));
    assert.ok(!first.text.includes('second'), 'first and second came in separate chunks');
    assert.ok(end - first.at >= 700, `first line at ${first.at} ms, script ended at ${end} ms`);
    assert.equal(seen.map((x) => x.text).join('').replace(/\r\n/g, '\n'), 'first\nsecond\n');
  });
});

test('cancelling a long script ends promptly, the loop is reset, and no shell is left', { skip }, async () => {
  await withSession(async (s) => {
    await run(s, plan({ code: '$v = 1' }));
    const abort = new AbortController();
    const r = runScript(s, plan({ code: "'sleeping'; Start-Sleep -Seconds 30; 'woke'" }), { signal: abort.signal });
    let out = '';
    let cancelledAt = 0;
    await assert.rejects(async () => {
      for await (const c of r) {
        out += c.text;
        if (out.includes('sleeping') && !cancelledAt) { cancelledAt = Date.now(); abort.abort(); }
      }
    }, CancelledError);
    assert.ok(Date.now() - cancelledAt < 5000, `ended ${Date.now() - cancelledAt} ms after the cancel`);
    await assert.rejects(r.exitCode, CancelledError);
    assert.equal(host.openShells(), 0, 'the loop shell was deleted');
    const next = await run(s, plan({ code: '"v=[$v]"' }));
    assert.deepEqual([next.stdout, next.result.newLoop], ['v=[]\n', true]);
  });
});

test('interrupt (Ctrl+C) stops the script; the loop has ended and the next script starts a new one', { skip }, async () => {
  await withSession(async (s) => {
    await run(s, plan({ code: '$i = 1' }));
    const r = runScript(s, plan({ code: "'sleeping'; Start-Sleep -Seconds 30; 'woke'" }));
    const t = Date.now();
    let out = '';
    for await (const c of r) { out += c.text; if (c.text.includes('sleeping')) await r.interrupt(); }
    assert.ok(Date.now() - t < 5000, `ended after ${Date.now() - t} ms`);
    assert.doesNotMatch(out, /woke/);
    const result = (await r.persistent)!;
    assert.equal(result.outcome, 'loop-exit');
    assert.notEqual(await r.exitCode, 0);
    assert.equal(result.connectorError, `Exit code received during command execution (exit code ${result.loopExitCode})`);
    const next = await run(s, plan({ code: '"i=[$i]"' }));
    assert.deepEqual([next.stdout, next.result.newLoop], ['i=[]\n', true]);
  });
});

test('reset while a script runs cancels it', { skip }, async () => {
  await withSession(async (s) => {
    const r = runScript(s, plan({ code: "'long'; Start-Sleep -Seconds 30" }));
    const consumed = (async () => { for await (const c of r) if (c.text.includes('long')) void resetPersistentSessions(s); })();
    await assert.rejects(consumed, (err: Error) => err instanceof CancelledError && /reset/.test(err.message));
    assert.equal(host.openShells(), 0);
  });
});

test('a deadline stops a long script with a TimeoutError and resets the loop', { skip }, async () => {
  await withSession(async (s) => {
    const r = runScript(s, plan({ code: 'Start-Sleep -Seconds 30' }), { deadline: Date.now() + 3000 });
    const t = Date.now();
    await assert.rejects(async () => { for await (const _ of r) { /* drain */ } }, (err: Error) => err.name === 'TimeoutError');
    assert.ok(Date.now() - t < 8000);
    assert.equal(host.openShells(), 0);
  });
});

test('a SOAP fault on Send to a running loop restarts the loop once, as the connector does', { skip }, async () => {
  await withSession(async (s) => {
    await run(s, plan({ code: '$r = 1' }));
    const firstShell = host.shells()[0].id;
    let faults = 0;
    const faultSends = (limit: number) => host.setHooks({
      onRequest: (info) => {
        if (!info.action.endsWith('/Send') || !info.request || faults >= limit) return undefined;
        faults++;
        return { reply: { status: 500, body: faultEnvelope(FAULTS.unknownShell(info.request.selectors.get('ShellId') ?? ''), info.request.messageId, 'WINRM-TEST') } };
      },
    });
    faultSends(1);
    try {
      const r = await run(s, plan({ code: '"r=[$r]"' }));
      assert.equal(faults, 1);
      assert.deepEqual([r.stdout, r.exitCode, r.result.newLoop], ['r=[]\n', 0, true]);
      assert.equal(host.openShells(), 1);
      assert.notEqual(host.shells()[0].id, firstShell, 'the old shell was dropped');
      // Only once: a loop that faults again right after its restart fails the run.
      faults = 0;
      faultSends(2);
      await assert.rejects(run(s, plan({ code: "'x'" })), (err: Error) => err.name === 'WsmanFaultError');
      assert.equal(faults, 2);
    } finally {
      host.setHooks(undefined);
    }
    // The failed run's loop was dropped; the next starts cleanly.
    assert.equal(host.openShells(), 0);
    assert.equal((await run(s, plan({ code: "'ok'" }))).stdout, 'ok\n');
  });
});

test('a blocked plan throws a ConfigError from runScript and nothing is sent', async () => {
  const s = newSession();
  try {
    const p = plan({ profile: 'connector-1.5', code: '$x', args: [a('x', null)] });
    assert.ok(p.blocked);
    assert.throws(() => runScript(s, p), (err: Error) => err instanceof ConfigError && err.message === p.blocked);
    assert.equal(host.openShells(), 0);
  } finally {
    await s.close();
  }
});

test('close ends the loop: later runs are refused, a new loop object works', { skip }, async () => {
  const s = newSession();
  try {
    await run(s, plan({ code: '$c = 1' }));
    const loop = persistentLoopFor(s, plan({}));
    await loop.close();
    assert.equal(host.openShells(), 0);
    await assert.rejects(async () => { for await (const _ of loop.run(plan({ code: "'x'" }))) { /* drain */ } }, CancelledError);
    await closePersistentSessions(s);
    assert.equal((await run(s, plan({ code: '"c=[$c]"' }))).stdout, 'c=[]\n');
  } finally {
    await closePersistentSessions(s);
    await s.close();
  }
  assert.equal(host.openShells(), 0);
});

test('MarkerScanner: a marker split across chunks, text around it, held tails', () => {
  const P = ':::P0w3Rh3llPr0mPt:::';
  const m = new MarkerScanner(P);
  const parts = ['out1\n:::P0w', '3Rh3llPr0', 'mPt::: boom', '\r\nafter'];
  const got = parts.map((p) => m.push(p));
  assert.deepEqual(got.map((g) => g.emit), ['out1\n', '', '', '']);
  assert.deepEqual(got.map((g) => g.message), [undefined, undefined, undefined, ' boom']);
  const n = new MarkerScanner(P);
  assert.deepEqual(n.push('a::'), { emit: 'a' });
  assert.deepEqual(n.push('x'), { emit: '::x' });
  assert.deepEqual(n.push('tail:'), { emit: 'tail' });
  assert.equal(n.flush(), ':');
});

test('LoopStderr: the loop\'s lone CLIXML header is dropped and its records at exit are rendered', () => {
  const objs = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Write-Error: boom_x000A_</S></Objs>';
  for (const cut of [1, 4, 9, 12, 30]) {
    const e = new LoopStderr(createClixmlConverter());
    const stream = `#< CLIXML\r\ndirect\n#not a header\n${objs}`;
    let out = '';
    for (let i = 0; i < stream.length; i += cut) out += e.write(stream.slice(i, i + cut));
    out += e.end();
    assert.equal(out, 'direct\n#not a header\nWrite-Error: boom\n', `chunks of ${cut}`);
  }
  // Without a header, <Objs text is ordinary text.
  const plain = new LoopStderr(createClixmlConverter());
  assert.equal(plain.write('<Objs x\n') + plain.end(), '<Objs x\n');
});
