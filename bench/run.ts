// The benchmark suite (issue 8): our client against pywinrm and a floor client, on
// the project's test host on loopback. Not a test: nothing here asserts a time.
//   node .ci/build.mjs bench test/host src/cli && node out/bench/run.js [--quick] [--only a,b] [--no-write]
//   --only: throughput, latency, ttfb, memory, ntlm, extension
//   --render: no run; rewrite latest.md from latest.json (after a change to the report's wording)
// Every client runs in its own process (the host runs in this one and idles while a
// client works), clients alternate within each round, and the tables show medians.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ACTION } from '../src/core/wsman/namespaces';
import { startTestHost, type TestHost, type TestHostOptions } from '../test/host/host';
import { NtlmSidecar, sidecarAvailable } from '../test/host/ntlm/acceptor';
import { ntlmScheme } from '../test/host/ntlm/scheme';
import { findRoot } from '../test/support/peers';
import { extensionFigures, type ExtensionFigures } from './extension';
import { renderMarkdown, type Results, type Throughput } from './report';
import { median, percentile } from './stats';

const root = findRoot();
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.indexOf('--only');
const only = onlyArg >= 0 ? (argv[onlyArg + 1] ?? '').split(',') : undefined;
const write = !argv.includes('--no-write');
const wants = (name: string) => !only || only.includes(name);

const USER = 'bench';
const PASSWORD = 'bench-Passw0rd!';
const PYTHON = '/usr/bin/python3';
const MB = 1024 * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);
/** Notes for the report (what was not measured and why). */
const notes: string[] = [];
let pywinrmMissing: string | undefined;
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------
// Child processes

interface ChildResult { stdout: Buffer; ms: number; stdoutBytes: number }

/** Runs a program to the end; `keepStdout` false only counts stdout bytes (the CLI's output). */
function runChild(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; keepStdout?: boolean; timeoutMs?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const p = spawn(file, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    p.stdout.on('data', (d: Buffer) => { outBytes += d.length; if (opts.keepStdout !== false) out.push(d); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${file} ${args.slice(0, 2).join(' ')} exited ${code ?? signal}: ${err.trim().slice(-2000)}`));
      else resolve({ stdout: Buffer.concat(out), ms, stdoutBytes: outBytes });
    });
  });
}

const lastJson = <T>(r: ChildResult): T => JSON.parse(r.stdout.toString('utf8').trim().split('\n').pop()!) as T;

interface Target { url: string; auth?: 'basic' | 'ntlm'; user?: string }

function ours<T = Record<string, number>>(target: Target, job: Record<string, unknown>): Promise<T> {
  return runChild(process.execPath, [join(root, 'out/bench/client.js'), JSON.stringify({ url: target.url, auth: target.auth, user: target.user ?? USER, password: PASSWORD, ...job })]).then((r) => lastJson<T>(r));
}
function floor(target: Target, job: Record<string, unknown>): Promise<Record<string, number>> {
  return runChild(process.execPath, [join(root, 'out/bench/floor.js'), JSON.stringify({ url: target.url, auth: target.auth, user: target.user ?? USER, password: PASSWORD, ...job })]).then((r) => lastJson(r));
}
function pywinrm<T = Record<string, number>>(target: Target, job: Record<string, unknown>): Promise<T> {
  const env = { ...process.env };
  // They would override pywinrm's own certificate settings (see test-peers.md).
  delete env.REQUESTS_CA_BUNDLE;
  delete env.CURL_CA_BUNDLE;
  if (target.auth === 'ntlm') env.OPENSSL_CONF = opensslLegacyConf();
  return runChild(PYTHON, [join(root, 'bench/pywinrm_client.py'), JSON.stringify({ url: target.url, auth: target.auth ?? 'basic', user: target.user ?? USER, password: PASSWORD, ...job })], { env }).then((r) => lastJson<T>(r));
}
/** The CLI end to end, process start included; its stdout is counted, not kept. */
async function cli(target: Target, commandLine: string): Promise<{ ms: number; bytes: number }> {
  const r = await runChild(process.execPath, [join(root, 'out/cli/winrm-run.js'), '--host', target.url, '--user', target.user ?? USER, '--command', commandLine, '--codepage', '437', ...(target.auth === 'ntlm' ? ['--auth', 'ntlm'] : [])],
    { env: { ...process.env, WINRM_PASSWORD: PASSWORD }, keepStdout: false });
  return { ms: r.ms, bytes: r.stdoutBytes };
}

function opensslLegacyConf(): string {
  const file = join(root, '.cache', 'bench-openssl-legacy.cnf');
  mkdirSync(join(root, '.cache'), { recursive: true });
  // pywinrm's ntlm-auth needs MD4, which Debian's OpenSSL 3 only has in the legacy provider.
  writeFileSync(file, 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\nlegacy = legacy_sect\n[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n');
  return file;
}

const brief = (r: unknown) => JSON.stringify(r, (k, v) => (k === 'times' || k === 'arrivals' || k === 'rtts' ? undefined : typeof v === 'number' ? Math.round(v * 100) / 100 : v));

/** Runs each client once per round, rotating the order so no client always goes first. */
async function alternate<R>(rounds: number, clients: Record<string, () => Promise<R>>, label: string): Promise<Record<string, R[]>> {
  let names = Object.keys(clients).filter((n) => n !== 'pywinrm' || pywinrmMissing === undefined);
  const results: Record<string, R[]> = Object.fromEntries(Object.keys(clients).map((n) => [n, [] as R[]]));
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      let r: R;
      try {
        r = await clients[name]();
      } catch (e) {
        // pywinrm is someone else's client: without it (or its NTLM parts) the row says so; our own failures stop the run.
        if (name !== 'pywinrm') throw e;
        notes.push(`pywinrm in "${label}": not measured (${(e as Error).message.split('\n')[0].slice(0, 200)}).`);
        names = names.filter((n) => n !== 'pywinrm');
        continue;
      }
      results[name].push(r);
      log(`  ${label} ${round + 1}/${rounds} ${name}: ${brief(r)}`);
    }
  }
  return results;
}

async function withHost<T>(options: TestHostOptions, f: (host: TestHost) => Promise<T>): Promise<T> {
  const host = await startTestHost({ user: USER, password: PASSWORD, wine: false, log: (l) => log(`  [host] ${l}`), ...options });
  try {
    return await f(host);
  } finally {
    await host.close();
  }
}

/** CPU ms used so far by this process's children whose command line contains `match` (Linux /proc). */
function childrenCpuMs(match: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(match)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== process.pid) continue;
      total += ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in 100 Hz ticks
    } catch { /* gone */ }
  }
  return total;
}

/** Runs `f` and adds how busy the host side (this process, plus the NTLM sidecar if any) was meanwhile. */
async function withHostCpu<R extends { ms: number }>(f: () => Promise<R>): Promise<R & { hostBusy: number }> {
  const cpu = process.cpuUsage();
  const sidecar = childrenCpuMs('acceptor.py');
  const started = performance.now();
  const r = await f();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const hostMs = (used.user + used.system) / 1000 + (childrenCpuMs('acceptor.py') - sidecar);
  return { ...r, hostBusy: hostMs / wall };
}

// ---------------------------------------------------------------------------------
// (1) Output throughput

type Stream = { bytes: number; ms: number; cpuMs?: number; receives?: number; rssBefore?: number; peakRss?: number; hostBusy?: number };

async function throughput(target: Target, sizeMb: number, rounds: number, clientsWanted: string[]): Promise<{ figure: Throughput; raw: Record<string, Stream[]> }> {
  const n = sizeMb * MB;
  const args = ['emit', '--stdout', String(n)];
  const check = (name: string) => (r: Stream) => {
    if (r.bytes !== n) throw new Error(`${name} got ${r.bytes} bytes of ${n}`);
    return r;
  };
  const all: Record<string, () => Promise<Stream>> = {
    floor: () => withHostCpu(() => floor(target, { command: 'winrm-test', args }).then((r) => check('floor')(r as Stream))),
    library: () => withHostCpu(() => ours<Stream>(target, { mode: 'stream', command: 'winrm-test', args }).then(check('library'))),
    cli: () => withHostCpu(() => cli(target, `winrm-test ${args.join(' ')}`).then(check('cli'))),
    pywinrm: () => withHostCpu(() => pywinrm<Stream>(target, { mode: 'stream', command: 'winrm-test', args }).then(check('pywinrm'))),
  };
  const res = await alternate(rounds, Object.fromEntries(clientsWanted.map((c) => [c, all[c]])), `throughput ${sizeMb} MB ${target.auth ?? 'basic'}`);
  const ms = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v.map((r) => r.ms))]));
  const mbps = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, sizeMb / (v / 1000)]));
  const hostBusy = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v.map((r) => r.hostBusy ?? NaN))]));
  // The client's own CPU (user + system) over the run's wall time, where the client reports it.
  const clientBusy = Object.fromEntries(Object.entries(res).filter(([, v]) => v[0]?.cpuMs !== undefined).map(([k, v]) => [k, median(v.map((r) => r.cpuMs! / r.ms))]));
  // CPU time barely depends on what else the machine runs, unlike MB/s.
  const clientCpuMs = Object.fromEntries(Object.entries(res).filter(([, v]) => v[0]?.cpuMs !== undefined).map(([k, v]) => [k, median(v.map((r) => r.cpuMs!))]));
  return { figure: { sizeMb, auth: target.auth ?? 'basic', rounds, mbps, ms, hostBusy, clientBusy, clientCpuMs, receives: res.floor?.[0]?.receives }, raw: res };
}

/** The same output with NTLM and message encryption: gss-ntlmssp seals the host's side. */
async function ntlmThroughput(sizeMb: number, rounds: number, notes: string[]): Promise<Throughput | undefined> {
  if (!sidecarAvailable()) {
    notes.push('NTLM with message encryption: not measured; gss-ntlmssp and python3-gssapi (the test host\'s NTLM side) are not installed.');
    return undefined;
  }
  const sidecar = new NtlmSidecar({ users: [{ domain: 'LAB', user: USER, password: PASSWORD }], domainName: 'LAB', computerName: 'WINRM-TEST' });
  await sidecar.ready();
  try {
    return await withHost({
      // Unsealed requests over HTTP are refused, as a default Windows host does: every client must encrypt.
      allowUnencrypted: false,
      schemes: (ctx) => [ntlmScheme({ sidecar, offer: () => ([] as string[]).concat(ctx.unauthorized().headers['WWW-Authenticate'] ?? []) })],
    }, async (host) => (await throughput({ url: host.url, auth: 'ntlm', user: `LAB\\${USER}` }, sizeMb, rounds, ['floor', 'library', 'cli', 'pywinrm'])).figure);
  } finally {
    await sidecar.close();
  }
}

// ---------------------------------------------------------------------------------
// (2) Small-command latency

interface Latency { runs: number; totalMs: number; times: number[] }

async function latency(target: Target, runs: number, rounds: number) {
  const job = { mode: 'latency', command: 'hostname', args: [] as string[], runs };
  const res = await alternate<Latency>(rounds, {
    floor: () => floor(target, { ...job, mode: 'latency' }) as unknown as Promise<Latency>,
    reused: () => ours<Latency>(target, { ...job, reuseShell: true }),
    perRun: () => ours<Latency>(target, { ...job, reuseShell: false }),
    pywinrm: () => pywinrm<Latency>(target, job),
  }, `latency ${runs} x hostname`);
  const summary = (v: Latency[]) => {
    const times = v.flatMap((r) => r.times);
    // The later half of each process's runs: compiled code, no start-up effects.
    const later = v.flatMap((r) => r.times.slice(Math.floor(r.times.length / 2)));
    return { runs: times.length, medianMs: median(times), p95Ms: percentile(times, 95), meanMs: v.reduce((a, r) => a + r.totalMs, 0) / times.length, laterMedianMs: median(later) };
  };
  return { command: 'hostname', floor: summary(res.floor), reused: summary(res.reused), perRun: summary(res.perRun), pywinrm: summary(res.pywinrm) };
}

// ---------------------------------------------------------------------------------
// (3) Time to first byte

interface Arrivals { arrivals: { at: number; text: string }[]; rtts?: number[] }

async function ttfb(rounds: number) {
  // No coalescing window: the host answers a waiting Receive as soon as output
  // arrives, so what is measured is the wire and the client.
  return withHost({ receiveCoalesceMs: 0 }, async (host) => {
    const target: Target = { url: host.url };
    let sends: number[] = [];
    host.setHooks({
      onReply(info, reply) {
        // Only replies that carry the command's lines (a client's warm-up output is not one).
        const data = info.action === ACTION.receive ? /Name="stdout"[^>]*>([^<]+)</.exec(reply.soap)?.[1] : undefined;
        if (data && Buffer.from(data, 'base64').toString('latin1').startsWith('line')) sends.push(now());
      },
    });
    const args = ['lines', '--count', '2', '--interval-ms', '1000', '--text', 'line'];
    // Warm-up runs print "warm" (not counted by the hook above): the lines are then timed on
    // warm code, like the Receive round trip they are compared with and like a long-lived editor.
    const job = { mode: 'ttfb', command: 'winrm-test', args, warmArgs: ['lines', '--count', '2', '--interval-ms', '0', '--text', 'warm'], warmRuns: 20 };
    const firstLatency: number[] = [];
    const secondLatency: number[] = [];
    const gap: number[] = [];
    const rtts: number[] = [];
    const py: number[] = [];
    const floorFirst: number[] = [];
    const floorSecond: number[] = [];
    const clients: Record<string, () => Promise<Arrivals>> = {
      ours: async () => {
        sends = [];
        const r = await ours<Arrivals>(target, job);
        if (sends.length < 2 || r.arrivals.length < 2 || !r.arrivals[0].text.startsWith('line 1')) throw new Error(`ttfb: unexpected ${brief(r)} / ${sends.length} sends`);
        firstLatency.push(r.arrivals[0].at - sends[0]);
        secondLatency.push(r.arrivals[1].at - sends[1]);
        gap.push(r.arrivals[1].at - r.arrivals[0].at);
        rtts.push(...(r.rtts ?? []));
        return r;
      },
      floor: async () => {
        sends = [];
        const r = (await floor(target, job)) as unknown as Arrivals;
        if (sends.length < 2 || r.arrivals.length < 2) throw new Error(`ttfb floor: unexpected ${brief(r)}`);
        floorFirst.push(r.arrivals[0].at - sends[0]);
        floorSecond.push(r.arrivals[1].at - sends[1]);
        return r;
      },
      pywinrm: async () => {
        sends = [];
        const r = await pywinrm<Arrivals>(target, job);
        if (sends.length < 1 || !r.arrivals[0].text.startsWith('line 1')) throw new Error(`ttfb pywinrm: unexpected ${brief(r)}`);
        py.push(r.arrivals[0].at - sends[0]);
        return r;
      },
    };
    await alternate(rounds, clients, 'ttfb');
    host.setHooks(undefined);
    return {
      command: `winrm-test ${args.join(' ')}`,
      rounds,
      warmRuns: job.warmRuns,
      receiveRttMs: median(rtts),
      firstLineMs: median(firstLatency),
      firstLineMaxMs: Math.max(...firstLatency),
      secondLineMs: median(secondLatency),
      floorFirstLineMs: median(floorFirst),
      floorSecondLineMs: median(floorSecond),
      lineGapMs: median(gap),
      pywinrmFirstLineMs: median(py),
    };
  });
}

// ---------------------------------------------------------------------------------
// (4) Memory: peak RSS growth of a client process streaming to a discarding consumer

function memoryFrom(raw: Record<string, Stream[]>, sizeMb: number) {
  const growth = (v: Stream[] | undefined) => (v && v.length ? median(v.map((r) => (r.peakRss! - r.rssBefore!) / MB)) : undefined);
  return { sizeMb, oursMb: growth(raw.library), floorMb: growth(raw.floor), pywinrmMb: growth(raw.pywinrm) };
}

// ---------------------------------------------------------------------------------

/** Share of all CPUs busy over `ms` (Linux /proc/stat): what else the machine was doing. */
async function machineBusy(ms: number): Promise<number | undefined> {
  const sample = () => {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].split(/\s+/).slice(1, 8).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + f[4] };
  };
  try {
    const a = sample();
    await new Promise((r) => setTimeout(r, ms));
    const b = sample();
    return 1 - (b.idle - a.idle) / (b.total - a.total);
  } catch {
    return undefined;
  }
}

/** The commit measured, and whether src/ differed from it (the working tree is shared). */
function codeVersion(): { commit: string; srcChanged: boolean } {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  return { commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown', srcChanged: git(['status', '--porcelain', '--', 'src']) !== '' };
}

async function main(): Promise<void> {
  for (const f of ['out/bench/client.js', 'out/bench/floor.js', 'out/cli/winrm-run.js', 'out/test/host/winrm-test/main.js']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run node .ci/build.mjs bench test/host src/cli first`);
  }
  const started = Date.now();
  const [python, pywinrmVersion] = await runChild(PYTHON, ['-c', 'import sys, importlib.metadata as m; import winrm; print(sys.version.split()[0], m.version("pywinrm"))'])
    .then((r) => r.stdout.toString().trim().split(' '), (e: Error) => {
      pywinrmMissing = `pywinrm is not importable from ${PYTHON} (apt-get install -y python3-winrm python3-requests-ntlm python3-ntlm-auth): ${e.message.split('\n')[0].slice(0, 160)}`;
      notes.push(`pywinrm: not measured; ${pywinrmMissing}`);
      return ['?', 'missing'];
    });
  const results: Results = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGb: Math.round(totalmem() / 1024 ** 3), node: process.version, python, pywinrm: pywinrmVersion, loadBefore: loadavg()[0], busyBefore: await machineBusy(3000) },
    code: codeVersion(),
    quick,
    throughput: [],
    notes,
  };
  const hostOptions: TestHostOptions = {};
  await withHost(hostOptions, async (host) => {
    const target: Target = { url: host.url };
    if (wants('throughput')) {
      const t64 = await throughput(target, 64, quick ? 2 : 5, ['floor', 'library', 'cli', 'pywinrm']);
      results.throughput.push(t64.figure);
      if (!quick) {
        const t256 = await throughput(target, 256, 2, ['floor', 'library', 'cli', 'pywinrm']);
        results.throughput.push(t256.figure);
        if (wants('memory')) results.memory = memoryFrom(t256.raw, 256);
      }
    }
    if (wants('memory') && !results.memory) {
      // --quick (or no throughput run): one 256 MB run of ours only.
      const m = await throughput(target, 256, 1, ['floor', 'library']);
      results.memory = memoryFrom(m.raw, 256);
    }
    if (wants('latency')) results.latency = await latency(target, quick ? 100 : 200, quick ? 1 : 2);
  });
  if (wants('ttfb')) results.ttfb = await ttfb(quick ? 2 : 3);
  if (wants('ntlm')) {
    const t = await ntlmThroughput(64, quick ? 1 : 2, notes);
    if (t) results.throughput.push(t);
  }
  if (wants('extension')) results.extension = await extensionFigures(root, log, { activation: !quick });
  results.machine.loadAfter = loadavg()[0];
  results.seconds = Math.round((Date.now() - started) / 1000);
  log(`done in ${results.seconds} s`);
  const md = renderMarkdown(results);
  process.stdout.write(`${md}\n`);
  if (write) {
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(root, 'bench/results/latest.md'), md);
    log('wrote bench/results/latest.json and latest.md');
  }
}

function render(): void {
  const results = JSON.parse(readFileSync(join(root, 'bench/results/latest.json'), 'utf8')) as Results;
  const md = renderMarkdown(results);
  writeFileSync(join(root, 'bench/results/latest.md'), md);
  process.stdout.write(`${md}\n`);
}

(argv.includes('--render') ? Promise.resolve().then(render) : main()).catch((e) => {
  log(`bench: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
