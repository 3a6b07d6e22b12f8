// Chaos: 300 runs on four sessions at once, with random cancels, deadlines and injected
// faults on every kind of request (seeded; the seed is printed, CHAOS_SEED=N replays the
// same plan). Afterwards the test host must have 0 open shells, every run must have
// ended (typed error or exact output), and no Command that may have run was sent twice.
//
// Faults are transient, as on a real network: one shell's Signal/Delete requests get at
// most two injected faults, so its bounded cleanup retries can get through. A Create is
// failed before the host acts on it, answered late, or its reply is lost after the host
// made the shell (dropped, cut, garbled): the client finds that shell by its name in the
// host's list and deletes it. The listing itself gets no faults: it is one bounded pass,
// and a failed one leaves the shell to the host's idle timeout (faults-orphans tests that).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WinrmError, describeError } from '../../src/core/errors';
import { WinrmSession, type SessionOptions } from '../../src/core/session';
import type { HookDecision, RequestInfo } from '../host/host';
import { startTestHost } from '../host/host';
import { BAD_REPLIES, HangError, LOST_REPLIES, Prng, actionOf, faultReply, notHanging, seedFrom, shellIdOf, waitUntil, type FaultShape, type LostReply } from '../support/faults';

const RUNS = Number(process.env.CHAOS_RUNS ?? 300);
const WORKERS = 4;
const PASSWORD = 'canary-Chaos-Pa55-3!';
const CLEANUP_MS = 8000;

type Kind = 'exit' | 'lines' | 'emit' | 'hang' | 'echo';
interface Plan {
  token: string;
  kind: Kind;
  args: string[];
  stdin?: Buffer;
  reuseShell: boolean;
  cancelAfterMs?: number;
  deadlineMs?: number;
  expect: { stdout: string | number; code: number } | undefined;
}

function planRun(rng: Prng, token: string): Plan {
  const kind = rng.pick<Kind>(['exit', 'exit', 'lines', 'emit', 'hang', 'echo']);
  const tag = ['--tag', token];
  let plan: Plan;
  switch (kind) {
    case 'exit': {
      const code = rng.int(0, 9);
      plan = { token, kind, args: ['exit', String(code), '--stdout', token, ...tag], reuseShell: false, expect: { stdout: `${token}\r\n`, code } };
      break;
    }
    case 'lines': {
      const n = rng.int(1, 4);
      plan = { token, kind, args: ['lines', '--count', String(n), '--interval-ms', String(rng.int(0, 120)), '--text', token, ...tag], reuseShell: false, expect: { stdout: Array.from({ length: n }, (_, i) => `${token} ${i + 1}\r\n`).join(''), code: 0 } };
      break;
    }
    case 'emit': {
      const n = rng.int(1000, 200_000);
      plan = { token, kind, args: ['emit', '--stdout', String(n), '--chunk', '8192', ...tag], reuseShell: false, expect: { stdout: n, code: 0 } };
      break;
    }
    case 'echo':
      plan = { token, kind, args: ['echo-stdin', ...tag], stdin: Buffer.from(`${token} ✓`), reuseShell: false, expect: { stdout: `${token} ✓`, code: 0 } };
      break;
    case 'hang':
      plan = { token, kind, args: ['hang', ...tag], reuseShell: false, expect: undefined };
      break;
  }
  plan.reuseShell = rng.chance(0.3);
  const stop = rng.next();
  if (stop < 0.25) plan.cancelAfterMs = rng.int(0, 400);
  else if (stop < 0.5) plan.deadlineMs = rng.int(100, 1500);
  // A hung program only ends by a cancel or the deadline.
  if (kind === 'hang' && plan.cancelAfterMs === undefined && plan.deadlineMs === undefined) plan.deadlineMs = rng.int(200, 1000);
  return plan;
}

/** The fault injector: decisions per request, from its own seeded stream. */
class Injector {
  readonly injected = new Map<string, number>();
  /** Command requests per run token, and how many of them were refused with "shell not found" (never ran). */
  readonly commands = new Map<string, { sent: number; refusedGone: number }>();
  private readonly cleanupFaults = new Map<string, number>();
  /** What each shell saw (action, connection, injected fault), to explain a leak. */
  readonly history = new Map<string, string[]>();

  constructor(private readonly rng: Prng) {}

  record(info: RequestInfo, phase: string, d: HookDecision, replySoap = ''): HookDecision {
    const id = shellIdOf(info) ?? /<rsp:ShellId>([^<]+)/.exec(replySoap)?.[1] ?? 'no shell';
    const h = this.history.get(id) ?? [];
    if (h.length < 50) h.push(`${phase} ${actionOf(info)}@${info.connectionId}${d ? ` ${JSON.stringify(d).slice(0, 50)}` : ''}`);
    this.history.set(id, h);
    return d;
  }

  private note(what: string, d: HookDecision): HookDecision {
    this.injected.set(what, (this.injected.get(what) ?? 0) + 1);
    return d;
  }

  private tokenOf(info: RequestInfo): string | undefined {
    return /chaos-\d+-\d+/.exec(info.soap)?.[0];
  }

  onRequest(info: RequestInfo): HookDecision {
    const action = actionOf(info);
    const r = this.rng;
    if (action === 'Command') {
      const token = this.tokenOf(info);
      if (token) {
        const c = this.commands.get(token) ?? { sent: 0, refusedGone: 0 };
        c.sent++;
        this.commands.set(token, c);
        if (r.chance(0.04)) { c.refusedGone++; return this.note('Command: shell not found', faultReply(info, 'shellNotFound')); }
      }
      if (r.chance(0.06)) {
        const pickd = r.int(0, 3);
        if (pickd === 0) return this.note('Command: dropped before', { drop: true });
        if (pickd === 1) return this.note('Command: filename too long', faultReply(info, 'filenameTooLong'));
        if (pickd === 2) return this.note('Command: schema fault', faultReply(info, 'schemaError'));
        return this.note('Command: garbage', BAD_REPLIES.garbage());
      }
      return undefined;
    }
    if (action === 'Create' && r.chance(0.1)) {
      const shapes: FaultShape[] = ['quotaExceeded', 'schemaError', 'exchangeProviderFault'];
      switch (r.int(0, 6)) {
        case 0: return this.note('Create: dropped before', { drop: true });
        case 1: return this.note('Create: fault', faultReply(info, r.pick(shapes)));
        case 2: return this.note('Create: garbage', BAD_REPLIES.garbage());
        case 3: return this.note('Create: wrong RelatesTo', BAD_REPLIES.wrongRelatesTo(info));
        case 4: return this.note('Create: 401', BAD_REPLIES.unauthorized());
        default: return this.note('Create: late', { delayMs: r.int(300, 1800) });
      }
    }
    if (action === 'Receive' && r.chance(0.07)) {
      switch (r.int(0, 4)) {
        case 0: return this.note('Receive: dropped while waiting', { delayMs: r.int(0, 300), drop: true });
        case 1: return this.note('Receive: TimedOut', faultReply(info, 'timedOut'));
        case 2: return this.note('Receive: fault', faultReply(info, r.pick<FaultShape>(['schemaError', 'exchangeProviderFault', 'quotaExceeded'])));
        case 3: return this.note('Receive: 401', BAD_REPLIES.unauthorized());
        default: return this.note('Receive: late', { delayMs: r.int(300, 1800) });
      }
    }
    if (action === 'Send' && r.chance(0.1)) return this.note('Send: dropped', { drop: true });
    if ((action === 'Signal' || action === 'Delete') && r.chance(0.2)) {
      const shell = shellIdOf(info) ?? '';
      const used = this.cleanupFaults.get(shell) ?? 0;
      if (used >= 2) return undefined;
      this.cleanupFaults.set(shell, used + 1);
      switch (r.int(0, 4)) {
        case 0: return this.note(`${action}: dropped`, { drop: true });
        case 1: return this.note(`${action}: late`, { delayMs: 1800 });
        case 2: return this.note(`${action}: 500`, faultReply(info, 'schemaError'));
        case 3: return this.note(`${action}: 401`, BAD_REPLIES.unauthorized());
        default: return this.note(`${action}: garbage`, BAD_REPLIES.garbage());
      }
    }
    return undefined;
  }

  onReply(info: RequestInfo, reply: { status: number; soap: string }): HookDecision {
    const action = actionOf(info);
    const r = this.rng;
    if (action === 'Command') {
      const token = this.tokenOf(info);
      if (token && reply.status === 500 && reply.soap.includes('2150858843')) this.commands.get(token)!.refusedGone++;
      if (reply.status === 200 && r.chance(0.04)) return this.note('Command: dropped after it ran', { drop: true });
    }
    if (action === 'Create' && reply.status === 200) {
      const roll = r.next();
      if (roll < 0.04) return this.note('Create: answered late', { delayMs: r.int(300, 1800) });
      if (roll < 0.08) {
        const how = r.pick<LostReply>(['dropped', 'cut', 'garbage']);
        return this.note(`Create: reply lost (${how})`, LOST_REPLIES[how]());
      }
    }
    if (action === 'Receive' && reply.status === 200 && r.chance(0.06)) {
      switch (r.int(0, 4)) {
        case 0: return this.note('Receive: reply cut', { cut: r.int(0, 400) });
        case 1: return this.note('Receive: truncated XML', BAD_REPLIES.truncatedXml(info));
        case 2: return this.note('Receive: wrong RelatesTo', BAD_REPLIES.wrongRelatesTo(info));
        case 3: return this.note('Receive: oversized', BAD_REPLIES.oversized(info, 600_000));
        default: return this.note('Receive: dropped after', { drop: true });
      }
    }
    return undefined;
  }
}

test(`chaos: ${RUNS} runs with random cancels, deadlines and faults leave 0 shells`, { timeout: 600_000 }, async (t) => {
  const seed = seedFrom('CHAOS_SEED');
  t.diagnostic(`chaos seed ${seed} (replay: CHAOS_SEED=${seed})`);
  process.stderr.write(`chaos seed ${seed}\n`);
  const host = await startTestHost({ user: 'alice', password: PASSWORD, wine: false, pwshPath: null });
  const injector = new Injector(new Prng(seed ^ 0x5bd1e995));
  host.setHooks({ onRequest: (info) => injector.record(info, 'request', injector.onRequest(info)), onReply: (info, reply) => injector.record(info, 'reply', injector.onReply(info, reply), reply.soap) });
  const options: SessionOptions = { url: host.url, credentials: { user: 'alice', password: PASSWORD }, operationTimeout: 2, cleanupTimeoutMs: CLEANUP_MS };
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const problems: string[] = [];
  const started = Date.now();

  async function worker(w: number): Promise<void> {
    const rng = new Prng((seed + w * 0x9e3779b9) >>> 0);
    let session = new WinrmSession(options);
    for (let i = w; i < RUNS; i += WORKERS) {
      const plan = planRun(rng, `chaos-${seed}-${i}`);
      const abort = new AbortController();
      const timer = plan.cancelAfterMs !== undefined ? setTimeout(() => abort.abort(), plan.cancelAfterMs) : undefined;
      const run = session.run('winrm-test', plan.args, {
        reuseShell: plan.reuseShell,
        stdin: plan.stdin,
        signal: abort.signal,
        deadline: plan.deadlineMs !== undefined ? Date.now() + plan.deadlineMs : undefined,
      });
      // Generous bound: the longest injected delay, per-request timeouts and the cleanup budget.
      const bound = (plan.deadlineMs ?? 20_000) + 2 * CLEANUP_MS + 20_000;
      try {
        const got = await notHanging((async () => {
          let text = '';
          let bytes = 0;
          for await (const c of run) { if (c.stream === 'stdout') { text += c.bytes.toString('utf8'); bytes += c.bytes.length; } }
          return { text, bytes, code: await run.exitCode };
        })(), bound, `run ${plan.token} (${plan.args.join(' ')})`);
        count('ok');
        if (!plan.expect) problems.push(`${plan.token}: a hung program ended by itself`);
        else {
          const stdout = typeof plan.expect.stdout === 'number' ? got.bytes : got.text;
          if (stdout !== plan.expect.stdout || got.code !== plan.expect.code) problems.push(`${plan.token}: wrong result ${JSON.stringify({ stdout: got.text.slice(0, 80), bytes: got.bytes, code: got.code })}`);
        }
      } catch (err) {
        if (err instanceof HangError) { problems.push(String(err)); break; }
        if (!(err instanceof WinrmError)) problems.push(`${plan.token}: untyped error ${err instanceof Error ? err.stack : String(err)}`);
        else {
          count(err.kind);
          const line = describeError(err);
          if (line.includes('\n') || !/ Hint: \S/.test(line) || line.includes(PASSWORD)) problems.push(`${plan.token}: bad message ${line}`);
        }
      } finally {
        clearTimeout(timer);
      }
      // Now and then a session ends and a new one starts (close under faults).
      if (rng.chance(0.05)) {
        await notHanging(session.close(), 2 * CLEANUP_MS + 20_000, 'session.close');
        session = new WinrmSession(options);
      }
    }
    await notHanging(session.close(), 2 * CLEANUP_MS + 20_000, 'session.close');
  }

  try {
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    host.setHooks(undefined);
    const summary = `seed ${seed}: ${RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; ` +
      `injected ${[...injector.injected.values()].reduce((a, b) => a + b, 0)} faults ${JSON.stringify(Object.fromEntries([...injector.injected].sort()))}`;
    t.diagnostic(summary);
    process.stderr.write(`${summary}\n`);
    assert.deepEqual(problems, [], `seed ${seed}`);
    // Sessions are closed and close() waits for late Creates, so nothing should still be pending.
    await waitUntil(() => host.openShells() === 0, 2000, 'all shells deleted').catch(() => {
      const leaked = host.shells().map((s) => `${s.id}: ${(injector.history.get(s.id) ?? []).join(' | ')}`);
      assert.fail(`seed ${seed}: ${leaked.length} shells left open:\n${leaked.join('\n')}`);
    });
    for (const [token, c] of injector.commands) {
      assert.ok(c.sent <= 1 + c.refusedGone, `seed ${seed}: ${token} was sent ${c.sent} times, ${c.refusedGone} refused as "shell not found"`);
    }
    // The plan did exercise what it claims to.
    assert.ok((outcomes.get('ok') ?? 0) > RUNS / 10, 'some runs succeeded');
    for (const kind of ['cancelled', 'timeout', 'network', 'protocol', 'fault']) assert.ok((outcomes.get(kind) ?? 0) > 0, `some runs ended as ${kind}`);
    assert.ok([...injector.injected.keys()].some((k) => k.startsWith('Create: reply lost')), 'some Create replies were lost after the host made the shell');
  } finally {
    await host.close();
  }
});
