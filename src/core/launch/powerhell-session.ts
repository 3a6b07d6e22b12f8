// The persistent languages (`powerhell`, `exchange`) at run time: one long-running
// PowerShell loop per (WinRM session, language, profile), started on first use in
// a shell of its own and fed one script at a time over stdin. Output streams to the
// caller up to the loop's prompt marker; variables persist between scripts.
//
// What the connector (powerhell 1.1, PowerHellWinRmLoopImpl) does, and so do we:
// - reads each Receive reply whole: stderr of the reply that carries the marker
//   belongs to the script; stdout after the marker in that reply is dropped;
// - text after the marker is the script's error; a loop that ends during a script
//   with exit code 0 (the script called `exit`) is harmless and restarted for the
//   next script in the same shell; any other exit code is an error and the shell
//   is dropped;
// - a SOAP fault when sending a script to a loop started by an earlier run restarts
//   the loop once (new shell) and sends again.
// Ours on top: after a cancel, a timeout or a transport error the loop's state is
// unknown, so it is terminated and its shell deleted (the next script starts fresh).
//
// Receive is only polled while a script (or the loop's start) is running, as the
// connector does: the session's data connection carries one request at a time, and
// an idle loop's long-polling Receive would hold up every other run on the session.
//
// Use: runScript(session, plan) routes a powerhell/exchange plan here and returns a
// ScriptRun whose `persistent` promise tells how the script ended (exit code mapping
// at PersistentScriptResult). resetPersistentSessions(session, language?) is the
// "Reset Session" command; closePersistentSessions(session) before
// WinrmSession.close() lets the loops exit; persistentLoops(session) lists them.
import { CancelledError, ConfigError, TimeoutError, WsmanFaultError } from '../errors';
import type { ScriptRun, ScriptRunOptions, TextChunk } from '../run-script';
import type { WinrmSession } from '../session';
import { CLIXML_MARKER, createClixmlConverter, createStreamDecoder, type ClixmlConverter, type StreamDecoder } from '../text';
import type { Control, RemoteCommand, StreamName, WinrsShell } from '../winrs/shell';
import { explainLoopFailure, loopExitInput } from './powerhell';
import type { PersistentLaunch } from './types';

/** The part of a LaunchPlan a persistent run needs. */
export interface PersistentPlan {
  command: string;
  arguments: string[];
  skipCmdShell: boolean;
  consoleModeStdin: boolean;
  shell: { codepage: number; noProfile: boolean };
  persistent: PersistentLaunch;
  profile?: string;
}

/** A LaunchPlan (whose `persistent` is optional in its type). */
export type MaybePersistentPlan = Omit<PersistentPlan, 'persistent'> & { persistent?: PersistentLaunch };

function isPersistentPlan(plan: MaybePersistentPlan): plan is PersistentPlan {
  return plan.persistent !== undefined;
}

/**
 * How a persistent run ended. `exitCode` is what ScriptRun.exitCode resolves to:
 * - 'ok': the marker came with no message: 0.
 * - 'error': text after the marker (the first line of the script's first error), the
 *   connector's failure: 1. connectorError is that text.
 * - 'loop-exit': the loop ended during the script. Exit code 0 (the script called
 *   `exit`): 0, not an error, as in the connector; the next script starts a new loop.
 *   Any other code N: N, and the connector reports "Exit code received during command
 *   execution".
 * - 'start-failed': the loop ended before its first prompt (e.g. `exchange` on a host
 *   without the Exchange snap-in): its exit code, or 1 if that was 0.
 */
export interface PersistentScriptResult {
  outcome: 'ok' | 'error' | 'loop-exit' | 'start-failed';
  exitCode: number;
  /** What the connector reports as the failure (its exception message); undefined on success. */
  connectorError?: string;
  /** For the user: connectorError, with an explanation when we recognise the cause. */
  message?: string;
  /** The loop process's exit code, when it ended during this run. */
  loopExitCode?: number;
  /** This run started a new loop (first run, or after `exit`, a reset or a lost shell): earlier variables are gone. */
  newLoop: boolean;
  /** stderr had text; the connector drops it on success (only its trace log sees it). */
  stderrHiddenByConnector: boolean;
}

export interface PersistentScriptRun extends ScriptRun {
  readonly persistent: Promise<PersistentScriptResult>;
}

const CLEANUP_MS = 20_000;
/** How long close() lets the loop exit on its own before the shell is deleted. */
const GRACEFUL_EXIT_MS = 5_000;
/** Text kept per run to recognise a cause (exchange snap-in, missing cmdlet). */
const EXPLAIN_KEEP = 16 * 1024;

interface Loop {
  shell: WinrsShell;
  command: RemoteCommand | undefined;
  ended: boolean;
  exitCode: number | undefined;
  decoders: Record<StreamName, StreamDecoder>;
  clixml: LoopStderr | undefined;
  teardown?: Promise<void>;
}

interface RunState {
  input: Buffer;
  options: ScriptRunOptions;
  abort: AbortController;
  ctl: Control;
  /** The loop this run started or sent to; dropped if the run does not finish cleanly. */
  loop?: Loop;
  stderrSeen: string;
  done: Promise<void>;
}

/** One loop: a queue of scripts for one (session, language, profile). */
export class PowerhellSession {
  readonly session: WinrmSession;
  readonly key: string;
  private readonly spec: PersistentPlan;
  private loop: Loop | undefined;
  /** A shell whose loop ended with `exit 0`: the next loop starts in it (as the connector's does). */
  private idleShell: WinrsShell | undefined;
  private tail: Promise<void> = Promise.resolve();
  private active: RunState | undefined;
  private closed = false;

  constructor(session: WinrmSession, plan: PersistentPlan) {
    this.session = session;
    this.spec = { ...plan, arguments: [...plan.arguments], shell: { ...plan.shell } };
    this.key = loopKey(plan);
  }

  get kind(): 'powerhell' | 'exchange' {
    return this.spec.persistent.kind;
  }

  get profile(): string | undefined {
    return this.spec.profile;
  }

  /** 'running': a loop is up (variables may be kept); 'busy': a script runs now; 'stopped': the next script starts a loop. */
  get state(): 'stopped' | 'running' | 'busy' {
    if (this.active) return 'busy';
    return this.loop?.command && !this.loop.ended ? 'running' : 'stopped';
  }

  /**
   * Queues one script. Nothing happens until the run is iterated (like runScript);
   * scripts run one at a time in the order they are iterated.
   */
  run(plan: MaybePersistentPlan, options: ScriptRunOptions = {}): PersistentScriptRun {
    if (!isPersistentPlan(plan)) throw new ConfigError('This plan is not for a persistent language (powerhell or exchange).');
    if (loopKey(plan) !== this.key) throw new Error('This plan belongs to another PowerShell loop (language, profile or shell differ).');
    let resolveExit!: (code: number) => void;
    let rejectExit!: (err: unknown) => void;
    const exitCode = new Promise<number>((res, rej) => { resolveExit = res; rejectExit = rej; });
    let resolveResult!: (r: PersistentScriptResult) => void;
    let rejectResult!: (err: unknown) => void;
    const persistent = new Promise<PersistentScriptResult>((res, rej) => { resolveResult = res; rejectResult = rej; });
    // Callers may only iterate; unobserved rejections must not crash the process.
    exitCode.catch(() => undefined);
    persistent.catch(() => undefined);
    const abort = new AbortController();
    if (options.signal) {
      if (options.signal.aborted) abort.abort('cancel');
      else options.signal.addEventListener('abort', () => abort.abort('cancel'), { once: true });
    }
    let iterated = false;
    const settle = {
      ok: (r: PersistentScriptResult) => { resolveResult(r); resolveExit(r.exitCode); },
      fail: (err: unknown) => { rejectResult(err); rejectExit(err); },
    };
    return {
      exitCode,
      persistent,
      interrupt: async () => {
        const loop = this.active?.abort === abort ? this.loop : undefined;
        if (loop?.command && !loop.ended) await loop.command.signal('ctrl_c', { deadline: Date.now() + CLEANUP_MS });
      },
      cancel: () => abort.abort('cancel'),
      [Symbol.asyncIterator]: () => {
        if (iterated) throw new Error('A script run can be iterated only once.');
        iterated = true;
        return this.execute(plan.persistent.input, options, abort, settle);
      },
    };
  }

  /**
   * Drops the loop (the "Reset Session" command): a running script is cancelled, the
   * loop's shell deleted. The next script starts a new loop without earlier variables.
   */
  async reset(): Promise<void> {
    const active = this.active;
    if (active) {
      active.abort.abort('reset');
      await active.done;
    }
    await this.dropAll();
  }

  /** Ends the loop (it is asked to exit, then its shell is deleted). Later runs are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const active = this.active;
    if (active) {
      active.abort.abort('closed');
      await active.done;
    }
    const loop = this.loop;
    if (loop?.command && !loop.ended && !loop.teardown) {
      // The connector's disconnect: the exit line, then Receive until the loop has ended.
      const ctl: Control = { deadline: Date.now() + GRACEFUL_EXIT_MS };
      try {
        await loop.command.send(loopExitInput(this.spec.persistent.prompt), false, ctl);
        while (!loop.ended) await this.receiveReply(loop, ctl, undefined);
      } catch {
        // The shell is deleted below whatever happened.
      }
    }
    await this.dropAll();
  }

  private async dropAll(): Promise<void> {
    const loop = this.loop;
    const idle = this.idleShell;
    this.idleShell = undefined;
    await Promise.all([
      loop ? this.dropLoop(loop) : undefined,
      idle ? this.session.disposeShell(idle, Date.now() + CLEANUP_MS).catch(() => undefined) : undefined,
    ]);
  }

  /** Terminates the loop and deletes its shell; safe to call more than once. */
  private dropLoop(loop: Loop): Promise<void> {
    if (this.loop === loop) this.loop = undefined;
    loop.teardown ??= (async () => {
      const ctl: Control = { deadline: Date.now() + CLEANUP_MS };
      if (loop.command && !loop.ended) await loop.command.signal('terminate', ctl).catch(() => undefined);
      // Retried on fresh connections; a shell every try failed for stays listed for close().
      await this.session.disposeShell(loop.shell, ctl.deadline).catch(() => undefined);
    })();
    return loop.teardown;
  }

  /** Waits for the previous script (or is cancelled while waiting); returns the release. */
  private async takeTurn(signal: AbortSignal): Promise<() => void> {
    const previous = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    this.tail = previous.then(() => mine);
    try {
      await untilAborted(previous, signal);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  private async *execute(
    input: Buffer,
    options: ScriptRunOptions,
    abort: AbortController,
    settle: { ok: (r: PersistentScriptResult) => void; fail: (err: unknown) => void },
  ): AsyncGenerator<TextChunk, void, void> {
    let markDone!: () => void;
    const run: RunState = {
      input, options, abort, stderrSeen: '',
      ctl: { signal: abort.signal, deadline: options.deadline },
      done: new Promise<void>((r) => { markDone = r; }),
    };
    let timer: NodeJS.Timeout | undefined;
    if (options.deadline !== undefined) timer = setTimeout(() => abort.abort('deadline'), Math.max(0, options.deadline - Date.now()));
    let release: (() => void) | undefined;
    let finished = false;
    try {
      release = await this.takeTurn(abort.signal);
      if (this.closed) throw new CancelledError('The PowerShell loop was closed.');
      this.active = run;
      let newLoop = false;
      let loop = this.loop;
      if (!loop?.command || loop.ended) {
        newLoop = true;
        const started = yield* this.start(run);
        if (!started.ready) {
          finished = true;
          settle.ok(startFailure(this.kind, started, run.stderrSeen));
          return;
        }
        loop = started.loop;
      }
      run.loop = loop;
      try {
        await loop.command!.send(input, false, run.ctl);
      } catch (err) {
        // The connector: a SOAP fault sending to a loop from an earlier run restarts the loop once.
        if (newLoop || !(err instanceof WsmanFaultError) || abort.signal.aborted) throw err;
        await this.dropLoop(loop);
        newLoop = true;
        const started = yield* this.start(run);
        if (!started.ready) {
          finished = true;
          settle.ok(startFailure(this.kind, started, run.stderrSeen));
          return;
        }
        loop = started.loop;
        await loop.command!.send(input, false, run.ctl);
      }
      const marker = yield* this.receiveScript(loop, run);
      finished = true;
      const result = this.scriptResult(loop, marker, run, newLoop);
      if (loop.ended) {
        if (loop.exitCode === 0) {
          // `exit` in a script: the connector starts the next loop in the same shell.
          if (this.loop === loop) this.loop = undefined;
          this.idleShell = loop.shell;
        } else {
          await this.dropLoop(loop);
        }
      }
      settle.ok(result);
    } catch (err) {
      const e = explain(err, abort.signal, options.deadline);
      settle.fail(e);
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      // Cancelled, timed out, failed or abandoned mid-script: the loop's state is unknown.
      if (!finished && run.loop) await this.dropLoop(run.loop);
      if (!finished) settle.fail(explain(new CancelledError('The script run was abandoned before it ended; the PowerShell loop was reset.'), abort.signal, options.deadline));
      if (this.active === run) this.active = undefined;
      release?.();
      markDone();
    }
  }

  // A Create is not aborted on cancel: the host may already have made the shell,
  // and an aborted reply would leave it unnamed. Only the deadline bounds it.
  private openLoopShell(run: RunState): Promise<WinrsShell> {
    return this.session.openShell({ codepage: this.spec.shell.codepage, noProfile: this.spec.shell.noProfile }, { deadline: run.ctl.deadline });
  }

  /** Starts the loop command and reads to its first prompt; stderr streams to the caller. */
  private async *start(run: RunState): AsyncGenerator<TextChunk, { ready: true; loop: Loop } | { ready: false; exitCode: number; stdout: string }> {
    let shell = this.idleShell;
    this.idleShell = undefined;
    let reused = shell !== undefined && !shell.isDeleted;
    if (!reused) shell = await this.openLoopShell(run);
    const loop: Loop = {
      shell: shell!, command: undefined, ended: false, exitCode: undefined,
      decoders: { stdout: createStreamDecoder(this.spec.shell.codepage), stderr: createStreamDecoder(this.spec.shell.codepage) },
      clixml: run.options.decodeClixml === false ? undefined : new LoopStderr(createClixmlConverter()),
    };
    this.loop = loop;
    run.loop = loop;
    const startOptions = { skipCmdShell: this.spec.skipCmdShell, consoleModeStdin: this.spec.consoleModeStdin, ...run.ctl };
    try {
      loop.command = await loop.shell.start(this.spec.command, this.spec.arguments, startOptions);
    } catch (err) {
      // A kept shell the host lost (idle timeout, restart): nothing ran, a new shell is safe.
      if (!(reused && err instanceof WsmanFaultError && err.isShellGone)) throw err;
      this.session.forgetShell(loop.shell);
      loop.shell = await this.openLoopShell(run);
      reused = false;
      loop.command = await loop.shell.start(this.spec.command, this.spec.arguments, startOptions);
    }
    const scanner = new MarkerScanner(this.spec.persistent.prompt);
    let stdout = '';
    let ready = false;
    while (!ready && !loop.ended) {
      for (const piece of await this.receiveReply(loop, run.ctl, run.options)) {
        if (piece.stream === 'stderr') {
          run.stderrSeen = keep(run.stderrSeen, piece.text);
          yield piece;
        } else if (!ready) {
          // The connector discards what the loop prints before its first prompt (a profile, the snap-in).
          const scanned = scanner.push(piece.text);
          stdout = keep(stdout, scanned.emit);
          if (scanned.message !== undefined) ready = true;
        }
      }
    }
    if (ready) return { ready: true, loop };
    stdout = keep(stdout, scanner.flush());
    await this.dropLoop(loop);
    return { ready: false, exitCode: loop.exitCode ?? 0, stdout };
  }

  /** Streams one script's output up to the marker; returns the text after the marker, or undefined when the loop ended first. */
  private async *receiveScript(loop: Loop, run: RunState): AsyncGenerator<TextChunk, string | undefined> {
    const scanner = new MarkerScanner(this.spec.persistent.prompt);
    let message: string | undefined;
    while (message === undefined && !loop.ended) {
      for (const piece of await this.receiveReply(loop, run.ctl, run.options)) {
        if (piece.stream === 'stderr') {
          run.stderrSeen = keep(run.stderrSeen, piece.text);
          yield piece;
          continue;
        }
        if (message !== undefined) continue; // the connector drops stdout after the marker in the same reply
        const scanned = scanner.push(piece.text);
        if (scanned.emit) yield { stream: 'stdout', text: scanned.emit };
        message = scanned.message;
      }
    }
    if (message === undefined) {
      const tail = scanner.flush();
      if (tail) yield { stream: 'stdout', text: tail };
    }
    return message;
  }

  /** One Receive reply, decoded, in reply order (TimedOut only means "no output yet"). */
  private async receiveReply(loop: Loop, ctl: Control, options: ScriptRunOptions | undefined): Promise<TextChunk[]> {
    const command = loop.command!;
    for (;;) {
      if (ctl.signal?.aborted) throw new CancelledError();
      let reply;
      try {
        reply = await loop.shell.receiveOnce(command.id, ctl);
      } catch (err) {
        if (err instanceof WsmanFaultError && err.isTimedOut) continue;
        throw err;
      }
      const pieces: TextChunk[] = [];
      for (const s of reply.streams) {
        if (s.bytes.length === 0) continue;
        if (s.commandId !== undefined && s.commandId.toUpperCase() !== command.id.toUpperCase()) continue;
        const stream: StreamName = s.name === 'stderr' ? 'stderr' : 'stdout';
        options?.onBytes?.(stream, s.bytes);
        let text = loop.decoders[stream].write(s.bytes);
        if (stream === 'stderr' && loop.clixml) text = loop.clixml.write(text);
        if (text) pieces.push({ stream, text });
      }
      if (reply.done) {
        loop.ended = true;
        loop.exitCode = reply.exitCode ?? 0;
        const out = loop.decoders.stdout.end();
        if (out) pieces.push({ stream: 'stdout', text: out });
        let err = loop.decoders.stderr.end();
        if (loop.clixml) err = loop.clixml.end(err);
        if (err) pieces.push({ stream: 'stderr', text: err });
      }
      return pieces;
    }
  }

  private scriptResult(loop: Loop, marker: string | undefined, run: RunState, newLoop: boolean): PersistentScriptResult {
    const hidden = run.stderrSeen.trim() !== '';
    if (marker !== undefined) {
      const error = marker.trim();
      if (error === '') return { outcome: 'ok', exitCode: 0, newLoop, stderrHiddenByConnector: hidden };
      const explained = explainLoopFailure(this.kind, undefined, error, run.stderrSeen);
      return { outcome: 'error', exitCode: 1, connectorError: error, message: explained ? `${error} (${explained})` : error, newLoop, stderrHiddenByConnector: hidden };
    }
    const code = loop.exitCode ?? 0;
    if (code === 0) return { outcome: 'loop-exit', exitCode: 0, loopExitCode: 0, newLoop, stderrHiddenByConnector: hidden };
    const connectorError = `Exit code received during command execution (exit code ${code})`;
    // The loop had printed its first prompt: pass it so the "before its first prompt" explanation is not chosen.
    const explained = explainLoopFailure(this.kind, code, this.spec.persistent.prompt, run.stderrSeen);
    return {
      outcome: 'loop-exit', exitCode: code, loopExitCode: code, connectorError,
      message: explained ? `${connectorError}. ${explained}` : connectorError, newLoop, stderrHiddenByConnector: false,
    };
  }
}

function startFailure(kind: 'powerhell' | 'exchange', started: { exitCode: number; stdout: string }, stderr: string): PersistentScriptResult {
  const connectorError = `Exit code received before first prompt (exit code ${started.exitCode})`;
  const explained = explainLoopFailure(kind, started.exitCode, started.stdout, stderr);
  return {
    outcome: 'start-failed',
    exitCode: started.exitCode === 0 ? 1 : started.exitCode,
    loopExitCode: started.exitCode,
    connectorError,
    message: explained ?? connectorError,
    newLoop: true,
    stderrHiddenByConnector: false,
  };
}

function explain(err: unknown, signal: AbortSignal, deadline: number | undefined): unknown {
  if (!signal.aborted || err instanceof TimeoutError) return err;
  const reason: unknown = signal.reason;
  if (reason === 'deadline' || (deadline !== undefined && Date.now() >= deadline)) {
    return new TimeoutError('The run exceeded its deadline and was stopped; the PowerShell loop was reset.');
  }
  if (reason === 'reset') return new CancelledError('The PowerShell loop was reset while the script ran.');
  if (reason === 'closed') return new CancelledError('The PowerShell loop was closed while the script ran.');
  return err instanceof CancelledError ? err : new CancelledError();
}

function keep(kept: string, more: string): string {
  return kept.length >= EXPLAIN_KEEP ? kept : (kept + more).slice(0, EXPLAIN_KEEP);
}

function untilAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => { signal.removeEventListener('abort', onAbort); resolve(); });
  });
}

/**
 * PowerShell with redirected stdin writes "#< CLIXML" when it starts but its
 * serialized error records only when it exits; direct stderr writes come in
 * between. The shared converter wants the header right before its <Objs> block
 * (else it shows both raw), so for a loop the lone header line is dropped and put
 * back in front of the block when that comes.
 */
export class LoopStderr {
  private held = '';
  private header = false;
  private atLineStart = true;
  constructor(private readonly converter: ClixmlConverter) {}

  write(text: string): string {
    // A leading '\n' stands for "at a line start" so that one pattern covers both cases.
    let buf = (this.atLineStart ? '\n' : '.') + this.held + text;
    this.held = '';
    buf = buf.replace(/\n#< CLIXML\r?\n/g, () => { this.header = true; return '\n'; });
    if (this.header) buf = buf.replace(/\n<Objs /g, `\n${CLIXML_MARKER}\r\n<Objs `);
    buf = buf.slice(1);
    // Hold a line start that may become either token.
    const lineStart = buf.lastIndexOf('\n') + 1;
    const tail = buf.slice(lineStart);
    const partOf = (token: string) => tail.length < token.length && token.startsWith(tail);
    if ((lineStart > 0 || this.atLineStart) && tail !== '' && (partOf(`${CLIXML_MARKER}\r\n`) || partOf('<Objs '))) {
      this.held = tail;
      buf = buf.slice(0, lineStart);
    }
    if (buf !== '') this.atLineStart = buf.endsWith('\n');
    return this.converter.write(buf);
  }

  /** Flushes what is held, with `text` (the decoder's last characters) first. */
  end(text = ''): string {
    const out = this.write(text);
    const rest = this.held;
    this.held = '';
    return out + this.converter.write(rest) + this.converter.end();
  }
}

/**
 * Finds the marker in streamed stdout. Text that cannot be part of a marker is
 * given back at once; a tail that may be the start of a marker (split across
 * chunks) is held, as is the marker's line until its end arrives.
 */
export class MarkerScanner {
  private held = '';
  private done = false;
  constructor(private readonly prompt: string) {}

  /** `message`: the text after the marker on its line (untrimmed, without the line end), once the line is complete. */
  push(text: string): { emit: string; message?: string } {
    if (this.done) return { emit: '' };
    const buf = this.held + text;
    const at = buf.indexOf(this.prompt);
    if (at >= 0) {
      const eol = buf.indexOf('\n', at + this.prompt.length);
      if (eol < 0) {
        this.held = buf.slice(at);
        return { emit: buf.slice(0, at) };
      }
      this.done = true;
      this.held = '';
      return { emit: buf.slice(0, at), message: buf.slice(at + this.prompt.length, eol).replace(/\r$/, '') };
    }
    let hold = Math.min(this.prompt.length - 1, buf.length);
    while (hold > 0 && !this.prompt.startsWith(buf.slice(buf.length - hold))) hold--;
    this.held = buf.slice(buf.length - hold);
    return { emit: buf.slice(0, buf.length - hold) };
  }

  /** What is held back, when no more text will come. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}

/** Loops are per language, profile and how the loop is started. */
function loopKey(plan: PersistentPlan): string {
  return JSON.stringify([plan.persistent.kind, plan.profile ?? plan.persistent.protocol, plan.shell.codepage, plan.shell.noProfile, plan.command, plan.arguments, plan.skipCmdShell, plan.consoleModeStdin]);
}

// ------------------------------------------------------------- loops per session

const registry = new WeakMap<WinrmSession, Map<string, PowerhellSession>>();

/** The loop a persistent plan runs in on this session (created on first use; it starts with the first script). */
export function persistentLoopFor(session: WinrmSession, plan: MaybePersistentPlan): PowerhellSession {
  if (!isPersistentPlan(plan)) throw new ConfigError('This plan is not for a persistent language (powerhell or exchange).');
  let loops = registry.get(session);
  if (!loops) registry.set(session, (loops = new Map()));
  const key = loopKey(plan);
  let loop = loops.get(key);
  if (!loop) loops.set(key, (loop = new PowerhellSession(session, plan)));
  return loop;
}

/** The loops this session has (running or not), e.g. to enable a "Reset Session" command. */
export function persistentLoops(session: WinrmSession): PowerhellSession[] {
  return [...(registry.get(session)?.values() ?? [])];
}

/**
 * "Reset Session": drops the session's loops (all, or one language's), cancelling a
 * script that runs in them. Returns how many loops were running or busy.
 */
export async function resetPersistentSessions(session: WinrmSession, language?: 'powerhell' | 'exchange'): Promise<number> {
  const loops = persistentLoops(session).filter((l) => language === undefined || l.kind === language);
  const live = loops.filter((l) => l.state !== 'stopped').length;
  await Promise.all(loops.map((l) => l.reset()));
  return live;
}

/** Ends every loop of the session and forgets them; call before WinrmSession.close(). */
export async function closePersistentSessions(session: WinrmSession): Promise<void> {
  const loops = persistentLoops(session);
  registry.delete(session);
  await Promise.all(loops.map((l) => l.close()));
}
