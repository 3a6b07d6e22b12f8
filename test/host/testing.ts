// Helpers for the test host's own tests: a raw WS-Man client that writes envelopes by
// hand (with prefixes unlike the host's, so the host must read by namespace), and a
// reader for the captured-traffic fixtures.
import * as http from 'node:http';
import * as https from 'node:https';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { XmlElement, attr, child, children, parseXml, text } from './xml';
import { NS } from './wsman';

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header lines as sent (name, value, name, value, ...). */
  rawHeaders: string[];
  body: string;
}

export interface Fault {
  status: number;
  code: string;
  subcode: string;
  reason: string;
  wsmanCode: number;
  message: string;
  machine: string | undefined;
}

export interface ReceiveChunk {
  streams: { name: string; data: Buffer; end: boolean }[];
  state: string | undefined;
  exitCode: number | undefined;
  size: number;
}

export class WsmanFaultError extends Error {
  constructor(readonly fault: Fault) {
    super(`WS-Man fault ${fault.subcode} ${fault.wsmanCode}: ${fault.message.trim()}`);
  }
}

/** Reads a fault out of a reply, or undefined when the reply is not one. */
export function readFault(reply: RawReply): Fault | undefined {
  let env: XmlElement;
  try { env = parseXml(reply.body); } catch { return undefined; }
  const fault = child(child(env, NS.s, 'Body'), NS.s, 'Fault');
  if (!fault) return undefined;
  const code = child(fault, NS.s, 'Code');
  const wf = child(child(fault, NS.s, 'Detail'), NS.f, 'WSManFault');
  const msg = child(wf, NS.f, 'Message');
  const provider = child(msg, NS.f, 'ProviderFault');
  return {
    status: reply.status,
    code: text(child(code, NS.s, 'Value')),
    subcode: text(child(child(code, NS.s, 'Subcode'), NS.s, 'Value')),
    reason: text(child(child(fault, NS.s, 'Reason'), NS.s, 'Text')),
    wsmanCode: Number(attr(wf, 'Code')),
    message: provider ? text(provider) : text(msg),
    machine: attr(wf, 'Machine'),
  };
}

export interface ClientOptions {
  user?: string;
  password?: string;
  ca?: string;
  /** wsman:MaxEnvelopeSize sent with each request (default 153600, as pywinrm). */
  maxEnvelopeSize?: number;
  /** wsman:OperationTimeout (default PT20S). */
  operationTimeout?: string;
}

export interface CreateOptions {
  /** rsp:Name, as an element (pypsrp) or, with nameAttribute, as PowerShell writes it. */
  name?: string;
  nameAttribute?: boolean;
  env?: Record<string, string>;
  workingDirectory?: string;
  idleTimeout?: string;
  codePage?: number;
  noProfile?: boolean;
}

const SHELL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';
const WSEN = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';

/** A shell as an Enumerate or Pull lists it. */
export interface ListedShell {
  id: string;
  name: string | undefined;
  resourceUri: string;
  owner: string;
  state: string;
  /** The item's child element names, in order. */
  elements: string[];
}

/** One Enumerate or Pull reply: its items, context and whether the sequence ended. */
export interface EnumerationPage {
  root: XmlElement;
  shells: ListedShell[];
  context: string | undefined;
  end: boolean;
}

export function readEnumerationPage(root: XmlElement): EnumerationPage {
  const body = child(root, NS.s, 'Body');
  const response = child(body, WSEN, 'EnumerateResponse') ?? child(body, WSEN, 'PullResponse');
  if (!response) throw new Error('neither EnumerateResponse nor PullResponse');
  const items = child(response, NS.w, 'Items') ?? child(response, WSEN, 'Items');
  const ctx = child(response, WSEN, 'EnumerationContext');
  return {
    root,
    shells: children(items, NS.rsp, 'Shell').map((s) => ({
      id: text(child(s, NS.rsp, 'ShellId')),
      name: child(s, NS.rsp, 'Name') ? text(child(s, NS.rsp, 'Name')) : undefined,
      resourceUri: text(child(s, NS.rsp, 'ResourceUri')),
      owner: text(child(s, NS.rsp, 'Owner')),
      state: text(child(s, NS.rsp, 'State')),
      elements: s.children.filter((c): c is XmlElement => typeof c !== 'string').map((c) => c.local),
    })),
    context: ctx ? text(ctx) : undefined,
    end: !!(child(response, NS.w, 'EndOfSequence') ?? child(response, WSEN, 'EndOfSequence')),
  };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A WS-Man client that knows nothing of the host's internals. */
export class RawClient {
  private readonly agent: http.Agent;
  lastMessageId = '';

  constructor(readonly url: string, readonly opts: ClientOptions = {}) {
    this.agent = url.startsWith('https:') ? new https.Agent({ keepAlive: true, ca: opts.ca }) : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  /** POSTs a body as is. */
  post(body: string | Buffer, headers: Record<string, string> = {}, auth = true): Promise<RawReply> {
    const u = new URL(this.url);
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const h: Record<string, string> = { 'Content-Type': 'application/soap+xml;charset=UTF-8', 'Content-Length': String(data.length), ...headers };
    if (auth && !h.Authorization) h.Authorization = `Basic ${Buffer.from(`${this.opts.user ?? 'vagrant'}:${this.opts.password ?? 'vagrant'}`).toString('base64')}`;
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: h, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  /** An envelope with pywinrm-like prefixes (env:, a:, w:, p:), unlike the host's s:/w:. */
  envelope(action: string, body: string, o: { resourceUri?: string; shellId?: string; options?: Record<string, string>; timeout?: string; maxEnvelopeSize?: number } = {}): string {
    this.lastMessageId = `uuid:${randomUUID()}`;
    const opts = o.options && Object.keys(o.options).length
      ? `<w:OptionSet>${Object.entries(o.options).map(([k, v]) => `<w:Option Name="${esc(k)}">${esc(v)}</w:Option>`).join('')}</w:OptionSet>`
      : '';
    const sel = o.shellId ? `<w:SelectorSet><w:Selector Name="ShellId">${o.shellId}</w:Selector></w:SelectorSet>` : '';
    return (
      `<?xml version="1.0" encoding="utf-8"?>\n<env:Envelope xmlns:env="${NS.s}" xmlns:a="${NS.a}" xmlns:w="${NS.w}" xmlns:p="${NS.p}" xmlns:rsp="${NS.rsp}">` +
      `<env:Header><a:To>http://windows-host:5985/wsman</a:To><a:ReplyTo><a:Address env:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
      `<w:MaxEnvelopeSize env:mustUnderstand="true">${o.maxEnvelopeSize ?? this.opts.maxEnvelopeSize ?? 153600}</w:MaxEnvelopeSize>` +
      `<a:MessageID>${this.lastMessageId}</a:MessageID><w:Locale env:mustUnderstand="false" xml:lang="en-US"/>` +
      `<p:DataLocale env:mustUnderstand="false" xml:lang="en-US"/><w:OperationTimeout>${o.timeout ?? this.opts.operationTimeout ?? 'PT20S'}</w:OperationTimeout>` +
      `<w:ResourceURI env:mustUnderstand="true">${o.resourceUri ?? SHELL_URI}</w:ResourceURI>` +
      `<a:Action env:mustUnderstand="true">${action}</a:Action>${opts}${sel}</env:Header><env:Body>${body}</env:Body></env:Envelope>`
    );
  }

  /** Sends an envelope; returns the reply's root, or throws WsmanFaultError. */
  async call(soap: string): Promise<XmlElement> {
    const reply = await this.post(soap);
    const fault = readFault(reply);
    if (fault) throw new WsmanFaultError(fault);
    if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
    return parseXml(reply.body);
  }

  async create(o: CreateOptions = {}): Promise<string> {
    const env = o.env ? `<rsp:Environment>${Object.entries(o.env).map(([k, v]) => `<rsp:Variable Name="${esc(k)}">${esc(v)}</rsp:Variable>`).join('')}</rsp:Environment>` : '';
    const nameAttr = o.name !== undefined && o.nameAttribute ? ` Name="${esc(o.name)}"` : '';
    const nameEl = o.name !== undefined && !o.nameAttribute ? `<rsp:Name>${esc(o.name)}</rsp:Name>` : '';
    const body =
      `<rsp:Shell${nameAttr}><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>${nameEl}${env}` +
      (o.workingDirectory !== undefined ? `<rsp:WorkingDirectory>${esc(o.workingDirectory)}</rsp:WorkingDirectory>` : '') +
      (o.idleTimeout !== undefined ? `<rsp:IdleTimeOut>${o.idleTimeout}</rsp:IdleTimeOut>` : '') +
      `</rsp:Shell>`;
    const options: Record<string, string> = { WINRS_NOPROFILE: o.noProfile ? 'TRUE' : 'FALSE', WINRS_CODEPAGE: String(o.codePage ?? 65001) };
    const root = await this.call(this.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Create', body, { options }));
    const selector = children(child(child(child(child(root, NS.s, 'Body'), NS.x, 'ResourceCreated'), NS.a, 'ReferenceParameters'), NS.w, 'SelectorSet'), NS.w, 'Selector')
      .find((s) => attr(s, 'Name') === 'ShellId');
    return text(selector);
  }

  async command(shellId: string, command: string, args: string[] = [], o: { skipCmdShell?: boolean } = {}): Promise<string> {
    const body = `<rsp:CommandLine><rsp:Command>${esc(command)}</rsp:Command>${args.map((a) => `<rsp:Arguments>${esc(a)}</rsp:Arguments>`).join('')}</rsp:CommandLine>`;
    const root = await this.call(this.envelope('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command', body, {
      shellId, options: { WINRS_CONSOLEMODE_STDIN: 'TRUE', WINRS_SKIP_CMD_SHELL: o.skipCmdShell ? 'TRUE' : 'FALSE' },
    }));
    return text(child(child(child(root, NS.s, 'Body'), NS.rsp, 'CommandResponse'), NS.rsp, 'CommandId'));
  }

  receiveEnvelope(shellId: string, commandId: string, o: { timeout?: string; maxEnvelopeSize?: number; streams?: string } = {}): string {
    return this.envelope('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive',
      `<rsp:Receive><rsp:DesiredStream CommandId="${commandId}">${o.streams ?? 'stdout stderr'}</rsp:DesiredStream></rsp:Receive>`,
      { shellId, options: { WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'TRUE' }, timeout: o.timeout, maxEnvelopeSize: o.maxEnvelopeSize });
  }

  /** One Receive; the reply parsed, with its size in bytes. Throws WsmanFaultError. */
  async receive(shellId: string, commandId: string, o: { timeout?: string; maxEnvelopeSize?: number } = {}): Promise<ReceiveChunk> {
    const reply = await this.post(this.receiveEnvelope(shellId, commandId, o));
    const fault = readFault(reply);
    if (fault) throw new WsmanFaultError(fault);
    return parseReceive(reply.body);
  }

  /** Receives until Done (re-polling on TimedOut, as clients must). */
  async receiveAll(shellId: string, commandId: string, o: { timeout?: string; maxEnvelopeSize?: number; deadlineMs?: number } = {}): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number; replies: ReceiveChunk[] }> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const replies: ReceiveChunk[] = [];
    const deadline = Date.now() + (o.deadlineMs ?? 60_000);
    for (;;) {
      if (Date.now() > deadline) throw new Error('receiveAll: deadline passed');
      let r: ReceiveChunk;
      try {
        r = await this.receive(shellId, commandId, o);
      } catch (e) {
        if (e instanceof WsmanFaultError && e.fault.wsmanCode === 2150858793) continue;
        throw e;
      }
      replies.push(r);
      for (const s of r.streams) (s.name === 'stdout' ? out : err).push(s.data);
      if (r.exitCode !== undefined) return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: r.exitCode, replies };
    }
  }

  async send(shellId: string, commandId: string, data: Buffer, end: boolean): Promise<void> {
    await this.call(this.envelope('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
      `<rsp:Send><rsp:Stream Name="stdin" CommandId="${commandId}"${end ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream></rsp:Send>`, { shellId }));
  }

  async signal(shellId: string, commandId: string, code: 'terminate' | 'ctrl_c' | 'ctrl_break'): Promise<XmlElement> {
    return this.call(this.envelope('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal',
      `<rsp:Signal CommandId="${commandId}"><rsp:Code>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/${code}</rsp:Code></rsp:Signal>`, { shellId }));
  }

  async delete(shellId: string): Promise<XmlElement> {
    return this.call(this.envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete', '', { shellId }));
  }

  /** An Enumerate of shells: optimized (items in the reply) unless told otherwise, as pypsrp sends it. */
  enumerateEnvelope(o: { resourceUri?: string; optimize?: boolean; maxElements?: number; filter?: boolean; maxEnvelopeSize?: number } = {}): string {
    const filter = o.filter
      ? '<w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"><w:SelectorSet><w:Selector Name="ShellId">00000000-0000-0000-0000-000000000000</w:Selector></w:SelectorSet></w:Filter>'
      : '';
    const optimize = o.optimize === false ? '' : `<w:OptimizeEnumeration/>${o.maxElements !== undefined ? `<w:MaxElements>${o.maxElements}</w:MaxElements>` : ''}`;
    return this.envelope('http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate', `<n:Enumerate xmlns:n="${WSEN}">${optimize}${filter}</n:Enumerate>`,
      { resourceUri: o.resourceUri ?? 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell', maxEnvelopeSize: o.maxEnvelopeSize });
  }

  pullEnvelope(context: string, o: { resourceUri?: string; maxElements?: number; maxEnvelopeSize?: number } = {}): string {
    return this.envelope('http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull',
      `<n:Pull xmlns:n="${WSEN}"><n:EnumerationContext>${esc(context)}</n:EnumerationContext>${o.maxElements !== undefined ? `<n:MaxElements>${o.maxElements}</n:MaxElements>` : ''}</n:Pull>`,
      { resourceUri: o.resourceUri ?? 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell', maxEnvelopeSize: o.maxEnvelopeSize });
  }

  /** Every shell the host lists, through Enumerate and as many Pulls as it takes; also the pages. */
  async listShells(o: { maxElements?: number; maxEnvelopeSize?: number; resourceUri?: string } = {}): Promise<{ shells: ListedShell[]; pages: EnumerationPage[] }> {
    const pages = [readEnumerationPage(await this.call(this.enumerateEnvelope({ ...o, maxElements: o.maxElements ?? 32000 })))];
    while (!pages.at(-1)!.end) {
      if (pages.length > 1000) throw new Error('listShells: no end of sequence');
      pages.push(readEnumerationPage(await this.call(this.pullEnvelope(pages.at(-1)!.context ?? '', { ...o, maxElements: o.maxElements ?? 32000 }))));
    }
    return { shells: pages.flatMap((p) => p.shells), pages };
  }

  /** Create, run one command to the end, delete. */
  async run(command: string, args: string[] = [], o: CreateOptions & { skipCmdShell?: boolean; stdin?: Buffer } = {}) {
    const shellId = await this.create(o);
    try {
      const id = await this.command(shellId, command, args, o);
      if (o.stdin) await this.send(shellId, id, o.stdin, true);
      return await this.receiveAll(shellId, id);
    } finally {
      await this.delete(shellId);
    }
  }
}

export function parseReceive(body: string): ReceiveChunk {
  const root = parseXml(body);
  const rr = child(child(root, NS.s, 'Body'), NS.rsp, 'ReceiveResponse');
  const state = child(rr, NS.rsp, 'CommandState');
  const exit = child(state, NS.rsp, 'ExitCode');
  return {
    streams: children(rr, NS.rsp, 'Stream').map((s) => ({ name: attr(s, 'Name') ?? '', data: Buffer.from(text(s), 'base64'), end: attr(s, 'End') === 'true' })),
    state: attr(state, 'State'),
    exitCode: exit ? Number(text(exit)) : undefined,
    size: Buffer.byteLength(body),
  };
}

/** GET /_test/shells: the host's open shells, as another process sees them. */
export async function controlShells(url: string, ca?: string): Promise<{ open: number; shells: { id: string; commands: { id: string; pid?: number; bufferedBytes: number; peakBufferedBytes: number; done: boolean }[] }[] }> {
  const u = new URL('/_test/shells', url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    mod.get(u, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

// ---------------------------------------------------------------------------------
// Fixtures: `messages:` then `- request: <xml>` / `  response: <xml>` lines, each XML
// on one line (plain, or single-quoted with '' for '), optional `transport_error:`
// with `    code: N`. Other keys (pypsrp's `overrides`) are skipped.

export interface FixtureMessage {
  request: string;
  response: string;
  httpStatus: number;
}

function scalar(v: string): string {
  const t = v.trim();
  if (t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.startsWith('"')) throw new Error('double-quoted YAML scalars are not expected in the fixtures');
  return t;
}

export function readFixture(path: string): FixtureMessage[] {
  const out: FixtureMessage[] = [];
  let inTransportError = false;
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    let m: RegExpExecArray | null;
    if ((m = /^- request: (.*)$/.exec(line))) { out.push({ request: scalar(m[1]), response: '', httpStatus: 200 }); inTransportError = false; }
    else if ((m = /^ {2}response: (.*)$/.exec(line))) out[out.length - 1].response = scalar(m[1]);
    else if (/^ {2}transport_error:/.test(line)) inTransportError = true;
    else if ((m = /^ {4}code: (\d+)/.exec(line)) && inTransportError) out[out.length - 1].httpStatus = Number(m[1]);
    else if (/^ {2}\S/.test(line)) inTransportError = false;
  }
  return out;
}
