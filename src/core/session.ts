// A session with one WinRM host: the transports, the auth provider, a reusable
// shell, and commands that always clean up after themselves.
import { createAuthProvider } from './auth';
import type { AuthProvider, AuthScheme, Credentials, EncryptionMode } from './auth/types';
import { CancelledError, ConfigError, ProtocolError, TimeoutError, TlsError, WinrmError, WsmanFaultError, type OrphanRecovery } from './errors';
import { HttpTransport, type TlsOptions, type TraceSink, type TransportOptions } from './transport/http';
import { WsmanClient } from './wsman/client';
import { ACTION, RESOURCE, readMaxEnvelopeSizeKb, writeSignalBody, type RequestHeader, type ShellSpec } from './wsman/messages';
import { createOutcomeUnknown, listShells, newShellName } from './winrs/orphans';
import { RemoteCommand, WinrsShell, type Control, type OutputChunk, type StartOptions } from './winrs/shell';

export interface SessionOptions {
  /** http(s)://host:port/wsman, or a bare host name (http, 5985). */
  url: string;
  auth?: AuthScheme;
  credentials: Credentials;
  encryption?: EncryptionMode;
  tls?: TlsOptions;
  maxEnvelopeSize?: number;
  /** WS-Man OperationTimeout in seconds (how long one Receive may wait for output). */
  operationTimeout?: number;
  connectTimeoutMs?: number;
  trace?: TraceSink;
  /** Name resolution override, passed to the transport. */
  lookup?: TransportOptions['lookup'];
  /** Use this provider instead of building one from `auth` (tests, custom schemes). */
  authProvider?: AuthProvider;
  /** Time a run's cleanup (terminate, delete, their retries) may take, in ms. Default 20 000. */
  cleanupTimeoutMs?: number;
}

export interface RunOptions extends StartOptions {
  /** Shell settings; a shell is created per run unless `reuseShell`. */
  shell?: ShellSpec;
  /** Keep one shell per settings for later runs (deleted by `close`). */
  reuseShell?: boolean;
  /** Bytes for the command's stdin, sent with End once the command has started. */
  stdin?: Buffer;
}

/** A running command: iterate its output; `exitCode` settles when it ends. */
export interface CommandRun extends AsyncIterable<OutputChunk> {
  readonly exitCode: Promise<number>;
  /** Ctrl+C to the remote command. */
  interrupt(): Promise<void>;
  /** Stop the command (terminate signal); the run then ends with CancelledError. */
  cancel(): void;
}

const CLEANUP_MS = 20_000;
/** Tries per cleanup request: the first on the session's control connection, each retry on a new connection. */
const CLEANUP_ATTEMPTS = 3;
/** Least time one cleanup try gets. */
const CLEANUP_ATTEMPT_MIN_MS = 1_500;
/** Most time the search for a lost Create's shell (list, then delete) may take; less when the cleanup budget is smaller. */
const ORPHAN_SEARCH_MS = 10_000;

export class WinrmSession {
  readonly options: SessionOptions;
  private readonly provider: AuthProvider;
  private readonly dataTransport: HttpTransport;
  private controlTransport: HttpTransport | undefined;
  readonly data: WsmanClient;
  private controlClient: WsmanClient | undefined;
  private readonly reusable = new Map<string, Promise<WinrsShell>>();
  private readonly live = new Set<WinrsShell>();
  /** Reused shells that must not be handed out again (gone, or deleted by cleanup). */
  private readonly retired = new WeakSet<WinrsShell>();
  /** Work close() waits for: Creates in flight (their shell must be deleted too) and background cleanup. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: SessionOptions) {
    this.options = options;
    this.provider = options.authProvider ?? createAuthProvider({ scheme: options.auth ?? 'basic', credentials: options.credentials, encryption: options.encryption });
    this.dataTransport = this.newTransport();
    this.data = new WsmanClient(this.dataTransport, { maxEnvelopeSize: options.maxEnvelopeSize, operationTimeout: options.operationTimeout });
  }

  get url(): URL {
    return this.dataTransport.url;
  }

  /** @internal */
  get cleanupMs(): number {
    return this.options.cleanupTimeoutMs ?? CLEANUP_MS;
  }

  private newTransport(): HttpTransport {
    return new HttpTransport({ url: this.options.url, auth: this.provider, tls: this.options.tls, connectTimeoutMs: this.options.connectTimeoutMs, trace: this.options.trace, lookup: this.options.lookup,
      // A host must not send more than the MaxEnvelopeSize we ask for; allow framing overhead, refuse the rest unread.
      maxReplyBytes: 2 * (this.options.maxEnvelopeSize ?? 153_600) + 65_536 });
  }

  /** Signal, Send and Delete go on their own connection (authenticated on first use). */
  get control(): WsmanClient {
    if (!this.controlClient) {
      this.controlTransport = this.newTransport();
      this.controlClient = new WsmanClient(this.controlTransport, { maxEnvelopeSize: this.options.maxEnvelopeSize, operationTimeout: this.options.operationTimeout });
    }
    return this.controlClient;
  }

  /**
   * Creates a shell. Unless `spec.name` is given, the shell gets a unique rsp:Name; when
   * the Create's reply is lost (the host may have made the shell, we cannot know its id),
   * the host's shells are listed once, on a fresh connection, and the one with that name
   * is deleted before the Create's own error is thrown (see reclaimShell).
   */
  async openShell(spec: ShellSpec = {}, ctl: Control = {}): Promise<WinrsShell> {
    const named = spec.name === undefined;
    const full: ShellSpec = { codepage: 65001, noProfile: true, ...spec, name: spec.name ?? newShellName() };
    // Listed as soon as the reply arrives, even when the caller stopped waiting, so close() deletes it.
    const creating = WinrsShell.create(this.data, this.control, full, ctl).then(
      (shell) => {
        this.live.add(shell);
        return shell;
      },
      // A name the caller chose may not be unique: then no shell is deleted by name.
      (err: unknown) => (named && createOutcomeUnknown(err) ? this.afterLostCreate(err, full.name!, full, ctl) : Promise.reject(err)),
    );
    this.track(creating);
    return creating;
  }

  /**
   * A Create whose outcome is unknown: the search for its shell runs (tracked, so close()
   * waits for it) and the caller gets the Create's own error once the search is over, or
   * at its deadline or cancel if that comes first. The search's findings go on the error
   * as `orphanRecovery`; they never replace it.
   */
  private async afterLostCreate(err: unknown, name: string, spec: ShellSpec, ctl: Control): Promise<never> {
    const search = this.reclaimShell(name, spec).then((report) => {
      if (err instanceof WinrmError) err.orphanRecovery = report;
    });
    this.track(search);
    await settledOrStopped(search, ctl);
    throw err;
  }

  /**
   * One bounded pass (ORPHAN_SEARCH_MS at most, within the cleanup budget): list
   * the host's shells on a new, freshly authenticated connection, then delete each one
   * named `name` as cleanup does (retried on fresh connections; one that cannot be deleted
   * stays listed, so close() tries again). The listing itself is not retried.
   */
  private async reclaimShell(name: string, spec: ShellSpec): Promise<OrphanRecovery> {
    const end = Date.now() + Math.min(this.cleanupMs, ORPHAN_SEARCH_MS);
    const report: OrphanRecovery = { name, listed: false, deleted: [], failed: [] };
    const transport = this.newTransport();
    const client = new WsmanClient(transport, { maxEnvelopeSize: this.options.maxEnvelopeSize, operationTimeout: this.options.operationTimeout });
    try {
      let found;
      try {
        found = (await listShells(client, { deadline: end })).filter((s) => s.name === name);
        report.listed = true;
      } catch (err) {
        report.error = err instanceof WinrmError ? err : new ProtocolError(`Listing the host's shells failed: ${err instanceof Error ? err.message : String(err)}`);
        return report;
      }
      for (const listed of found) {
        const shell = WinrsShell.adopt(listed.id, spec, this.data, this.control);
        this.live.add(shell);
        (await this.disposeShell(shell, end, client) ? report.deleted : report.failed).push(listed.id);
      }
      return report;
    } finally {
      await transport.close();
    }
  }

  /** @internal close() waits for this work (bounded by its own timeouts) before it deletes shells. */
  track(work: Promise<unknown>): void {
    const settled: Promise<unknown> = work.then(() => undefined, () => undefined).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }

  /**
   * @internal Sends an idempotent cleanup request (Signal terminate, Delete) until it succeeds,
   * at most CLEANUP_ATTEMPTS times before `end`. The first try uses the control connection;
   * each retry gets a connection of its own (authenticated anew), so a dropped, stuck or
   * out-of-step connection cannot stop the cleanup. A shell or command the host no longer
   * knows counts as done. Returns whether the request succeeded. `first`: the client for
   * the first try instead of the control connection.
   */
  async cleanupCall(header: Pick<RequestHeader, 'action' | 'resourceUri' | 'selectors'>, writeBody: Parameters<WsmanClient['call']>[1], end: number, first?: WsmanClient): Promise<boolean> {
    let spare: HttpTransport | undefined;
    try {
      for (let attempt = 0; attempt < CLEANUP_ATTEMPTS; attempt++) {
        const left = end - Date.now();
        if (left <= 0) return false;
        let client = first ?? this.control;
        if (attempt > 0) {
          await spare?.close();
          spare = this.newTransport();
          client = new WsmanClient(spare, { maxEnvelopeSize: this.options.maxEnvelopeSize, operationTimeout: this.options.operationTimeout });
        }
        const deadline = Math.min(end, Date.now() + Math.max(CLEANUP_ATTEMPT_MIN_MS, left / (CLEANUP_ATTEMPTS - attempt)));
        try {
          await client.call(header, writeBody, { deadline });
          return true;
        } catch (err) {
          if (err instanceof WsmanFaultError && err.isShellGone) return true;
          // Retrying cannot change these.
          if (err instanceof TlsError || err instanceof ConfigError) return false;
        }
      }
      return false;
    } finally {
      await spare?.close();
    }
  }

  /** @internal Stop a command (terminate signal), retried; false when every try failed. */
  terminate(shell: WinrsShell, commandId: string, end: number): Promise<boolean> {
    return this.cleanupCall({ action: ACTION.signal, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: shell.id } }, writeSignalBody(commandId, 'terminate'), end);
  }

  /**
   * @internal Delete a shell, retried, and never hand it out for reuse again. A shell whose
   * every try failed stays listed, so close() tries once more.
   */
  async disposeShell(shell: WinrsShell, end = Date.now() + this.cleanupMs, first?: WsmanClient): Promise<boolean> {
    this.forgetShell(shell, false);
    const ok = await this.cleanupCall({ action: ACTION.delete, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: shell.id } }, undefined, end, first);
    if (ok) this.live.delete(shell);
    return ok;
  }

  async deleteShell(shell: WinrsShell, ctl: Control = {}): Promise<void> {
    await shell.delete(ctl);
    this.live.delete(shell);
  }

  /** The host's MaxEnvelopeSizekb (WS-Transfer Get of winrm/config). */
  async readMaxEnvelopeSizeKb(ctl: Control = {}): Promise<number | undefined> {
    return readMaxEnvelopeSizeKb(await this.data.call({ action: ACTION.get, resourceUri: RESOURCE.config }, undefined, ctl));
  }

  run(command: string, args: readonly string[], options: RunOptions = {}): CommandRun {
    return new CommandRunImpl(this, command, args, options);
  }

  /** @internal a shell for this run: the cached one, or a new one. */
  async acquireShell(options: RunOptions, ctl: Control, fresh = false): Promise<{ shell: WinrsShell; owned: boolean }> {
    if (!options.reuseShell) return { shell: await this.openShell(options.shell, ctl), owned: true };
    const key = JSON.stringify(options.shell ?? {});
    let pending = this.reusable.get(key);
    if (fresh || !pending) {
      pending = this.openShell(options.shell, ctl);
      this.reusable.set(key, pending);
      pending.catch(() => this.reusable.delete(key));
    }
    const shell = await pending;
    if (shell.isDeleted || this.retired.has(shell)) {
      this.reusable.delete(key);
      return this.acquireShell(options, ctl, true);
    }
    return { shell, owned: false };
  }

  /** @internal forget a reused shell that the host lost (`gone`), or that is being deleted. */
  forgetShell(shell: WinrsShell, gone = true): void {
    this.retired.add(shell);
    for (const [key, pending] of this.reusable) pending.then((s) => { if (s === shell && this.reusable.get(key) === pending) this.reusable.delete(key); }, () => undefined);
    if (gone) this.live.delete(shell);
  }

  /** Number of shells this session believes are open on the host. */
  get openShellCount(): number {
    return this.live.size;
  }

  /** Delete every shell this session opened, then close the connections. */
  async close(): Promise<void> {
    // A Create still in flight, or a run's background cleanup, may yet bring a shell to delete.
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    const end = Date.now() + this.cleanupMs;
    await Promise.all([...this.live].map((s) => (s.isDeleted ? this.live.delete(s) : this.disposeShell(s, end))));
    this.reusable.clear();
    await Promise.all([this.dataTransport.close(), this.controlTransport?.close()]);
  }
}

class CommandRunImpl implements CommandRun {
  readonly exitCode: Promise<number>;
  private resolveExit!: (code: number) => void;
  private rejectExit!: (err: unknown) => void;
  private readonly abort = new AbortController();
  private command: RemoteCommand | undefined;
  private iterated = false;
  /** A Command failed without a fault (dropped, garbled, abandoned): it may be running with an id we never learned. */
  private commandUnknown = false;

  constructor(
    private readonly session: WinrmSession,
    private readonly commandLine: string,
    private readonly args: readonly string[],
    private readonly options: RunOptions,
  ) {
    this.exitCode = new Promise<number>((resolve, reject) => {
      this.resolveExit = resolve;
      this.rejectExit = reject;
    });
    // Nobody may await exitCode (e.g. a consumer that only iterates); do not crash the process.
    this.exitCode.catch(() => undefined);
    options.signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
    if (options.signal?.aborted) this.abort.abort();
  }

  cancel(): void {
    this.abort.abort();
  }

  async interrupt(): Promise<void> {
    const command = this.command;
    if (!command || command.done) return;
    const end = Date.now() + CLEANUP_MS;
    try {
      await command.signal('ctrl_c', { deadline: end });
    } catch (err) {
      if (err instanceof WsmanFaultError && err.isShellGone) return;
      if (err instanceof TlsError || err instanceof ConfigError || command.done) throw err;
      // A dropped or stuck control connection must not lose the user's Ctrl+C: retried as
      // cleanup is, on fresh connections (should the lost one have arrived, a second Ctrl+C only interrupts again).
      const ok = await this.session.cleanupCall({ action: ACTION.signal, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: command.shell.id } }, writeSignalBody(command.id, 'ctrl_c'), end);
      if (!ok) throw err;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    if (this.iterated) throw new Error('A command run can be iterated only once.');
    this.iterated = true;
    return this.generate();
  }

  private async *generate(): AsyncGenerator<OutputChunk, void, void> {
    const ctl: Control = { signal: this.abort.signal, deadline: this.options.deadline };
    let shell: WinrsShell | undefined;
    let owned = false;
    let failure: unknown;
    let stdinTask: Promise<void> | undefined;
    try {
      if (this.abort.signal.aborted) throw new CancelledError();
      if (ctl.deadline !== undefined && Date.now() >= ctl.deadline) throw new TimeoutError('The deadline passed before the run started.');
      ({ shell, owned } = await this.acquire(ctl, false));
      try {
        this.command = await this.start(shell, ctl);
      } catch (err) {
        // A reused shell the host lost (restart, idle timeout): the command never ran, so a new shell is safe.
        if (!owned && err instanceof WsmanFaultError && err.isShellGone) {
          // Deleted anyway, in the background: should the host be wrong, the shell must not outlive us.
          this.session.track(this.session.disposeShell(shell));
          ({ shell, owned } = await this.acquire(ctl, true));
          this.command = await this.start(shell, ctl);
        } else {
          throw err;
        }
      }
      const command = this.command;
      if (this.options.stdin) {
        stdinTask = command.send(this.options.stdin, true, ctl);
        // A failed send must end the run, not hang it: abort the receive loop.
        stdinTask.catch((err) => { failure ??= err; this.abort.abort(); });
      }
      yield* command.output(ctl);
      if (stdinTask) await stdinTask;
      this.resolveExit(command.exitCode ?? 0);
    } catch (err) {
      failure ??= err;
      throw this.explain(failure);
    } finally {
      await this.cleanup(shell, owned, failure);
      if (failure !== undefined || !this.command?.done) this.rejectExit(failure === undefined ? new CancelledError() : this.explain(failure));
    }
  }

  /**
   * A Create whose reply is lost leaves a shell we cannot name, so Create is never aborted:
   * a cancel or the deadline only stops the wait, and a shell that arrives later is deleted.
   */
  private acquire(ctl: Control, fresh: boolean): Promise<{ shell: WinrsShell; owned: boolean }> {
    const creating = this.session.acquireShell(this.options, { deadline: ctl.deadline === undefined ? undefined : ctl.deadline + this.session.cleanupMs }, fresh);
    return abandonable(creating, ctl, (late) => {
      // A reused shell stays with the session (close deletes it).
      if (late.owned) this.session.track(this.session.disposeShell(late.shell));
    });
  }

  private async start(shell: WinrsShell, ctl: Control): Promise<RemoteCommand> {
    try {
      return await shell.start(this.commandLine, this.args, { ...this.options, ...ctl });
    } catch (err) {
      if (!(err instanceof WsmanFaultError)) this.commandUnknown = true;
      throw err;
    }
  }

  private explain(err: unknown): unknown {
    if (this.abort.signal.aborted && !(err instanceof TimeoutError) && !(err instanceof CancelledError)) {
      if (this.options.deadline !== undefined && Date.now() >= this.options.deadline) return new TimeoutError('The run exceeded its deadline and was stopped.');
      return err instanceof WsmanFaultError ? err : new CancelledError();
    }
    return err;
  }

  // On every exit path: stop a command that is still running, then delete a shell we own.
  // Both are retried (bounded, on fresh connections); a reused shell goes too when a
  // command of ours may still run in it or the host lost it.
  private async cleanup(shell: WinrsShell | undefined, owned: boolean, failure: unknown): Promise<void> {
    const start = Date.now();
    const end = start + this.session.cleanupMs;
    const command = this.command;
    const shellGone = failure instanceof WsmanFaultError && failure.isShellGone;
    let stopped = true;
    if (shell && command && !command.done && !shellGone) {
      // Deleting the shell stops the command as well, so keep most of the time for that.
      stopped = await this.session.terminate(shell, command.id, owned ? start + (end - start) * 0.4 : end);
    }
    if (shell && (owned || shellGone || this.commandUnknown || !stopped)) {
      await this.session.disposeShell(shell, end);
    }
  }
}

/** Resolves when `work` settles, or earlier when `ctl` is cancelled or its deadline passes. Never rejects. */
function settledOrStopped(work: Promise<unknown>, ctl: Control): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      ctl.signal?.removeEventListener('abort', done);
      resolve();
    };
    work.then(done, done);
    if (ctl.signal?.aborted) return done();
    ctl.signal?.addEventListener('abort', done, { once: true });
    if (ctl.deadline !== undefined) timer = setTimeout(done, Math.max(0, ctl.deadline - Date.now()));
  });
}

/**
 * Waits for `request` until the run is cancelled or its deadline passes, without aborting
 * the request; `late` gets the result if it arrives after the wait ended.
 */
function abandonable<T>(request: Promise<T>, ctl: Control, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let waiting = true;
    const finish = (): boolean => {
      if (!waiting) return false;
      waiting = false;
      clearTimeout(timer);
      ctl.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const stop = (err: Error): void => {
      if (!finish()) return;
      reject(err);
      request.then(late, () => undefined);
    };
    const onAbort = (): void => stop(new CancelledError());
    request.then((v) => { if (finish()) resolve(v); }, (e) => { if (finish()) reject(e); });
    if (ctl.signal?.aborted) return onAbort();
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    if (ctl.deadline !== undefined) timer = setTimeout(() => stop(new TimeoutError('The run exceeded its deadline and was stopped.')), Math.max(0, ctl.deadline - Date.now()));
  });
}
