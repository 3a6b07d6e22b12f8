// Our library as a benchmark client, in its own process so it does not share an
// event loop (or a heap) with the test host. Takes one JSON job, prints one JSON line.
//   node out/bench/client.js '{"mode":"stream"|"latency"|"ttfb", ...}'
import { WinrmSession } from '../src/core/session';

interface Job {
  mode: 'stream' | 'latency' | 'ttfb';
  url: string;
  user: string;
  password: string;
  auth?: 'basic' | 'ntlm';
  command: string;
  args: string[];
  codepage?: number;
  /** latency: number of timed runs, and whether they share one shell. */
  runs?: number;
  reuseShell?: boolean;
  /** ttfb: arguments of untimed runs of the same command first (the code path warmed, as in a long-lived editor). */
  warmArgs?: string[];
  warmRuns?: number;
}

const now = () => performance.timeOrigin + performance.now();

function session(job: Job): WinrmSession {
  return new WinrmSession({ url: job.url, credentials: { user: job.user, password: job.password }, auth: job.auth ?? 'basic' });
}

async function drain(run: AsyncIterable<{ bytes: Buffer }> & { exitCode: Promise<number> }): Promise<number> {
  let n = 0;
  for await (const chunk of run) n += chunk.bytes.length;
  await run.exitCode;
  return n;
}

/** Streams the command's output to a consumer that only counts it. */
async function stream(job: Job) {
  const s = session(job);
  // Untimed warm-up (connection, compiled code), as every benchmark client does.
  await drain(s.run('hostname', [], { shell: { codepage: job.codepage ?? 437 } }));
  const rssBefore = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const started = now();
  let bytes = 0;
  let stderrBytes = 0;
  let firstByteMs: number | undefined;
  const run = s.run(job.command, job.args, { shell: { codepage: job.codepage ?? 437 } });
  for await (const chunk of run) {
    firstByteMs ??= now() - started;
    if (chunk.stream === 'stdout') bytes += chunk.bytes.length;
    else stderrBytes += chunk.bytes.length;
  }
  const exitCode = await run.exitCode;
  const ms = now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const sysMs = used.system / 1000;
  await s.close();
  // maxRSS is the process's peak, in KiB.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  return { ms, cpuMs, sysMs, bytes, stderrBytes, exitCode, firstByteMs, rssBefore, peakRss };
}

/** Many runs of a tiny command; the first (connection, first shell) is not timed. */
async function latency(job: Job) {
  const s = session(job);
  const runOnce = () => drain(s.run(job.command, job.args, { reuseShell: job.reuseShell, shell: { codepage: job.codepage ?? 437 } }));
  await runOnce();
  const times: number[] = [];
  let out = 0;
  const started = now();
  for (let i = 0; i < (job.runs ?? 200); i++) {
    const t = now();
    out += await runOnce();
    times.push(now() - t);
  }
  const totalMs = now() - started;
  await s.close();
  return { runs: times.length, totalMs, times, outBytes: out };
}

/**
 * Time to first byte: the command prints a timestamp line, sleeps, prints another.
 * Reports when each chunk reached this consumer (wall clock, sub-ms), and the
 * round trip of one Receive that the host answers at once (a finished command).
 */
async function ttfb(job: Job) {
  const s = session(job);
  // Untimed warm-up (connection, compiled code), as every benchmark client does.
  await drain(s.run('hostname', [], { shell: { codepage: job.codepage ?? 437 } }));
  const shell = await s.openShell({ codepage: job.codepage ?? 437 });
  // The Receive round trip below is measured on warm code; the lines are too.
  for (let i = 0; i < (job.warmRuns ?? 0); i++) {
    const warm = await shell.start(job.command, job.warmArgs ?? job.args);
    for await (const chunk of warm.output()) void chunk;
  }
  const arrivals: { at: number; text: string }[] = [];
  const command = await shell.start(job.command, job.args);
  for await (const chunk of command.output()) arrivals.push({ at: now(), text: chunk.bytes.toString('utf8') });
  const rtts: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = now();
    await shell.receiveOnce(command.id, {});
    rtts.push(now() - t);
  }
  await s.close();
  return { arrivals, rtts };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as Job;
  const result = job.mode === 'stream' ? await stream(job) : job.mode === 'latency' ? await latency(job) : await ttfb(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e) => {
  process.stderr.write(`client: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
