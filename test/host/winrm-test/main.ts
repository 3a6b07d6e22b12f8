// The `winrm-test` program the test host runs for scripted commands; see ../scripted.ts
// for the commands. Writes to stdout/stderr are synchronous for pipes on Linux, so when
// the host stops reading, this process blocks: real backpressure.
import { writeSync } from 'node:fs';
import { PATTERN_LINE, patternByte, unicodePieces } from '../scripted';

const [sub, ...rest] = process.argv.slice(2);

function flag(name: string): string | undefined {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
}
function num(name: string, dflt: number): number {
  const v = flag(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} needs a non-negative number, got ${v}`);
  return n;
}
function fail(message: string): never {
  writeSync(2, `winrm-test: ${message}\r\n`);
  process.exit(2);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes all of `buf` to fd, retrying on EAGAIN (a pipe the host has paused). */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); continue; }
      throw e;
    }
  }
}

/** A buffer holding the pattern from offset 0, long enough to slice any chunk from (patterns repeat). */
function patternSource(stream: 'stdout' | 'stderr', chunk: number): { buf: Buffer; period: number } {
  // The pattern repeats every lcm(64, 36 * 64) bytes = 2304; pre-build period + chunk bytes.
  const period = PATTERN_LINE * 36;
  const buf = Buffer.allocUnsafe(period + chunk);
  for (let i = 0; i < buf.length; i++) buf[i] = patternByte(stream, i);
  return { buf, period };
}

async function emit(): Promise<void> {
  const total = { stdout: num('stdout', 0), stderr: num('stderr', 0) };
  const chunk = Math.max(1, num('chunk', 65536));
  const delay = num('delay-ms', 0);
  const src = { stdout: patternSource('stdout', chunk), stderr: patternSource('stderr', chunk) };
  const done = { stdout: 0, stderr: 0 };
  while (done.stdout < total.stdout || done.stderr < total.stderr) {
    for (const s of ['stdout', 'stderr'] as const) {
      const n = Math.min(chunk, total[s] - done[s]);
      if (n <= 0) continue;
      const start = done[s] % src[s].period;
      writeAll(s === 'stdout' ? 1 : 2, src[s].buf.subarray(start, start + n));
      done[s] += n;
      if (delay) await sleep(delay);
    }
  }
  process.exitCode = num('exit', 0);
}

async function main(): Promise<void> {
  switch (sub) {
    case 'emit':
      return emit();
    case 'exit': {
      const code = Number(rest[0] ?? 0);
      if (flag('stdout') !== undefined) writeAll(1, Buffer.from(flag('stdout')! + '\r\n'));
      if (flag('stderr') !== undefined) writeAll(2, Buffer.from(flag('stderr')! + '\r\n'));
      process.exitCode = Number.isInteger(code) ? code : 1;
      return;
    }
    case 'hang':
      writeAll(1, Buffer.from(`hanging ${process.pid}\r\n`));
      setInterval(() => {}, 1 << 30);
      return;
    case 'echo-stdin':
      process.stdin.on('data', (d: Buffer) => writeAll(1, d));
      await new Promise((r) => process.stdin.on('end', r));
      return;
    case 'lines': {
      const count = num('count', 1);
      const interval = num('interval-ms', 0);
      const text = flag('text') ?? 'line';
      const fd = rest.includes('--stderr') ? 2 : 1;
      for (let i = 1; i <= count; i++) {
        writeAll(fd, Buffer.from(`${text} ${i}\r\n`));
        if (interval && i < count) await sleep(interval);
      }
      return;
    }
    case 'unicode':
      for (const piece of unicodePieces()) {
        writeAll(1, piece);
        await sleep(50);
      }
      return;
    case 'env': {
      const names = rest.length ? rest : Object.keys(process.env).sort();
      for (const n of names) writeAll(1, Buffer.from(`${n}=${process.env[n] ?? ''}\r\n`));
      return;
    }
    case 'pwd':
      writeAll(1, Buffer.from(process.cwd() + '\r\n'));
      return;
    default:
      fail(`unknown command "${sub ?? ''}" (emit, exit, hang, echo-stdin, lines, unicode, env, pwd)`);
  }
}

main().catch((e) => fail(String(e?.stack ?? e)));
