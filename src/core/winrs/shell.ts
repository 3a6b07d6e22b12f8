// The WinRS shell and command life cycle. Output is an async iterable of chunks
// delivered as each Receive reply arrives; nothing is buffered beyond one reply.
import { CancelledError, ProtocolError, WsmanFaultError } from '../errors';
import { ACTION, RESOURCE, type ShellSpec, readCommandId, readReceive, readShellId, shellCreateOptions, writeCommandBody, writeReceiveBody, writeSendBody, writeShellBody, writeSignalBody } from '../wsman/messages';
import type { SignalName } from '../wsman/namespaces';
import type { CallOptions, WsmanClient } from '../wsman/client';

export type StreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  stream: StreamName;
  bytes: Buffer;
}

export interface Control {
  signal?: AbortSignal;
  /** Absolute Date.now() ms. */
  deadline?: number;
}

export interface StartOptions extends Control {
  /** WINRS_SKIP_CMD_SHELL: run the program directly instead of through cmd.exe. */
  skipCmdShell?: boolean;
  /** WINRS_CONSOLEMODE_STDIN. */
  consoleModeStdin?: boolean;
}

const RECEIVE_OPTIONS = { WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'TRUE' };

/**
 * A shell on the host. `data` carries Receive and Send; `control` carries
 * Signal and Delete, so Ctrl+C is not stuck behind a long-polling Receive.
 */
export class WinrsShell {
  readonly id: string;
  readonly spec: ShellSpec;
  private readonly data: WsmanClient;
  private readonly control: WsmanClient;
  private deleted = false;
  private receiveBody: { commandId: string; write: ReturnType<typeof writeReceiveBody> } | undefined;

  private constructor(id: string, spec: ShellSpec, data: WsmanClient, control: WsmanClient) {
    this.id = id;
    this.spec = spec;
    this.data = data;
    this.control = control;
  }

  static async create(data: WsmanClient, control: WsmanClient, spec: ShellSpec, ctl: Control = {}): Promise<WinrsShell> {
    const env = await data.call(
      { action: ACTION.create, resourceUri: RESOURCE.cmdShell, options: shellCreateOptions(spec) },
      writeShellBody(spec),
      ctl,
    );
    return new WinrsShell(readShellId(env), spec, data, control);
  }

  /** A shell this client made but learned of otherwise than by its Create reply (found by name in the host's list). */
  static adopt(id: string, spec: ShellSpec, data: WsmanClient, control: WsmanClient): WinrsShell {
    return new WinrsShell(id, spec, data, control);
  }

  get isDeleted(): boolean {
    return this.deleted;
  }

  private selectors(): Record<string, string> {
    return { ShellId: this.id };
  }

  async start(command: string, args: readonly string[], options: StartOptions = {}): Promise<RemoteCommand> {
    if (this.deleted) throw new ProtocolError('The shell was already deleted.');
    const env = await this.data.call(
      {
        action: ACTION.command,
        resourceUri: RESOURCE.cmdShell,
        selectors: this.selectors(),
        options: {
          WINRS_CONSOLEMODE_STDIN: options.consoleModeStdin === false ? 'FALSE' : 'TRUE',
          WINRS_SKIP_CMD_SHELL: options.skipCmdShell ? 'TRUE' : 'FALSE',
        },
      },
      writeCommandBody(command, args),
      options,
    );
    return new RemoteCommand(this, readCommandId(env));
  }

  /** @internal */
  async receiveOnce(commandId: string, ctl: CallOptions) {
    // The same writer for every Receive of a command lets buildEnvelope reuse its text.
    if (this.receiveBody?.commandId !== commandId) this.receiveBody = { commandId, write: writeReceiveBody(commandId) };
    return readReceive(await this.data.call(
      { action: ACTION.receive, resourceUri: RESOURCE.cmdShell, selectors: this.selectors(), options: RECEIVE_OPTIONS },
      this.receiveBody.write,
      ctl,
    ));
  }

  /** @internal */
  async sendOnce(commandId: string, bytes: Buffer, end: boolean, ctl: Control): Promise<void> {
    await this.control.call({ action: ACTION.send, resourceUri: RESOURCE.cmdShell, selectors: this.selectors() }, writeSendBody(commandId, bytes, end), ctl);
  }

  /** @internal */
  async signalOnce(commandId: string, signal: SignalName, ctl: Control): Promise<void> {
    await this.control.call({ action: ACTION.signal, resourceUri: RESOURCE.cmdShell, selectors: this.selectors() }, writeSignalBody(commandId, signal), ctl);
  }

  /** Largest stdin chunk that fits one Send envelope after base64 growth. */
  get maxSendChunk(): number {
    return Math.max(1024, Math.floor(((this.control.maxEnvelopeSize - 4096) * 3) / 4));
  }

  /** Delete the shell; a shell the host no longer knows counts as deleted. */
  async delete(ctl: Control = {}): Promise<void> {
    if (this.deleted) return;
    try {
      await this.control.call({ action: ACTION.delete, resourceUri: RESOURCE.cmdShell, selectors: this.selectors() }, undefined, ctl);
    } catch (err) {
      if (!(err instanceof WsmanFaultError && err.isShellGone)) throw err;
    }
    this.deleted = true;
  }
}

export class RemoteCommand {
  readonly shell: WinrsShell;
  readonly id: string;
  private exit: number | undefined;
  private finished = false;

  constructor(shell: WinrsShell, id: string) {
    this.shell = shell;
    this.id = id;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The exit code once the output has been received to the end. */
  get exitCode(): number | undefined {
    return this.exit;
  }

  /**
   * Receive until the command is Done. A TimedOut fault only means "no output
   * yet": poll again. Each reply's streams are yielded before the next request.
   */
  async *output(ctl: Control = {}): AsyncGenerator<OutputChunk, number, void> {
    while (!this.finished) {
      if (ctl.signal?.aborted) throw new CancelledError();
      let received;
      try {
        received = await this.shell.receiveOnce(this.id, ctl);
      } catch (err) {
        if (err instanceof WsmanFaultError && err.isTimedOut) continue;
        throw err;
      }
      for (const s of received.streams) {
        if (s.bytes.length === 0) continue;
        if (s.commandId !== undefined && s.commandId.toUpperCase() !== this.id.toUpperCase()) continue;
        yield { stream: s.name === 'stderr' ? 'stderr' : 'stdout', bytes: s.bytes };
      }
      if (received.done) {
        this.finished = true;
        this.exit = received.exitCode ?? 0;
      }
    }
    return this.exit!;
  }

  /** Send stdin, split to fit the host's envelope size; `end` closes stdin after the last piece. */
  async send(data: Buffer, end: boolean, ctl: Control = {}): Promise<void> {
    const max = this.shell.maxSendChunk;
    if (data.length === 0) {
      if (end) await this.shell.sendOnce(this.id, data, true, ctl);
      return;
    }
    for (let offset = 0; offset < data.length; offset += max) {
      const piece = data.subarray(offset, offset + max);
      await this.shell.sendOnce(this.id, piece, end && offset + max >= data.length, ctl);
    }
  }

  async signal(signal: SignalName, ctl: Control = {}): Promise<void> {
    await this.shell.signalOnce(this.id, signal, ctl);
  }
}
