// The floor client: the least work any WinRM client must do to stream a command's
// output from the test host. Raw HTTP/1.1 keep-alive on one socket, pre-built
// envelopes (only the MessageID changes), a regex to find the streams and
// Buffer.from(base64). No XML parsing, no checks beyond what it needs to loop.
// With NTLM, our provider authenticates the socket and seals/unseals each body:
// work every client must do, so it belongs to the floor.
// It runs in its own process; stdout gets one JSON line.
//   node out/bench/floor.js '{"mode":"stream"|"latency"|"ttfb","url":...,"user":...,"password":...,"command":...,"args":[...]}'
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { AuthSession, HttpReply } from '../src/core/auth/types';
import { createNtlmProvider } from '../src/core/auth/ntlm-provider';
import { ACTION, COMMAND_STATE, NS, RESOURCE } from '../src/core/wsman/namespaces';

interface FloorJob {
  mode?: 'stream' | 'latency' | 'ttfb';
  url: string;
  /** basic (default), or ntlm with sealing done by our NTLM provider (as any client must). */
  auth?: 'basic' | 'ntlm';
  user: string;
  password: string;
  command: string;
  args: string[];
  codepage?: number;
  maxEnvelopeSize?: number;
  /** latency: timed runs in one reused shell. */
  runs?: number;
  /** ttfb: untimed runs of the same command with these arguments first. */
  warmArgs?: string[];
  warmRuns?: number;
}

/** One kept-alive HTTP connection that posts a body and returns the reply. */
class RawHttp {
  private readonly socket: Socket;
  private chunks: Buffer[] = [];
  private have = 0;
  private waiting: ((b: HttpReply) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;
  private readonly head: string;
  /** Basic: the Authorization header for every request. NTLM: the sealing session after the handshake. */
  auth: AuthSession | undefined;

  constructor(readonly url: URL, authorization: string | undefined) {
    this.socket = connect(Number(url.port), url.hostname);
    this.socket.setNoDelay(true);
    this.head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}`;
    this.socket.on('data', (d: Buffer) => { this.chunks.push(d); this.have += d.length; this.tryComplete(); });
    this.socket.on('error', (e) => this.failed?.(e));
  }

  /** A SOAP request; sealed and unsealed when an NTLM session is set. */
  async post(soap: string): Promise<{ status: number; body: Buffer }> {
    if (!this.auth) return this.send({ 'Content-Type': 'application/soap+xml;charset=UTF-8' }, Buffer.from(soap));
    const { body, contentType } = this.auth.wrap(Buffer.from(soap));
    const reply = await this.send({ 'Content-Type': contentType }, body);
    return { status: reply.status, body: this.auth.unwrap(reply) };
  }

  send(headers: Record<string, string>, body: Buffer): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      let head = this.head;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      this.socket.write(`${head}Content-Length: ${body.length}\r\n\r\n`);
      this.socket.write(body);
    });
  }

  private tryComplete(): void {
    if (!this.waiting) return;
    const first = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    this.chunks = [first];
    const end = first.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = first.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.have < end + 4 + length) return;
    const headers: HttpReply['headers'] = {};
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'www-authenticate') headers[name] = [...((headers[name] as string[] | undefined) ?? []), value];
      else headers[name] = value;
    }
    const status = Number(head.slice(9, 12));
    const body = first.subarray(end + 4, end + 4 + length);
    const rest = first.subarray(end + 4 + length);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve({ status, headers, body });
  }

  close(): void {
    this.socket.destroy();
  }
}

function header(url: string, action: string, messageId: string, selectors: string, options: string, maxEnvelopeSize: number): string {
  return `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:w="${NS.wsman}" xmlns:rsp="${NS.shell}"><s:Header>` +
    `<a:To>${url}</a:To><w:ResourceURI s:mustUnderstand="true">${RESOURCE.cmdShell}</w:ResourceURI>` +
    `<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
    `<a:Action s:mustUnderstand="true">${action}</a:Action><w:MaxEnvelopeSize s:mustUnderstand="true">${maxEnvelopeSize}</w:MaxEnvelopeSize>` +
    `<a:MessageID>${messageId}</a:MessageID><w:OperationTimeout>PT20S</w:OperationTimeout>${selectors}${options}</s:Header>`;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const uuid = () => `uuid:${randomUUID().toUpperCase()}`;

async function createShell(http: RawHttp, job: FloorJob): Promise<string> {
  const create = await http.post(header(job.url, ACTION.create, uuid(), '',
    `<w:OptionSet><w:Option Name="WINRS_NOPROFILE">FALSE</w:Option><w:Option Name="WINRS_CODEPAGE">${job.codepage ?? 437}</w:Option></w:OptionSet>`, maxEnv(job)) +
    `<s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body></s:Envelope>`);
  const shellId = /Name="ShellId">([^<]+)</.exec(create.body.toString('latin1'))?.[1];
  if (!shellId) throw new Error(`no shell: ${create.status} ${create.body.toString().slice(0, 300)}`);
  return shellId;
}

const maxEnv = (job: FloorJob) => job.maxEnvelopeSize ?? 153_600;
const selectorsOf = (shellId: string) => `<w:SelectorSet><w:Selector Name="ShellId">${shellId}</w:Selector></w:SelectorSet>`;

async function deleteShell(http: RawHttp, job: FloorJob, shellId: string): Promise<void> {
  await http.post(header(job.url, ACTION.delete, uuid(), selectorsOf(shellId), '', maxEnv(job)) + '<s:Body/></s:Envelope>');
}

/** Command, then Receive until Done; counts the decoded stream bytes. */
async function runCommand(http: RawHttp, job: FloorJob, shellId: string, command: string, args: string[], started: number, arrivals?: { at: number; text: string }[]) {
  const selectors = selectorsOf(shellId);
  const cmd = await http.post(header(job.url, ACTION.command, uuid(), selectors,
    '<w:OptionSet><w:Option Name="WINRS_CONSOLEMODE_STDIN">TRUE</w:Option><w:Option Name="WINRS_SKIP_CMD_SHELL">FALSE</w:Option></w:OptionSet>', maxEnv(job)) +
    `<s:Body><rsp:CommandLine><rsp:Command>${escape(command)}</rsp:Command>${args.map((a) => `<rsp:Arguments>${escape(a)}</rsp:Arguments>`).join('')}</rsp:CommandLine></s:Body></s:Envelope>`);
  const commandId = /CommandId>([^<]+)</.exec(cmd.body.toString('latin1'))?.[1];
  if (!commandId) throw new Error(`no command: ${cmd.status} ${cmd.body.toString().slice(0, 300)}`);

  // The Receive envelope is built once; each request only gets a fresh MessageID.
  const MARK = 'uuid:00000000-0000-0000-0000-000000000000';
  const [pre, post] = (header(job.url, ACTION.receive, MARK, selectors, '<w:OptionSet><w:Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE</w:Option></w:OptionSet>', maxEnv(job)) +
    `<s:Body><rsp:Receive><rsp:DesiredStream CommandId="${commandId}">stdout stderr</rsp:DesiredStream></rsp:Receive></s:Body></s:Envelope>`).split(MARK);
  const streamRe = /<(?:\w+:)?Stream Name="(std\w+)"[^>]*>([^<]*)</g;
  const bytes = { stdout: 0, stderr: 0 };
  let receives = 0;
  let firstByteMs: number | undefined;
  for (;;) {
    const reply = await http.post(pre + uuid() + post);
    receives++;
    const text = reply.body.toString('latin1');
    if (reply.status !== 200) {
      if (text.includes('w:TimedOut') || text.includes('2150858793')) continue;
      throw new Error(`Receive failed: ${reply.status} ${text.slice(0, 300)}`);
    }
    streamRe.lastIndex = 0;
    for (let m = streamRe.exec(text); m; m = streamRe.exec(text)) {
      if (m[2].length === 0) continue;
      const data = Buffer.from(m[2], 'base64');
      arrivals?.push({ at: performance.timeOrigin + performance.now(), text: data.toString('utf8') });
      bytes[m[1] === 'stderr' ? 'stderr' : 'stdout'] += data.length;
      firstByteMs ??= performance.now() - started;
    }
    if (text.includes(COMMAND_STATE.done)) break;
  }
  return { bytes: bytes.stdout, stderrBytes: bytes.stderr, receives, firstByteMs };
}

/** A shell per run, as run_cmd does: Create, Command, Receive..., Delete. */
async function runOnce(http: RawHttp, job: FloorJob, command: string, args: string[]) {
  const started = performance.now();
  const shellId = await createShell(http, job);
  const r = await runCommand(http, job, shellId, command, args, started);
  await deleteShell(http, job, shellId);
  return { ms: performance.now() - started, ...r };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as FloorJob;
  const url = new URL(job.url);
  const http = new RawHttp(url, job.auth === 'ntlm' ? undefined : `Basic ${Buffer.from(`${job.user}:${job.password}`).toString('base64')}`);
  if (job.auth === 'ntlm') {
    const provider = createNtlmProvider({ credentials: { user: job.user, password: job.password }, encryption: 'always' });
    http.auth = await provider.handshake((req) => http.send(req.headers, req.body), { tls: false, hostname: url.hostname, peerCertificate: () => undefined }, new AbortController().signal);
  }
  // Untimed warm-up (connection, compiled code), as every benchmark client does.
  await runOnce(http, job, 'hostname', []);
  if (job.mode === 'ttfb') {
    // When each chunk of a slow command reached this client (wall clock, sub-ms).
    const arrivals: { at: number; text: string }[] = [];
    const shellId = await createShell(http, job);
    for (let i = 0; i < (job.warmRuns ?? 0); i++) await runCommand(http, job, shellId, job.command, job.warmArgs ?? job.args, performance.now());
    await runCommand(http, job, shellId, job.command, job.args, performance.now(), arrivals);
    await deleteShell(http, job, shellId);
    http.close();
    process.stdout.write(`${JSON.stringify({ arrivals })}\n`);
    return;
  }
  if (job.mode === 'latency') {
    // Many runs of a tiny command in one reused shell: the host's own cost per command.
    const shellId = await createShell(http, job);
    const times: number[] = [];
    const started = performance.now();
    for (let i = 0; i < (job.runs ?? 200); i++) {
      const t = performance.now();
      await runCommand(http, job, shellId, job.command, job.args, t);
      times.push(performance.now() - t);
    }
    const totalMs = performance.now() - started;
    await deleteShell(http, job, shellId);
    http.close();
    process.stdout.write(`${JSON.stringify({ runs: times.length, totalMs, times })}\n`);
    return;
  }
  const rssBefore = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const result = await runOnce(http, job, job.command, job.args);
  const used = process.cpuUsage(cpu);
  // maxRSS is the process's peak, in KiB.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  http.close();
  process.stdout.write(`${JSON.stringify({ ...result, cpuMs: (used.user + used.system) / 1000, sysMs: used.system / 1000, rssBefore, peakRss })}\n`);
}

main().catch((e) => {
  process.stderr.write(`floor: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
