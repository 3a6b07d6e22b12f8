// Drives the gss-ntlmssp sidecar (acceptor.py) from Node: one Python process,
// many NTLM contexts, async step / wrap / unwrap per context id.
// The wire protocol (a JSON header line, then the raw bytes it lists) is described in
// acceptor.py; `encodeFrame` and `FrameReader` are its Node half.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writevSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRoot } from '../../support/peers';

export const DEBIAN_PYTHON = '/usr/bin/python3';

export interface NtlmUser {
  domain: string;
  user: string;
  password: string;
}

export interface SidecarOptions {
  users: NtlmUser[];
  computerName?: string;
  domainName?: string;
}

export interface StepResult {
  token?: Buffer;
  complete: boolean;
  /** The authenticated user as gss-ntlmssp names it (`DOMAIN\user`) once complete. */
  user?: string;
}

/** A failure reported by gss-ntlmssp (bad password, bad MIC, bad signature, ...). */
export class GssError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'GssError';
  }
}

/** True when Debian's python3 can import gssapi and gss-ntlmssp is installed. */
export function sidecarAvailable(): boolean {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import gssapi, os, sys; sys.exit(0 if os.path.exists("/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so") or os.path.exists("/usr/lib/aarch64-linux-gnu/gssntlmssp/gssntlmssp.so") else 1)'], { stdio: 'ignore' });
  return r.status === 0;
}

export const SIDECAR_HOW_TO_GET = 'apt-get install -y gss-ntlmssp python3-gssapi';

type Message = Record<string, unknown>;

/**
 * A message as a frame: the header line (its Buffer values listed in `bin` with their
 * lengths), then those Buffers themselves, uncopied.
 */
export function encodeFrame(message: Message): Buffer[] {
  const header: Message = {};
  const bin: Record<string, number> = {};
  const blobs: Buffer[] = [];
  for (const [k, v] of Object.entries(message)) {
    if (Buffer.isBuffer(v)) {
      bin[k] = v.length;
      blobs.push(v);
    } else if (v !== undefined) {
      header[k] = v;
    }
  }
  if (blobs.length) header.bin = bin;
  return [Buffer.from(`${JSON.stringify(header)}\n`), ...blobs];
}

/**
 * Reassembles frames from chunks as they come (stream `data` events, or `readSync` into
 * one reused buffer: nothing here keeps a reference to a chunk). Each blob is copied
 * once, into a Buffer of its announced size, and becomes the message's value by its name.
 */
export class FrameReader {
  private head: Buffer[] = [];
  private frame?: { message: Message; fields: [string, number][]; index: number; blob?: Buffer; filled: number };

  constructor(private readonly onFrame: (message: Message) => void) {}

  push(chunk: Buffer): void {
    let p = 0;
    while (p < chunk.length) {
      if (!this.frame) {
        const nl = chunk.indexOf(0x0a, p);
        if (nl < 0) {
          this.head.push(Buffer.from(chunk.subarray(p)));
          return;
        }
        const line = this.head.length ? Buffer.concat([...this.head, chunk.subarray(p, nl)]) : chunk.subarray(p, nl);
        this.head = [];
        p = nl + 1;
        const message = JSON.parse(line.toString('utf8')) as Message;
        const bin = (message.bin ?? {}) as Record<string, number>;
        delete message.bin;
        this.frame = { message, fields: Object.entries(bin), index: 0, filled: 0 };
      }
      const f = this.frame;
      while (f.index < f.fields.length) {
        const [name, size] = f.fields[f.index];
        f.blob ??= Buffer.allocUnsafe(size);
        const n = Math.min(size - f.filled, chunk.length - p);
        chunk.copy(f.blob, f.filled, p, p + n);
        f.filled += n;
        p += n;
        if (f.filled < size) return;
        f.message[name] = f.blob;
        f.blob = undefined;
        f.filled = 0;
        f.index++;
      }
      this.frame = undefined;
      this.onFrame(f.message);
    }
  }
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

export class NtlmSidecar {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly dir: string;
  private stderr = '';
  private exited?: Error;
  private readonly fifos: { request: string; answer: string } | undefined;
  private sync?: { request: number; answer: number; reader: FrameReader; chunk: Buffer; answers: Message[]; broken?: Error };

  constructor(options: SidecarOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'ntlm-sidecar-'));
    const usersFile = join(this.dir, 'users');
    writeFileSync(usersFile, options.users.map((u) => `${u.domain}:${u.user}:${u.password}\n`).join(''), { mode: 0o600 });
    // Named pipes for the blocking channel (see wrapSync).
    const request = join(this.dir, 'sync-request');
    const answer = join(this.dir, 'sync-answer');
    this.fifos = spawnSync('mkfifo', ['-m', '600', request, answer]).status === 0 ? { request, answer } : undefined;
    this.proc = spawn(DEBIAN_PYTHON, [join(findRoot(), 'test', 'host', 'ntlm', 'acceptor.py')], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NTLM_USER_FILE: usersFile,
        NETBIOS_COMPUTER_NAME: options.computerName ?? 'WINHOST',
        NETBIOS_DOMAIN_NAME: options.domainName ?? 'LAB',
        ...(this.fifos ? { NTLM_SYNC_FIFOS: `${this.fifos.request}:${this.fifos.answer}` } : {}),
        // glibc would give the freed 155 KB buffers of each seal back to the system and fault
        // them in again (80 page faults per seal, gss_wrap 0.49 -> 0.39 ms without that).
        GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=4194304',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    const reader = new FrameReader((msg) => this.onAnswer(msg));
    this.proc.stdout.on('data', (d: Buffer) => {
      try {
        reader.push(d);
      } catch (e) {
        // A frame we cannot read leaves no way to find the next one.
        this.proc.kill();
        this.exited ??= new Error(`NTLM sidecar sent an unreadable frame: ${(e as Error).message}`);
      }
    });
    this.proc.on('exit', (code, sig) => {
      this.exited ??= new Error(`NTLM sidecar exited (${code ?? sig}): ${this.stderr.trim()}`);
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
      rmSync(this.dir, { recursive: true, force: true });
    });
    this.proc.on('error', (e) => {
      this.exited = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  private onAnswer(msg: Message): void {
    const p = this.pending.get(msg.id as number);
    if (!p) return;
    this.pending.delete(msg.id as number);
    if (typeof msg.error === 'string') p.reject(new GssError(msg.error, String(msg.kind ?? 'Error')));
    else p.resolve(msg);
  }

  /** Sends one request (Buffer arguments travel as raw blobs) and resolves with its answer. */
  private call(op: string, args: Message = {}): Promise<Message> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const pieces = encodeFrame({ id, op, ...args });
      this.proc.stdin.cork();
      for (const piece of pieces) this.proc.stdin.write(piece);
      this.proc.stdin.uncork();
    });
  }

  /** Resolves once the sidecar answers (gssapi imported, acceptor credentials loaded). */
  async ready(): Promise<void> {
    await this.call('ping');
  }

  /** A new acceptor context; `channelBindings` is the application data (`tls-server-end-point:` + hash) to require. */
  async newContext(channelBindings?: Buffer): Promise<string> {
    const r = await this.call('new', { cbt: channelBindings });
    return r.ctx as string;
  }

  async step(ctx: string, token: Buffer): Promise<StepResult> {
    const r = await this.call('step', { ctx, token });
    return {
      token: Buffer.isBuffer(r.token) ? r.token : undefined,
      complete: r.complete === true,
      user: typeof r.user === 'string' ? r.user : undefined,
    };
  }

  /** Seals `data`: 16-byte signature then the sealed bytes. */
  async wrap(ctx: string, data: Buffer): Promise<Buffer> {
    return blob(await this.call('wrap', { ctx, data }), 'token');
  }

  /** Verifies and unseals a token (signature + sealed bytes); rejects with GssError on tampering. */
  async unwrap(ctx: string, token: Buffer): Promise<Buffer> {
    return blob(await this.call('unwrap', { ctx, token }), 'data');
  }

  // Added for the CredSSP acceptor's SPNEGO layer: mechListMIC and the RC4 restart after it (MS-SPNG).
  /** GSS_GetMIC: the 16-byte signature over `data`. */
  async mic(ctx: string, data: Buffer): Promise<Buffer> {
    return blob(await this.call('mic', { ctx, data }), 'token');
  }

  /** GSS_VerifyMIC; rejects with GssError when the signature does not match. */
  async verifyMic(ctx: string, data: Buffer, mic: Buffer): Promise<void> {
    await this.call('verify_mic', { ctx, data, mic });
  }

  /** Restarts one direction's RC4 state (sequence numbers carry on). */
  async resetCrypto(ctx: string, direction: 'send' | 'recv'): Promise<void> {
    await this.call('reset_crypto', { ctx, direction });
  }

  /**
   * `wrap` that blocks until the sidecar answers, over the named-pipe channel: for
   * callers that must answer synchronously (the test host's Acceptor.wrap). Call
   * `ready()` first, so the sidecar is known to be up before we block on it.
   */
  wrapSync(ctx: string, data: Buffer): Buffer {
    return blob(this.callSync('wrap', { ctx, data }), 'token');
  }

  /** `unwrap` over the blocking channel (no event-loop turn per request). */
  unwrapSync(ctx: string, token: Buffer): Buffer {
    return blob(this.callSync('unwrap', { ctx, token }), 'data');
  }

  private callSync(op: string, args: Message): Message {
    if (this.exited) throw this.exited;
    if (!this.fifos) throw new Error('mkfifo is not available: no synchronous channel to the NTLM sidecar');
    if (!this.sync) {
      // Open order matches the sidecar's thread (request for reading, then answer for writing).
      const request = openSync(this.fifos.request, 'w');
      const answer = openSync(this.fifos.answer, 'r');
      const answers: Message[] = [];
      // Answers are read into one reused buffer (the size of the enlarged pipe); the reader copies each blob out once.
      this.sync = { request, answer, answers, reader: new FrameReader((m) => answers.push(m)), chunk: Buffer.allocUnsafe(1 << 20) };
    }
    const sync = this.sync;
    if (sync.broken) throw sync.broken;
    const id = this.nextId++;
    const pieces = encodeFrame({ id, op, ...args });
    // One writev for the header and the payload; a blocking FIFO may still take it in parts.
    while (pieces.length) {
      let n = writevSync(sync.request, pieces);
      while (pieces.length && n >= pieces[0].length) n -= pieces.shift()!.length;
      if (n) pieces[0] = pieces[0].subarray(n);
    }
    for (;;) {
      const msg = sync.answers.shift();
      if (msg) {
        if (msg.id !== id) continue;
        if (typeof msg.error === 'string') throw new GssError(msg.error, String(msg.kind ?? 'Error'));
        return msg;
      }
      const n = readSync(sync.answer, sync.chunk, 0, sync.chunk.length, null);
      if (n === 0) throw (sync.broken = this.exited ?? new Error('NTLM sidecar closed its synchronous channel'));
      try {
        sync.reader.push(sync.chunk.subarray(0, n));
      } catch (e) {
        // Past a frame we cannot read there is no telling where the next one starts.
        throw (sync.broken = new Error(`NTLM sidecar sent an unreadable frame: ${(e as Error).message}`));
      }
    }
  }

  async deleteContext(ctx: string): Promise<void> {
    await this.call('delete', { ctx });
  }

  async close(): Promise<void> {
    if (this.sync) {
      closeSync(this.sync.request);
      closeSync(this.sync.answer);
      this.sync = undefined;
    }
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.end();
    await done;
  }
}

function blob(msg: Message, name: string): Buffer {
  const v = msg[name];
  if (!Buffer.isBuffer(v)) throw new GssError(`the sidecar's answer has no ${name}`, 'ProtocolError');
  return v;
}
