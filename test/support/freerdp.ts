// FreeRDP's shadow server as a real CredSSP acceptor (RDP "NLA") for our client
// engine: Xvfb on a display it picks itself, freerdp-shadow-cli on a free loopback
// port with a SAM file from winpr-hash, both in their own process groups.
// After an X.224 Connection Request for PROTOCOL_HYBRID and its Confirm, TLS
// records and TSRequests flow directly on the TCP socket.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { CredSspClient } from '../../src/core/auth/credssp/client';

export const FREERDP_HOW_TO_GET = 'apt-get install -y freerdp2-shadow-x11 freerdp2-x11 winpr-utils xvfb (as root; .ci/setup lists them)';

export function freerdpAvailable(): boolean {
  return ['freerdp-shadow-cli', 'winpr-hash', 'Xvfb', 'stdbuf'].every((p) => spawnSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' }).status === 0);
}

export interface FreeRdpUser {
  user: string;
  domain: string;
  password: string;
}

export interface ShadowServer {
  port: number;
  /** Everything the server logged so far (WLOG_LEVEL=DEBUG: one line per NLA step). */
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const exited = once(child, 'exit').then(() => undefined);
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch { /* already gone */ }
  }, 3000);
  return exited.finally(() => clearTimeout(timer));
}

/** Starts Xvfb and the shadow server; resolves once the server accepts connections. */
export async function startShadowServer(users: FreeRdpUser[]): Promise<ShadowServer> {
  const dir = mkdtempSync(join(tmpdir(), 'freerdp-shadow-'));
  const children: ChildProcess[] = [];
  let logText = '';
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.reverse().map(stopGroup));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sam = users.map((u) => {
      const r = spawnSync('winpr-hash', ['-u', u.user, '-p', u.password, '-d', u.domain, '-f', 'sam'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`winpr-hash failed: ${r.stderr}`);
      return r.stdout.trim() + '\n';
    }).join('');
    const samFile = join(dir, 'freerdp.sam');
    writeFileSync(samFile, sam, { mode: 0o600 });

    // -displayfd: Xvfb picks a free display and writes its number once it is ready.
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-noreset', '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    children.push(xvfb);
    let xlog = '';
    xvfb.stderr!.on('data', (d: Buffer) => { xlog = (xlog + d.toString()).slice(-2000); });
    const display = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`Xvfb did not start: ${xlog}`)), 15_000);
      (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(text.trim());
        }
      });
      xvfb.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Xvfb exited (${code}): ${xlog}`));
      });
    });

    const port = await freePort();
    const home = join(dir, 'home');
    // wlog writes through stdio: line-buffer it so the log can be read while the server runs.
    const shadow = spawn('stdbuf', ['-oL', '-eL', 'freerdp-shadow-cli', `/port:${port}`, '/bind-address:127.0.0.1', '/sec:nla', `/sam-file:${samFile}`], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, DISPLAY: `:${display}`, WLOG_LEVEL: 'DEBUG' },
    });
    children.push(shadow);
    const onLog = (d: Buffer): void => { logText = (logText + d.toString()).slice(-200_000); };
    shadow.stdout!.on('data', onLog);
    shadow.stderr!.on('data', onLog);

    const deadline = Date.now() + 20_000;
    for (;;) {
      if (shadow.exitCode !== null) throw new Error(`freerdp-shadow-cli exited (${shadow.exitCode}): ${logText.slice(-2000)} Xvfb: ${xlog}`);
      if (logText.includes('Listening')) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => { s.destroy(); resolve(true); });
          s.once('error', () => resolve(false));
        });
        if (ok) break;
      }
      if (Date.now() > deadline) throw new Error(`freerdp-shadow-cli did not listen on ${port}: ${logText.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { port, log: () => logText, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** X.224 Connection Request (in a TPKT) with an RDP_NEG_REQ for PROTOCOL_SSL | PROTOCOL_HYBRID. */
export function x224ConnectionRequest(protocols = 0x00000003): Buffer {
  const b = Buffer.from([
    0x03, 0x00, 0x00, 0x13, // TPKT version 3, length 19
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR: LI 14, CR|CDT, dst-ref, src-ref, class 0
    0x01, 0x00, 0x08, 0x00, 0, 0, 0, 0, // RDP_NEG_REQ type 1, flags, length 8, requestedProtocols
  ]);
  b.writeUInt32LE(protocols, 15);
  return b;
}

/** Reads the X.224 Connection Confirm; returns the selected protocol (2 = HYBRID) or throws on RDP_NEG_FAILURE. */
export function parseConnectionConfirm(b: Buffer): number {
  if (b.length < 19 || b[0] !== 0x03 || b.readUInt16BE(2) !== b.length || (b[5] & 0xf0) !== 0xd0) throw new Error(`not an X.224 Connection Confirm: ${b.toString('hex')}`);
  const type = b[11];
  const value = b.readUInt32LE(15);
  if (type === 0x03) throw new Error(`RDP_NEG_FAILURE code ${value}`);
  if (type !== 0x02) throw new Error(`unexpected negotiation type ${type}`);
  return value;
}

/** A socket that hands out what arrived, one read at a time; `undefined` once it ended. */
class SocketReader {
  private chunks: Buffer[] = [];
  private ended = false;
  private waiter?: () => void;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.chunks.push(d); this.waiter?.(); });
    socket.on('end', () => { this.ended = true; this.waiter?.(); });
    socket.on('close', () => { this.ended = true; this.waiter?.(); });
    socket.on('error', () => { this.ended = true; this.waiter?.(); });
  }
  /** The next bytes; rejects when nothing arrives in `timeoutMs` (a stuck peer must not hang a test). */
  async read(timeoutMs = 15_000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.chunks.length === 0 && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer from the RDP server within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.waiter = () => { clearTimeout(timer); r(); };
      });
    }
    this.waiter = undefined;
    if (this.chunks.length) {
      const b = Buffer.concat(this.chunks);
      this.chunks = [];
      return b;
    }
    return undefined;
  }
  async readExactly(n: number): Promise<Buffer> {
    let got = Buffer.alloc(0);
    while (got.length < n) {
      const b = await this.read();
      if (!b) throw new Error('connection closed');
      got = Buffer.concat([got, b]);
    }
    if (got.length > n) this.chunks.unshift(got.subarray(n));
    return got.subarray(0, n);
  }
  get isEnded(): boolean {
    return this.ended && this.chunks.length === 0;
  }
}

/**
 * Connects, does the X.224 preamble, then runs our CredSSP engine on the socket.
 * Resolves with the still-open socket once the credentials went out.
 */
export async function runNla(port: number, engine: CredSspClient): Promise<{ socket: Socket; reader: SocketReader }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const reader = new SocketReader(socket);
  try {
    socket.write(x224ConnectionRequest());
    const confirm = await reader.readExactly(19);
    const selected = parseConnectionConfirm(confirm);
    if (selected !== 0x02) throw new Error(`server selected protocol ${selected}, not HYBRID (2)`);
    let r = await engine.step();
    socket.write(r.token);
    while (!r.done) {
      const data = await reader.read();
      if (!data) await engine.peerClosed();
      r = await engine.step(data);
      if (r.token.length) socket.write(r.token);
    }
    return { socket, reader };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
