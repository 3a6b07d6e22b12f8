// A session with one WinRM host: the transports, the auth provider, a reusable
// shell, and commands that always clean up after themselves.
import { createAuthProvider } from './auth';
import type { AuthProvider, AuthScheme, Credentials, EncryptionMode } from './auth/types';
import { CancelledError, TimeoutError, WsmanFaultError } from './errors';
import { HttpTransport, type TlsOptions, type TraceSink, type TransportOptions } from './transport/http';
import { WsmanClient } from './wsman/client';
import { ACTION, RESOURCE, readMaxEnvelopeSizeKb, type ShellSpec } from './wsman/messages';
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

export class WinrmSession {
  readonly options: SessionOptions;
  private readonly provider: AuthProvider;
  private readonly dataTransport: HttpTransport;
  private controlTransport: HttpTransport | undefined;
  readonly data: WsmanClient;
  private controlClient: WsmanClient | undefined;
  private readonly reusable = new Map<string, Promise<WinrsShell>>();
  private readonly live = new Set<WinrsShell>();

  constructor(options: SessionOptions) {
    this.options = options;
    this.provider = options.authProvider ?? createAuthProvider({ scheme: options.auth ?? 'basic', credentials: options.credentials, encryption: options.encryption });
    this.dataTransport = this.newTransport();
    this.data = new WsmanClient(this.dataTransport, { maxEnvelopeSize: options.maxEnvelopeSize, operationTimeout: options.operationTimeout });
  }

  get url(): URL {
    return this.dataTransport.url;
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

  async openShell(spec: ShellSpec = {}, ctl: Control = {}): Promise<WinrsShell> {
    const shell = await WinrsShell.create(this.data, this.control, { codepage: 65001, noProfile: true, ...spec }, ctl);
    this.live.add(shell);
    return shell;
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
    if (shell.isDeleted) {
      this.reusable.delete(key);
      return this.acquireShell(options, ctl, true);
    }
    return { shell, owned: false };
  }

  /** @internal forget a reused shell that the host lost. */
  forgetShell(shell: WinrsShell): void {
    for (const [key, pending] of this.reusable) pending.then((s) => { if (s === shell) this.reusable.delete(key); }, () => undefined);
    this.live.delete(shell);
  }

  /** Number of shells this session believes are open on the host. */
  get openShellCount(): number {
    return this.live.size;
  }

  /** Delete every shell this session opened, then close the connections. */
  async close(): Promise<void> {
    const deadline = Date.now() + CLEANUP_MS;
    await Promise.all([...this.live].map((s) => this.deleteShell(s, { deadline }).catch(() => undefined)));
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
    if (this.command && !this.command.done) await this.command.signal('ctrl_c', { deadline: Date.now() + CLEANUP_MS });
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
      ({ shell, owned } = await this.session.acquireShell(this.options, ctl));
      try {
        this.command = await shell.start(this.commandLine, this.args, { ...this.options, ...ctl });
      } catch (err) {
        // A reused shell the host lost (restart, idle timeout): the command never ran, so a new shell is safe.
        if (!owned && err instanceof WsmanFaultError && err.isShellGone) {
          this.session.forgetShell(shell);
          ({ shell, owned } = await this.session.acquireShell(this.options, ctl, true));
          this.command = await shell.start(this.commandLine, this.args, { ...this.options, ...ctl });
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

  private explain(err: unknown): unknown {
    if (this.abort.signal.aborted && !(err instanceof TimeoutError) && !(err instanceof CancelledError)) {
      if (this.options.deadline !== undefined && Date.now() >= this.options.deadline) return new TimeoutError('The run exceeded its deadline and was stopped.');
      return err instanceof WsmanFaultError ? err : new CancelledError();
    }
    return err;
  }

  // On every exit path: stop a command that is still running, then delete a shell we own.
  private async cleanup(shell: WinrsShell | undefined, owned: boolean, failure: unknown): Promise<void> {
    const ctl: Control = { deadline: Date.now() + CLEANUP_MS };
    const command = this.command;
    const shellGone = failure instanceof WsmanFaultError && failure.isShellGone;
    if (command && !command.done && !shellGone) {
      await command.signal('terminate', ctl).catch(() => undefined);
    }
    if (shell && (owned || shellGone)) {
      await this.session.deleteShell(shell, ctl).catch(() => undefined);
      if (shellGone) this.session.forgetShell(shell);
    }
  }
}
