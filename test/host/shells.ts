// Shells and commands: processes, their output queues, Receive long-polls, signals,
// quotas and idle timeouts.
import { spawn, ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Transcoder } from './codepage';
import type { LaunchPlan } from './launch';
import {
  FAULTS, WsmanFault, ShellView, commandStateElement, envelope, streamElement, streamEndElement, ACTION,
} from './wsman';

/** Windows' exit status for a process ended by Ctrl+C (STATUS_CONTROL_C_EXIT, 0xC000013A). */
export const CTRL_C_EXIT = 0xc000013a;

export interface ShellSettings {
  /** rsp:Name from the Create (listed by Enumerate), when the client gave one. */
  name?: string;
  owner: string;
  clientIp: string;
  environment: [string, string][];
  workingDirectory: string | undefined;
  idleTimeoutMs: number;
  codePage: number;
  charset: string;
  noProfile: boolean;
}

export interface ManagerSettings {
  maxShellsPerUser: number;
  /** Pause a child's pipes when this many output bytes wait for Receive. */
  outputBufferBytes: number;
  /** After output arrives, wait this long for more before answering a Receive. */
  coalesceMs: number;
  /** How long to wait for a child's pipes to close after it exited (grandchildren may hold them). */
  pipeGraceMs: number;
  log(line: string): void;
}

interface Chunk { stream: 'stdout' | 'stderr'; data: Buffer }

export class Command {
  readonly id: string;
  child: ChildProcess | undefined;
  pid: number | undefined;
  private queue: Chunk[] = [];
  queuedBytes = 0;
  /** Highest queuedBytes seen (tests check backpressure with it). */
  peakQueuedBytes = 0;
  private ended = { stdout: false, stderr: false };
  private exited = false;
  exitCode: number | undefined;
  /** True once the process exited and its pipes are drained. */
  done = false;
  private paused = false;
  private waiters = new Set<() => void>();
  private stdinEnded = false;
  private readonly out: { stdout: Transcoder; stderr: Transcoder };
  private readonly stdinCoder: Transcoder;
  readonly startedAt = Date.now();

  constructor(readonly shell: Shell, private readonly mgr: ShellManager, readonly description: string, charset: string, id?: string) {
    this.id = id ?? randomUUID().toUpperCase();
    this.out = { stdout: new Transcoder(charset, shell.settings.charset), stderr: new Transcoder(charset, shell.settings.charset) };
    this.stdinCoder = new Transcoder(shell.settings.charset, charset);
  }

  /** Starts the planned program (or records a built-in answer). */
  start(plan: LaunchPlan, env: Record<string, string>, cwd: string): void {
    if (plan.kind === 'builtin') {
      if (plan.stdout) this.push('stdout', Buffer.from(plan.stdout, 'utf8'));
      if (plan.stderr) this.push('stderr', Buffer.from(plan.stderr, 'utf8'));
      this.ended = { stdout: true, stderr: true };
      this.onExit(plan.exitCode, null);
      return;
    }
    const child = spawn(plan.file, plan.args, {
      cwd,
      env: { ...env, ...plan.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so signals and kills reach its children too.
      detached: true,
    });
    this.child = child;
    this.pid = child.pid;
    child.stdin!.on('error', () => { /* the child closed stdin early: Windows drops the input too */ });
    for (const name of ['stdout', 'stderr'] as const) {
      const s = child[name]!;
      s.on('data', (d: Buffer) => this.push(name, d));
      s.on('end', () => this.onStreamEnd(name));
      s.on('error', () => this.onStreamEnd(name));
    }
    child.on('error', (e) => {
      this.mgr.settings.log(`command ${this.id}: cannot start ${plan.file}: ${e.message}`);
      this.push('stderr', Buffer.from(`WinRM test host: cannot start ${plan.file}: ${e.message}\r\n`));
      this.ended = { stdout: true, stderr: true };
      this.onExit(1, null);
    });
    child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  private push(stream: 'stdout' | 'stderr', raw: Buffer): void {
    const data = this.out[stream].push(raw);
    if (data.length === 0) return;
    this.queue.push({ stream, data });
    this.queuedBytes += data.length;
    if (this.queuedBytes > this.peakQueuedBytes) this.peakQueuedBytes = this.queuedBytes;
    if (!this.paused && this.queuedBytes >= this.mgr.settings.outputBufferBytes && this.child) {
      // Backpressure: stop reading; the child blocks once the pipe buffer is full.
      this.paused = true;
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
    this.wake();
  }

  private onStreamEnd(stream: 'stdout' | 'stderr'): void {
    if (this.ended[stream]) return;
    const tail = this.out[stream].flush();
    if (tail.length) { this.queue.push({ stream, data: tail }); this.queuedBytes += tail.length; }
    this.ended[stream] = true;
    this.checkDone();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCode = code !== null ? code : signal === 'SIGINT' ? CTRL_C_EXIT : 1;
    if (!this.ended.stdout || !this.ended.stderr) {
      // Grandchildren (wineserver, background jobs) can keep the pipes open: what the
      // program itself wrote is in the pipe already; give it a moment, then stop reading.
      const grace = () => {
        if (this.done) return;
        if (this.paused) { setTimeout(grace, this.mgr.settings.pipeGraceMs).unref(); return; }
        for (const s of ['stdout', 'stderr'] as const) if (!this.ended[s]) { this.child?.[s]?.destroy(); this.onStreamEnd(s); }
      };
      setTimeout(grace, this.mgr.settings.pipeGraceMs).unref();
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (!this.done && this.exited && this.ended.stdout && this.ended.stderr) {
      this.done = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Feeds stdin; `end` closes it after this data. */
  async send(data: Buffer, end: boolean): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.stdinEnded || stdin.destroyed) return;
    const converted = this.stdinCoder.push(data);
    const tail = end ? this.stdinCoder.flush() : Buffer.alloc(0);
    const payload = tail.length ? Buffer.concat([converted, tail]) : converted;
    if (payload.length) {
      const flushed = stdin.write(payload);
      if (!flushed) await new Promise<void>((r) => { const t = setTimeout(r, 5000); stdin.once('drain', () => { clearTimeout(t); r(); }); });
    }
    if (end) { this.stdinEnded = true; stdin.end(); }
  }

  /** Sends a POSIX signal to the command's process group. */
  signal(sig: NodeJS.Signals): void {
    if (!this.pid || this.exited) return;
    try { process.kill(-this.pid, sig); } catch { /* already gone */ }
    try { process.kill(this.pid, sig); } catch { /* already gone */ }
  }

  /** Ends the process group for good (terminate signal, shell Delete, idle timeout, host close). */
  kill(): void {
    if (this.pid) {
      try { process.kill(-this.pid, 'SIGKILL'); } catch { /* gone */ }
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    this.child?.stdin?.destroy();
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    this.wake();
  }

  /**
   * A Receive: waits up to `timeoutMs` for output (or the end), then answers with as
   * much as fits in `maxEnvelope` octets. Throws the TimedOut fault when nothing came.
   */
  async receive(streams: string[], relatesTo: string, maxEnvelope: number, timeoutMs: number, cancelled: AbortSignal): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const wanted = new Set(streams);
    const hasOutput = () => this.queue.some((c) => wanted.has(c.stream));
    while (!hasOutput() && !this.done) {
      if (this.removed) throw new WsmanFault(FAULTS.unknownCommand());
      const left = deadline - Date.now();
      if (left <= 0) throw new WsmanFault(FAULTS.timedOut());
      if (cancelled.aborted) throw new Error('client went away');
      await this.waitForChange(left, cancelled);
    }
    if (!this.done && this.mgr.settings.coalesceMs > 0) {
      // Gather what follows closely (and the end, for short commands), as Windows does.
      const until = Math.min(deadline, Date.now() + this.mgr.settings.coalesceMs);
      while (!this.done && this.queuedBytes < maxEnvelope && Date.now() < until && !cancelled.aborted) {
        await this.waitForChange(until - Date.now(), cancelled);
      }
    }
    if (this.removed) throw new WsmanFault(FAULTS.unknownCommand());
    return this.buildReceiveResponse(streams, relatesTo, maxEnvelope);
  }

  removed = false;

  private waitForChange(ms: number, cancelled: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); this.waiters.delete(done); cancelled.removeEventListener('abort', done); resolve(); };
      const t = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      cancelled.addEventListener('abort', done);
    });
  }

  private buildReceiveResponse(streams: string[], relatesTo: string, maxEnvelope: number): string {
    const id = this.id;
    const wrap = (inner: string) => envelope('receive', `${ACTION.receive}Response`, relatesTo, `<rsp:ReceiveResponse>${inner}</rsp:ReceiveResponse>`);
    // Room for the envelope, the end markers and the longest CommandState.
    const fixed =
      Buffer.byteLength(wrap('')) +
      streams.reduce((n, s) => n + Buffer.byteLength(streamEndElement(s, id)), 0) +
      Buffer.byteLength(commandStateElement(id, 4294967295));
    let budget = maxEnvelope - fixed;
    const parts: string[] = [];
    const wanted = new Set(streams);
    for (let i = 0; i < this.queue.length && budget > 0; ) {
      const c = this.queue[i];
      if (!wanted.has(c.stream)) { i++; continue; }
      const overhead = Buffer.byteLength(streamElement(c.stream, id, Buffer.alloc(0)));
      const room = Math.floor((budget - overhead) / 4) * 3; // base64: 4 characters per 3 bytes
      if (room <= 0) break;
      if (c.data.length <= room) {
        parts.push(streamElement(c.stream, id, c.data));
        budget -= overhead + 4 * Math.ceil(c.data.length / 3);
        this.queue.splice(i, 1);
        this.queuedBytes -= c.data.length;
      } else {
        parts.push(streamElement(c.stream, id, c.data.subarray(0, room)));
        c.data = c.data.subarray(room);
        this.queuedBytes -= room;
        budget = 0;
      }
    }
    if (this.paused && this.queuedBytes <= this.mgr.settings.outputBufferBytes / 2 && this.child) {
      this.paused = false;
      this.child.stdout?.resume();
      this.child.stderr?.resume();
    }
    const finished = this.done && !this.queue.some((c) => wanted.has(c.stream));
    if (finished) {
      for (const s of streams) parts.push(streamEndElement(s, id));
      parts.push(commandStateElement(id, this.exitCode ?? 0));
    } else {
      parts.push(commandStateElement(id, undefined));
    }
    return wrap(parts.join(''));
  }

  info(): CommandInfo {
    return { id: this.id, pid: this.pid, description: this.description, done: this.done, exitCode: this.exitCode, bufferedBytes: this.queuedBytes, peakBufferedBytes: this.peakQueuedBytes };
  }
}

export interface CommandInfo {
  id: string;
  pid: number | undefined;
  description: string;
  done: boolean;
  exitCode: number | undefined;
  bufferedBytes: number;
  peakBufferedBytes: number;
}

export interface ShellInfo {
  id: string;
  name: string | undefined;
  owner: string;
  clientIp: string;
  codePage: number;
  workingDirectory: string | undefined;
  idleTimeoutMs: number;
  commands: CommandInfo[];
}

export class Shell implements ShellView {
  readonly id = randomUUID().toUpperCase();
  readonly commands = new Map<string, Command>();
  readonly createdAt = Date.now();
  lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly settings: ShellSettings, private readonly mgr: ShellManager) {
    this.touch();
  }

  get name() { return this.settings.name; }
  get owner() { return this.settings.owner; }
  get clientIp() { return this.settings.clientIp; }
  get environment() { return this.settings.environment; }
  get workingDirectory() { return this.settings.workingDirectory; }
  get idleTimeoutMs() { return this.settings.idleTimeoutMs; }

  /** Any request naming the shell restarts its idle countdown. */
  touch(): void {
    this.lastActivity = Date.now();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.mgr.settings.log(`shell ${this.id}: idle for ${this.settings.idleTimeoutMs} ms, closing it`);
      this.mgr.delete(this.id);
    }, this.settings.idleTimeoutMs);
    this.idleTimer.unref();
  }

  command(id: string): Command {
    const c = this.commands.get(id.toUpperCase()) ?? this.commands.get(id);
    if (!c) throw new WsmanFault(FAULTS.unknownCommand());
    return c;
  }

  dispose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const c of this.commands.values()) { c.removed = true; c.kill(); }
    this.commands.clear();
  }

  info(): ShellInfo {
    return {
      id: this.id, name: this.name, owner: this.owner, clientIp: this.clientIp, codePage: this.settings.codePage,
      workingDirectory: this.workingDirectory, idleTimeoutMs: this.idleTimeoutMs,
      commands: [...this.commands.values()].map((c) => c.info()),
    };
  }
}

export class ShellManager {
  readonly shells = new Map<string, Shell>();

  constructor(readonly settings: ManagerSettings) {}

  create(settings: ShellSettings): Shell {
    const mine = [...this.shells.values()].filter((s) => s.owner.toLowerCase() === settings.owner.toLowerCase()).length;
    if (mine >= this.settings.maxShellsPerUser) throw new WsmanFault(FAULTS.shellQuota(this.settings.maxShellsPerUser));
    const shell = new Shell(settings, this);
    this.shells.set(shell.id, shell);
    return shell;
  }

  get(id: string | undefined): Shell {
    const shell = id ? this.shells.get(id.toUpperCase()) ?? this.shells.get(id) : undefined;
    if (!shell) throw new WsmanFault(FAULTS.unknownShell(id ?? ''));
    shell.touch();
    return shell;
  }

  delete(id: string): boolean {
    const shell = this.shells.get(id);
    if (!shell) return false;
    this.shells.delete(id);
    shell.dispose();
    return true;
  }

  closeAll(): void {
    for (const id of [...this.shells.keys()]) this.delete(id);
  }
}
