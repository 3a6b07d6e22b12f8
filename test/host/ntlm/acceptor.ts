// Drives the gss-ntlmssp sidecar (acceptor.py) from Node: one Python process,
// many NTLM contexts, async step / wrap / unwrap per context id.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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
  private sync?: { request: number; answer: number; pending: Buffer };

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
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.onLine(line));
    this.proc.on('exit', (code, sig) => {
      this.exited = new Error(`NTLM sidecar exited (${code ?? sig}): ${this.stderr.trim()}`);
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

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const p = this.pending.get(msg.id as number);
    if (!p) return;
    this.pending.delete(msg.id as number);
    if (typeof msg.error === 'string') p.reject(new GssError(msg.error, String(msg.kind ?? 'Error')));
    else p.resolve(msg);
  }

  private call(op: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.stdin.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  }

  /** Resolves once the sidecar answers (gssapi imported, acceptor credentials loaded). */
  async ready(): Promise<void> {
    await this.call('ping');
  }

  /** A new acceptor context; `channelBindings` is the application data (`tls-server-end-point:` + hash) to require. */
  async newContext(channelBindings?: Buffer): Promise<string> {
    const r = await this.call('new', channelBindings ? { cbt: channelBindings.toString('base64') } : {});
    return r.ctx as string;
  }

  async step(ctx: string, token: Buffer): Promise<StepResult> {
    const r = await this.call('step', { ctx, token: token.toString('base64') });
    return {
      token: typeof r.token === 'string' ? Buffer.from(r.token, 'base64') : undefined,
      complete: r.complete === true,
      user: typeof r.user === 'string' ? r.user : undefined,
    };
  }

  /** Seals `data`: 16-byte signature then the sealed bytes. */
  async wrap(ctx: string, data: Buffer): Promise<Buffer> {
    const r = await this.call('wrap', { ctx, data: data.toString('base64') });
    return Buffer.from(r.token as string, 'base64');
  }

  /** Verifies and unseals a token (signature + sealed bytes); rejects with GssError on tampering. */
  async unwrap(ctx: string, token: Buffer): Promise<Buffer> {
    const r = await this.call('unwrap', { ctx, token: token.toString('base64') });
    return Buffer.from(r.data as string, 'base64');
  }

  // Added for the CredSSP acceptor's SPNEGO layer: mechListMIC and the RC4 restart after it (MS-SPNG).
  /** GSS_GetMIC: the 16-byte signature over `data`. */
  async mic(ctx: string, data: Buffer): Promise<Buffer> {
    const r = await this.call('mic', { ctx, data: data.toString('base64') });
    return Buffer.from(r.token as string, 'base64');
  }

  /** GSS_VerifyMIC; rejects with GssError when the signature does not match. */
  async verifyMic(ctx: string, data: Buffer, mic: Buffer): Promise<void> {
    await this.call('verify_mic', { ctx, data: data.toString('base64'), mic: mic.toString('base64') });
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
    const r = this.callSync('wrap', { ctx, data: data.toString('base64') });
    return Buffer.from(r.token as string, 'base64');
  }

  private callSync(op: string, args: Record<string, unknown>): Record<string, unknown> {
    if (this.exited) throw this.exited;
    if (!this.fifos) throw new Error('mkfifo is not available: no synchronous channel to the NTLM sidecar');
    // Open order matches the sidecar's thread (request for reading, then answer for writing).
    this.sync ??= { request: openSync(this.fifos.request, 'w'), answer: openSync(this.fifos.answer, 'r'), pending: Buffer.alloc(0) };
    const id = this.nextId++;
    const line = Buffer.from(JSON.stringify({ id, op, ...args }) + '\n');
    for (let off = 0; off < line.length;) off += writeSync(this.sync.request, line, off);
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (;;) {
      const nl = this.sync.pending.indexOf(0x0a);
      if (nl >= 0) {
        const text = this.sync.pending.toString('utf8', 0, nl);
        this.sync.pending = this.sync.pending.subarray(nl + 1);
        const msg = JSON.parse(text) as Record<string, unknown>;
        if (msg.id !== id) continue;
        if (typeof msg.error === 'string') throw new GssError(msg.error, String(msg.kind ?? 'Error'));
        return msg;
      }
      const n = readSync(this.sync.answer, chunk, 0, chunk.length, null);
      if (n === 0) throw this.exited ?? new Error('NTLM sidecar closed its synchronous channel');
      this.sync.pending = Buffer.concat([this.sync.pending, chunk.subarray(0, n)]);
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
