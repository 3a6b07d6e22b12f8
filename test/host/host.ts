// The project's WinRM test host: a WS-Management / WinRS server on loopback that answers
// like a Windows host (captured in ../shared/fixtures) and runs what it is asked to run
// in real programs (pwsh for PowerShell, wine's cmd for cmd lines, winrm-test for
// scripted protocol tests). See README.md in this folder.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { findRoot } from '../support/peers';
import { Acceptor, Accounts, AuthScheme, ConnectionContext, SOAP_CONTENT_TYPE, basicScheme, parseAuthorization } from './auth';
import { charsetOfCodePage } from './codepage';
import { ensureWindowsDir, isDirectory, planLaunch, resolveWindowsPath, Runtime, PWSH_INSTALL_HINT } from './launch';
import { Command, ShellInfo, ShellManager } from './shells';
import { createTestCertificates, TestCertificates } from './tls';
import type { XmlElement } from './xml';
import {
  ACTION, FAULTS, NS, RESOURCE_CMD, RESOURCE_CONFIG, RESOURCE_SHELLS, SIGNAL, WsmanFault, WsmanRequest,
  attr, child, children, commandResponseBody, configBody, enumerateResponseBody, envelope, faultEnvelope, parseDuration, parseRequest,
  pullResponseBody, resourceCreatedBody, shellElement, text,
} from './wsman';

export interface TestHostOptions {
  /** TCP port; 0 (the default here) picks a free one. main.ts defaults to 5985/5986. */
  port?: number;
  /** Loopback address to listen on (127.0.0.1 by default; ::1 and localhost work too). Nothing else is allowed. */
  bind?: string;
  https?: boolean;
  /** Names (DNS or IP) on the HTTPS certificate; default localhost and 127.0.0.1. Another name gives a mismatch. */
  certificateName?: string | string[];
  /** The local account; default vagrant with password $WINRM_PASSWORD or vagrant. */
  user?: string;
  password?: string;
  /** More local accounts (user -> password). */
  accounts?: Accounts;
  /**
   * Authentication schemes. Default: Basic with the accounts. A function gets the
   * accounts and the host's 401 (for acceptors that refuse) and returns the schemes.
   */
  schemes?: AuthScheme[] | ((ctx: SchemeContext) => AuthScheme[]);
  /** WWW-Authenticate values a bare 401 offers; default each scheme's challenge. */
  offerSchemes?: string[];
  /** false: requests over HTTP must be sealed (NTLM/CredSSP encryption), like AllowUnencrypted=false. Default true. */
  allowUnencrypted?: boolean;
  /** winrm/config MaxEnvelopeSizekb (default 500): caps replies, and larger requests get HTTP 413. */
  maxEnvelopeSizeKb?: number;
  /** winrm/config MaxTimeoutms (default 60000): caps OperationTimeout. */
  maxTimeoutMs?: number;
  /** winrm/config/winrs MaxShellsPerUser (default 30). */
  maxShellsPerUser?: number;
  /** Shell idle timeout when Create does not give one (default 7200000, Windows' default). */
  idleTimeoutMs?: number;
  /** Code page when Create has no WINRS_CODEPAGE (default 437, an en-US host's OEM code page). */
  defaultCodePage?: number;
  /** What `hostname`, COMPUTERNAME and the config report (default WINRM-TEST). */
  hostName?: string;
  /** pwsh binary; default <root>/.tools/pwsh/pwsh; null behaves as if it were missing. */
  pwshPath?: string | null;
  /** wine binary or false to behave as if wine were missing; default: `wine` on PATH. */
  wine?: string | false;
  /** WINEPREFIX; default <root>/.cache/wine. */
  winePrefix?: string;
  /** Output bytes queued per command before the child's pipes are paused (default 4 MiB). */
  outputBufferBytes?: number;
  /** How long a Receive that has output waits for more (default 20 ms). */
  receiveCoalesceMs?: number;
  /** Fault-injection hooks (can be changed later with setHooks). */
  hooks?: HostHooks;
  /** Log lines (why wine is not used, idle shells closed, ...). Default: none. */
  log?: (line: string) => void;
}

export interface SchemeContext {
  accounts: Accounts;
  /** The host's bare 401 (status and WWW-Authenticate headers). */
  unauthorized(): { status: number; headers: Record<string, string | string[]> };
}

/** What hooks see of a request. */
export interface RequestInfo {
  connectionId: number;
  user: string;
  /** The plain SOAP request. */
  soap: string;
  /** Parsed request (undefined when the SOAP does not parse). */
  request: WsmanRequest | undefined;
  action: string;
}

export interface ReplyInfo {
  status: number;
  soap: string;
}

/**
 * A hook's decision: nothing (go on), a delay, dropping the connection without a reply,
 * or a replacement reply (`raw` sends the body as is, bypassing the acceptor's wrap).
 */
export type HookDecision = void | undefined | {
  delayMs?: number;
  drop?: boolean;
  reply?: { status: number; body: string | Buffer; contentType?: string; headers?: Record<string, string>; raw?: boolean };
  /**
   * Send the headers (with the full Content-Length) and only this many bytes of the body,
   * then drop the connection: of `reply`, or in onReply alone, of the host's own reply.
   */
  cut?: number;
};

export interface HostHooks {
  /** Before the host handles an authenticated request. */
  onRequest?(info: RequestInfo): HookDecision | Promise<HookDecision>;
  /** After the host computed its reply, before it is wrapped and sent. */
  onReply?(info: RequestInfo, reply: ReplyInfo): HookDecision | Promise<HookDecision>;
}

export interface TestHost {
  /** http(s)://127.0.0.1:port/wsman */
  readonly url: string;
  readonly port: number;
  readonly https: boolean;
  /** The CA to trust for HTTPS (PEM text and file). */
  readonly caPem: string | undefined;
  readonly caPemPath: string | undefined;
  readonly certificates: TestCertificates | undefined;
  readonly user: string;
  readonly password: string;
  /** pwsh and wine as found (undefined: missing). */
  readonly pwsh: string | undefined;
  readonly wine: string | undefined;
  /** Resolves true once the wine prefix is ready (false without wine). */
  wineReady(): Promise<boolean>;
  /** Number of open shells. */
  openShells(): number;
  /** The open shells and their commands. */
  shells(): ShellInfo[];
  setHooks(hooks: HostHooks | undefined): void;
  close(): Promise<void>;
}

const SERVER_HEADER = 'Microsoft-HTTPAPI/2.0';

interface ConnState {
  ctx: ConnectionContext;
  acceptor: Acceptor | undefined;
  scheme: AuthScheme | undefined;
}

function isLoopback(address: string): boolean {
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address === '::ffff:127.0.0.1';
}

function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, program);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export async function startTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  const log = options.log ?? (() => {});
  const bind = options.bind ?? '127.0.0.1';
  if (!isLoopback(bind)) throw new Error(`The WinRM test host listens on loopback only; refusing to bind ${bind}.`);
  const user = options.user ?? 'vagrant';
  const password = options.password ?? process.env.WINRM_PASSWORD ?? 'vagrant';
  const accounts: Accounts = { ...options.accounts, [user]: password };
  const hostName = options.hostName ?? 'WINRM-TEST';
  const maxEnvelopeSizeKb = options.maxEnvelopeSizeKb ?? 500;
  const maxTimeoutMs = options.maxTimeoutMs ?? 60_000;
  const allowUnencrypted = options.allowUnencrypted ?? true;
  const root = findRoot();
  const tmp = await mkdtemp(join(tmpdir(), 'winrm-test-host-'));
  let hooks = options.hooks;

  // --- programs -------------------------------------------------------------------
  const pwshExpected = options.pwshPath ?? join(root, '.tools', 'pwsh', 'pwsh');
  const pwsh = options.pwshPath === null ? undefined : existsSync(pwshExpected) ? pwshExpected : undefined;
  if (!pwsh) log(`PowerShell is MISSING (looked for ${pwshExpected}): powershell/pwsh commands will answer an error. Install: ${PWSH_INSTALL_HINT}`);
  const wine = options.wine === false ? undefined : options.wine ?? which('wine');
  if (!wine) log('wine is not installed: cmd lines answer "is not recognized" (install: apt-get install --no-install-recommends -y wine wine64)');
  const winePrefix = options.winePrefix ?? join(root, '.cache', 'wine');
  const driveC = wine ? join(winePrefix, 'drive_c') : join(tmp, 'drive_c');
  const wineEnv = { WINEPREFIX: winePrefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  const wineReady = wine ? warmWine(wine, winePrefix, wineEnv, log) : Promise.resolve(false);
  const driveCReady = wineReady.then(() => {
    for (const d of ['Windows', 'Users\\Default', `Users\\${user}`]) ensureWindowsDir(driveC, d);
  });
  const scriptedMain = join(root, 'out', 'test', 'host', 'winrm-test', 'main.js');
  if (!existsSync(scriptedMain)) log(`winrm-test is not built (${scriptedMain}): run node .ci/build.mjs test/host`);
  const rt: Runtime = { pwsh, pwshExpected, wine, winePrefix, wineReady, driveC, scriptedMain, hostName, log };

  const mgr = new ShellManager({
    maxShellsPerUser: options.maxShellsPerUser ?? 30,
    outputBufferBytes: options.outputBufferBytes ?? 4 * 1024 * 1024,
    coalesceMs: options.receiveCoalesceMs ?? 20,
    pipeGraceMs: 250,
    log,
  });

  // --- authentication ---------------------------------------------------------------
  let offered: string[] = [];
  const unauthorized = () => ({ status: 401, headers: { 'WWW-Authenticate': offered, Server: SERVER_HEADER, 'Content-Length': '0' } as Record<string, string | string[]> });
  const schemeCtx: SchemeContext = { accounts, unauthorized };
  const schemes = typeof options.schemes === 'function'
    ? options.schemes(schemeCtx)
    : options.schemes ?? [basicScheme(accounts, unauthorized)];
  offered = options.offerSchemes ?? schemes.map((s) => s.challenge);

  // --- TLS ---------------------------------------------------------------------------
  let certificates: TestCertificates | undefined;
  if (options.https) {
    const names = options.certificateName === undefined ? ['localhost', '127.0.0.1'] : ([] as string[]).concat(options.certificateName);
    certificates = await createTestCertificates(tmp, names);
  }

  const connections = new WeakMap<Socket, ConnState>();
  let nextConnId = 1;
  const sockets = new Set<Socket>();
  function connState(socket: Socket): ConnState {
    let st = connections.get(socket);
    if (!st) {
      const tls = 'encrypted' in socket && (socket as TLSSocket).encrypted === true;
      st = {
        ctx: { id: nextConnId++, tls, remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''), serverCertificate: certificates?.certDer },
        acceptor: undefined,
        scheme: undefined,
      };
      connections.set(socket, st);
      socket.once('close', () => st!.acceptor?.dispose());
    }
    return st;
  }

  // --- requests ------------------------------------------------------------------------
  const maxEnvelopeBytes = maxEnvelopeSizeKb * 1024;
  // Sealed bodies carry framing and signatures on top of the SOAP.
  const rawLimit = maxEnvelopeBytes + 64 * 1024;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/_test/shells' && req.method === 'GET') {
      req.resume();
      const body = JSON.stringify({ open: mgr.shells.size, shells: [...mgr.shells.values()].map((s) => s.info()) });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (path.toLowerCase() !== '/wsman') return plain(req, res, 404);
    if (req.method !== 'POST') return plain(req, res, 405);
    const body = await readBody(req, rawLimit);
    if (body === undefined) {
      // Windows answers an envelope over MaxEnvelopeSizekb with HTTP 413 (clients report "Code 413").
      res.writeHead(413, { Server: SERVER_HEADER, 'Content-Length': '0', Connection: 'close' });
      res.end(() => req.socket.destroy());
      return;
    }
    const conn = connState(req.socket);
    const authorization = parseAuthorization(req.headers.authorization);
    if (authorization) {
      const scheme = schemes.find((s) => s.name.toLowerCase() === authorization.scheme.toLowerCase());
      if (!scheme) return sendReply(res, unauthorized());
      if (!conn.acceptor || conn.scheme !== scheme) {
        conn.acceptor?.dispose();
        conn.acceptor = scheme.createAcceptor(conn.ctx);
        conn.scheme = scheme;
      }
    } else if (!conn.acceptor) {
      return sendReply(res, unauthorized());
    }
    const acceptor = conn.acceptor;
    const result = await acceptor.accept({ headers: req.headers, authorization, contentType: req.headers['content-type'], body });
    if (result.kind === 'reply') return sendReply(res, { status: result.status, headers: { Server: SERVER_HEADER, ...result.headers }, body: result.body });
    if (!conn.ctx.tls && !result.encrypted && !allowUnencrypted) return sendReply(res, unauthorized());
    if (result.soap.length > maxEnvelopeBytes) {
      res.writeHead(413, { Server: SERVER_HEADER, 'Content-Length': '0', Connection: 'close' });
      res.end(() => req.socket.destroy());
      return;
    }

    const soap = result.soap.toString('utf8');
    let request: WsmanRequest | undefined;
    try { request = parseRequest(soap); } catch { request = undefined; }
    const info: RequestInfo = { connectionId: conn.ctx.id, user: result.user, soap, request, action: request?.action ?? '' };
    const cancelled = new AbortController();
    res.on('close', () => { if (!res.writableFinished) cancelled.abort(); });

    let decision = await hooks?.onRequest?.(info);
    if (await applyDecision(decision, res, acceptor)) return;
    const reply = await processSoap(soap, request, result.user, conn.ctx, req, cancelled.signal);
    if (cancelled.signal.aborted) return;
    decision = await hooks?.onReply?.(info, reply);
    if (await applyDecision(decision, res, acceptor)) return;
    const wrapped = acceptor.wrap(Buffer.from(reply.soap, 'utf8'));
    (decision?.cut !== undefined ? (r: Parameters<typeof sendReply>[1]) => sendCut(res, r, decision!.cut!) : (r: Parameters<typeof sendReply>[1]) => sendReply(res, r))({
      status: reply.status,
      headers: { Server: SERVER_HEADER, 'Content-Type': wrapped.contentType, ...result.headers },
      body: wrapped.body,
    });
  }

  /** Applies a hook decision; true when the request is finished (replaced or dropped). */
  async function applyDecision(d: HookDecision, res: http.ServerResponse, acceptor: Acceptor): Promise<boolean> {
    if (!d) return false;
    if (d.delayMs) await new Promise((r) => setTimeout(r, d.delayMs));
    if (d.drop) { res.socket?.destroy(); return true; }
    if (d.reply) {
      const raw = typeof d.reply.body === 'string' ? Buffer.from(d.reply.body, 'utf8') : d.reply.body;
      const wrapped = d.reply.raw ? { body: raw, contentType: d.reply.contentType ?? SOAP_CONTENT_TYPE } : acceptor.wrap(raw);
      const out = { status: d.reply.status, headers: { Server: SERVER_HEADER, 'Content-Type': d.reply.contentType ?? wrapped.contentType, ...d.reply.headers }, body: wrapped.body };
      if (d.cut !== undefined) sendCut(res, out, d.cut); else sendReply(res, out);
      return true;
    }
    return false;
  }

  async function processSoap(soap: string, request: WsmanRequest | undefined, user: string, ctx: ConnectionContext, req: http.IncomingMessage, cancelled: AbortSignal): Promise<ReplyInfo> {
    const machine = (req.headers.host ?? hostName).replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    let relatesTo = request?.messageId ?? '';
    try {
      if (!request) request = parseRequest(soap); // throws the Windows fault for bad XML
      relatesTo = request.messageId;
      if (!request.action || !request.messageId) throw new WsmanFault(FAULTS.headerRequired());
      if (request.maxEnvelopeSize !== undefined && !(request.maxEnvelopeSize >= 8192)) throw new WsmanFault(FAULTS.envelopeSizeTooSmall());
      const maxEnvelope = Math.min(request.maxEnvelopeSize ?? maxEnvelopeBytes, maxEnvelopeBytes);
      const address = request.to ?? `${ctx.tls ? 'https' : 'http'}://${req.headers.host ?? bind}/wsman`;
      const soapReply = await dispatch(request, { user, ctx, maxEnvelope, address, cancelled });
      return { status: 200, soap: soapReply };
    } catch (e) {
      if (e instanceof WsmanFault) return { status: e.fault.status ?? 500, soap: faultEnvelope(e.fault, relatesTo, machine) };
      if (!cancelled.aborted) log(`internal error: ${(e as Error).stack ?? e}`);
      return {
        status: 500,
        soap: faultEnvelope({ code: 's:Receiver', subcode: 'w:InternalError', reason: `WinRM test host internal error: ${(e as Error).message} `, wsmanCode: 2150858753 }, relatesTo, machine),
      };
    }
  }

  interface Ctx { user: string; ctx: ConnectionContext; maxEnvelope: number; address: string; cancelled: AbortSignal }

  async function dispatch(r: WsmanRequest, c: Ctx): Promise<string> {
    const body = r.body;
    switch (r.action) {
      case ACTION.get:
        if (r.resourceUri !== RESOURCE_CONFIG) throw new WsmanFault(FAULTS.resourceNotFound());
        return envelope('get', `${ACTION.get}Response`, r.messageId, configBody({
          maxEnvelopeSizeKb, maxTimeoutMs, allowUnencrypted,
          // The service's Auth settings are what its 401 offers.
          basic: offers('basic'),
          kerberos: offers('kerberos') || offers('negotiate'),
          negotiate: offers('negotiate'),
          credssp: offers('credssp'),
          idleTimeoutMs: options.idleTimeoutMs ?? 7_200_000,
          maxShellsPerUser: mgr.settings.maxShellsPerUser,
        }));
      case ACTION.create:
        requireShellResource(r);
        return createShell(r, c);
      case ACTION.delete: {
        requireShellResource(r);
        const shell = mgr.get(r.selectors.get('ShellId'));
        mgr.delete(shell.id);
        return envelope('delete', `${ACTION.delete}Response`, r.messageId, '');
      }
      case ACTION.command:
        requireShellResource(r);
        return runCommand(r, c);
      case ACTION.receive: {
        requireShellResource(r);
        const shell = mgr.get(r.selectors.get('ShellId'));
        const ds = child(child(body, NS.rsp, 'Receive'), NS.rsp, 'DesiredStream');
        const cmd = shell.command(attr(ds, 'CommandId') ?? '');
        const streams = text(ds).trim() ? text(ds).trim().split(/\s+/) : ['stdout', 'stderr'];
        const timeout = Math.min(parseDuration(r.operationTimeout ?? '') ?? maxTimeoutMs, maxTimeoutMs);
        const reply = await cmd.receive(streams, r.messageId, c.maxEnvelope, Math.max(0, timeout), c.cancelled);
        shell.touch();
        return reply;
      }
      case ACTION.send: {
        requireShellResource(r);
        const shell = mgr.get(r.selectors.get('ShellId'));
        for (const s of children(child(body, NS.rsp, 'Send'), NS.rsp, 'Stream')) {
          const cmd = shell.command(attr(s, 'CommandId') ?? '');
          await cmd.send(Buffer.from(text(s).replace(/\s+/g, ''), 'base64'), /^true$/i.test(attr(s, 'End') ?? ''));
        }
        return envelope('shell', `${ACTION.send}Response`, r.messageId, '<rsp:SendResponse/>');
      }
      case ACTION.enumerate:
        return enumerateShells(r, c);
      case ACTION.pull:
        return pullShells(r, c);
      case ACTION.release: {
        requireListResource(r);
        const ctx = takeContext(text(child(child(r.body, NS.n, 'Release'), NS.n, 'EnumerationContext')).trim(), c.user);
        enumerations.delete(ctx.id);
        return envelope('enumerate', `${ACTION.release}Response`, r.messageId, '');
      }
      case ACTION.signal: {
        requireShellResource(r);
        const shell = mgr.get(r.selectors.get('ShellId'));
        const sig = child(body, NS.rsp, 'Signal');
        const cmd = shell.command(attr(sig, 'CommandId') ?? '');
        const code = text(child(sig, NS.rsp, 'Code')).trim();
        if (code === SIGNAL.terminate) {
          // The process tree ends and the command is gone: a later Receive gets the fault.
          cmd.removed = true;
          cmd.kill();
          shell.commands.delete(cmd.id);
        } else if (code === SIGNAL.ctrlC || code === SIGNAL.ctrlBreak) {
          cmd.signal('SIGINT');
        } else {
          throw new WsmanFault(FAULTS.schema(`The signal code ${code} is not supported. `));
        }
        return envelope('shell', `${ACTION.signal}Response`, r.messageId, '<rsp:SignalResponse/>');
      }
      default:
        throw new WsmanFault(FAULTS.actionNotSupported());
    }
  }

  function offers(scheme: string): boolean {
    return offered.some((o) => o.split(/\s/)[0].toLowerCase() === scheme);
  }

  function requireShellResource(r: WsmanRequest): void {
    if (r.resourceUri !== RESOURCE_CMD) throw new WsmanFault(FAULTS.resourceNotFound());
  }

  // --- listing shells (WS-Enumeration) -----------------------------------------------
  // A user lists their own shells, oldest first. The list is fixed at Enumerate; a shell
  // deleted before its turn is left out. A context lives EnumerationTimeoutms (240 s,
  // as configBody reports) after its last use, as on Windows.
  interface Enumeration { id: string; user: string; pending: string[]; expires: number }
  const enumerations = new Map<string, Enumeration>();
  const ENUMERATION_TIMEOUT_MS = 240_000;

  function requireListResource(r: WsmanRequest): void {
    if (r.resourceUri !== RESOURCE_SHELLS && r.resourceUri !== RESOURCE_CMD) throw new WsmanFault(FAULTS.resourceNotFound());
  }

  function takeContext(id: string, user: string): Enumeration {
    const now = Date.now();
    for (const [k, e] of enumerations) if (e.expires <= now) enumerations.delete(k);
    const e = enumerations.get(id);
    if (!e || e.user.toLowerCase() !== user.toLowerCase()) throw new WsmanFault(FAULTS.invalidEnumerationContext());
    return e;
  }

  /** MaxElements as sent (1 when absent, as DSP0226 says); nonsense is a schema fault. */
  function maxElementsOf(el: XmlElement | undefined): number {
    if (!el) return 1;
    const n = Number(text(el).trim());
    if (!Number.isInteger(n) || n < 1) throw new WsmanFault(FAULTS.schema());
    return n;
  }

  /** Takes from the front of `e.pending` the items that fit `maxElements` and the envelope. */
  function nextItems(e: Enumeration, maxElements: number, maxEnvelope: number): string[] {
    // Room for the envelope, the context and the end markers.
    let budget = maxEnvelope - 2048;
    const items: string[] = [];
    const now = Date.now();
    while (e.pending.length > 0 && items.length < maxElements) {
      const shell = mgr.shells.get(e.pending[0]);
      if (!shell) { e.pending.shift(); continue; }
      const item = shellElement(shell, now, true);
      const size = Buffer.byteLength(item);
      if (items.length > 0 && size > budget) break;
      items.push(item);
      budget -= size;
      e.pending.shift();
    }
    return items;
  }

  function enumerateShells(r: WsmanRequest, c: Ctx): string {
    requireListResource(r);
    const en = child(r.body, NS.n, 'Enumerate');
    if (!en) throw new WsmanFault(FAULTS.schema("WinRM cannot process the request because the request is missing the element titled 'Enumerate'. "));
    if (child(en, NS.w, 'Filter') || child(en, NS.n, 'Filter')) throw new WsmanFault(FAULTS.filteringNotSupported());
    const e: Enumeration = {
      id: `uuid:${randomUUID().toUpperCase()}`,
      user: c.user,
      pending: [...mgr.shells.values()]
        // Every shell here is a cmd shell: .../windows/shell and .../windows/shell/cmd list the same ones.
        .filter((s) => s.owner.toLowerCase() === c.user.toLowerCase())
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((s) => s.id),
      expires: Date.now() + ENUMERATION_TIMEOUT_MS,
    };
    let items: string[] | undefined;
    if (child(en, NS.w, 'OptimizeEnumeration')) items = nextItems(e, maxElementsOf(child(en, NS.w, 'MaxElements')), c.maxEnvelope);
    const end = items !== undefined && e.pending.length === 0;
    if (!end) enumerations.set(e.id, e);
    return envelope('enumerate', `${ACTION.enumerate}Response`, r.messageId, enumerateResponseBody(e.id, items, end));
  }

  function pullShells(r: WsmanRequest, c: Ctx): string {
    requireListResource(r);
    const pull = child(r.body, NS.n, 'Pull');
    if (!pull) throw new WsmanFault(FAULTS.schema("WinRM cannot process the request because the request is missing the element titled 'Pull'. "));
    const e = takeContext(text(child(pull, NS.n, 'EnumerationContext')).trim(), c.user);
    const items = nextItems(e, maxElementsOf(child(pull, NS.n, 'MaxElements')), c.maxEnvelope);
    const end = e.pending.length === 0;
    if (end) enumerations.delete(e.id);
    else e.expires = Date.now() + ENUMERATION_TIMEOUT_MS;
    return envelope('enumerate', `${ACTION.pull}Response`, r.messageId, pullResponseBody(e.id, items, end));
  }

  function createShell(r: WsmanRequest, c: Ctx): string {
    const el = child(r.body, NS.rsp, 'Shell');
    if (!el) throw new WsmanFault(FAULTS.schema());
    // rsp:Name as pypsrp writes it (an element); PowerShell writes a Name attribute.
    const nameEl = child(el, NS.rsp, 'Name');
    const name = nameEl ? text(nameEl).trim() : attr(el, 'Name');
    const environment: [string, string][] = children(child(el, NS.rsp, 'Environment'), NS.rsp, 'Variable')
      .map((v) => [attr(v, 'Name') ?? '', text(v)] as [string, string]);
    const wdEl = child(el, NS.rsp, 'WorkingDirectory');
    const idleEl = child(el, NS.rsp, 'IdleTimeOut');
    let idleTimeoutMs = options.idleTimeoutMs ?? 7_200_000;
    if (idleEl) {
      // IdleTimeOut is an xs:duration; Windows refuses milliseconds (pywinrm issue 377).
      const ms = parseDuration(text(idleEl));
      if (ms === undefined || ms <= 0) throw new WsmanFault(FAULTS.schema());
      idleTimeoutMs = ms;
    }
    const codePage = r.options.has('WINRS_CODEPAGE') ? Number(r.options.get('WINRS_CODEPAGE')) : options.defaultCodePage ?? 437;
    const charset = Number.isInteger(codePage) ? charsetOfCodePage(codePage) : undefined;
    if (!charset) throw new WsmanFault(FAULTS.schema(`The code page ${r.options.get('WINRS_CODEPAGE')} is not supported by the WinRM test host. `));
    const shell = mgr.create({
      name,
      owner: c.user,
      clientIp: c.ctx.remoteAddress,
      environment,
      workingDirectory: wdEl ? text(wdEl).trim() : undefined,
      idleTimeoutMs,
      codePage,
      charset,
      noProfile: /^true$/i.test(r.options.get('WINRS_NOPROFILE') ?? ''),
    });
    return envelope('shell', `${ACTION.create}Response`, r.messageId, resourceCreatedBody(c.address, shell, Date.now()));
  }

  /** The environment Windows programs in the shell see. */
  function windowsEnv(owner: string, noProfile: boolean, extra: [string, string][]): Record<string, string> {
    const profile = noProfile ? 'C:\\Users\\Default' : `C:\\Users\\${owner}`;
    const env: Record<string, string> = {
      ALLUSERSPROFILE: 'C:\\ProgramData', APPDATA: `${profile}\\AppData\\Roaming`, COMPUTERNAME: hostName,
      ComSpec: 'C:\\Windows\\system32\\cmd.exe', HOMEDRIVE: 'C:', HOMEPATH: profile.slice(2), LOCALAPPDATA: `${profile}\\AppData\\Local`,
      OS: 'Windows_NT', PATHEXT: '.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC', PROCESSOR_ARCHITECTURE: 'AMD64',
      PROMPT: '$P$G', PUBLIC: 'C:\\Users\\Public', SystemDrive: 'C:', SystemRoot: 'C:\\Windows', USERDOMAIN: hostName,
      USERNAME: owner, USERPROFILE: profile, windir: 'C:\\Windows',
    };
    for (const [k, v] of extra) if (k && !k.includes('=') && !k.includes('\0')) env[k] = v;
    return env;
  }

  async function runCommand(r: WsmanRequest, c: Ctx): Promise<string> {
    const shell = mgr.get(r.selectors.get('ShellId'));
    const cl = child(r.body, NS.rsp, 'CommandLine');
    if (!cl) throw new WsmanFault(FAULTS.schema());
    const command = text(child(cl, NS.rsp, 'Command')).trim();
    const args = children(cl, NS.rsp, 'Arguments').map((a) => text(a));
    const skipCmdShell = /^true$/i.test(r.options.get('WINRS_SKIP_CMD_SHELL') ?? '');
    const env = windowsEnv(shell.owner, shell.settings.noProfile, shell.environment);
    // What wine must be told: the account's variables (wine would use the Unix account's) and the shell's.
    const forcedEnv: [string, string][] = [
      ...(['USERNAME', 'USERDOMAIN', 'COMPUTERNAME', 'USERPROFILE', 'HOMEPATH', 'APPDATA', 'LOCALAPPDATA'] as const).map((k) => [k, env[k]] as [string, string]),
      ...shell.environment,
    ];
    const plan = planLaunch({ command, args, skipCmdShell, windowsEnv: env, forcedEnv }, rt);
    await driveCReady;
    let cwd: string;
    if (shell.workingDirectory !== undefined) {
      const p = resolveWindowsPath(shell.workingDirectory, driveC);
      if (!p || !isDirectory(p)) throw new WsmanFault(FAULTS.badDirectory());
      cwd = p;
    } else {
      cwd = ensureWindowsDir(driveC, `Users\\${shell.settings.noProfile ? 'Default' : shell.owner}`);
    }
    if (plan.kind === 'spawn' && plan.what === 'wine') await wineReady;
    const id = attr(cl, 'CommandId')?.toUpperCase();
    if (id && shell.commands.has(id)) throw new WsmanFault(FAULTS.schema('The CommandId is already in use. '));
    const charset = plan.kind === 'spawn' ? plan.charset : 'utf8';
    const cmd = new Command(shell, mgr, [command, ...args].join(' '), charset, id);
    shell.commands.set(cmd.id, cmd);
    const linuxEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
    for (const k of ['HOME', 'TMPDIR', 'DOTNET_ROOT']) if (process.env[k]) linuxEnv[k] = process.env[k]!;
    const spawnEnv = { ...linuxEnv, ...env, ...(plan.kind === 'spawn' && plan.what === 'wine' ? wineEnv : {}) };
    cmd.start(plan, spawnEnv, cwd);
    return envelope('shell', `${ACTION.command}Response`, r.messageId, commandResponseBody(cmd.id));
  }

  // --- server ---------------------------------------------------------------------------
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((e) => {
      log(`request failed: ${(e as Error).stack ?? e}`);
      if (!res.headersSent) { res.writeHead(500, { Server: SERVER_HEADER, 'Content-Length': '0' }); res.end(); } else res.destroy();
    });
  };
  const server: http.Server = certificates
    ? https.createServer({ key: certificates.keyPem, cert: certificates.certPem }, onRequest)
    : http.createServer(onRequest);
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.on(certificates ? 'secureConnection' : 'connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, bind, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = isIP(bind) === 6 ? `[${bind}]` : bind;
  const url = `${certificates ? 'https' : 'http'}://${hostPart}:${port}/wsman`;

  let closed = false;
  return {
    url,
    port,
    https: !!certificates,
    caPem: certificates?.caPem,
    caPemPath: certificates?.caPemPath,
    certificates,
    user,
    password,
    pwsh,
    wine,
    wineReady: () => wineReady,
    openShells: () => mgr.shells.size,
    shells: () => [...mgr.shells.values()].map((s) => s.info()),
    setHooks: (h) => { hooks = h; },
    async close() {
      if (closed) return;
      closed = true;
      mgr.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
      });
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

function plain(req: http.IncomingMessage, res: http.ServerResponse, status: number): void {
  req.resume();
  res.writeHead(status, { Server: SERVER_HEADER, 'Content-Length': '0' });
  res.end();
}

function sendReply(res: http.ServerResponse, r: { status: number; headers?: Record<string, string | string[]>; body?: Buffer }): void {
  const body = r.body ?? Buffer.alloc(0);
  const headers: Record<string, string | string[]> = { ...r.headers, 'Content-Length': String(body.length) };
  if (!headers.Server) headers.Server = SERVER_HEADER;
  res.writeHead(r.status, headers);
  res.end(body);
}

/** A reply that breaks off: full headers, the first `keep` bytes of the body, then the connection drops. */
function sendCut(res: http.ServerResponse, r: { status: number; headers?: Record<string, string | string[]>; body?: Buffer }, keep: number): void {
  const body = r.body ?? Buffer.alloc(0);
  res.writeHead(r.status, { Server: SERVER_HEADER, ...r.headers, 'Content-Length': String(body.length) });
  res.write(body.subarray(0, Math.max(0, Math.min(keep, body.length - 1))), () => res.socket?.destroy());
}

/** The whole body, or undefined when it is longer than `limit` bytes. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) { req.resume(); return Promise.resolve(undefined); }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (d: Buffer) => {
      if (over) return;
      size += d.length;
      if (size > limit) { over = true; chunks.length = 0; resolve(undefined); return; }
      chunks.push(d);
    });
    req.on('end', () => { if (!over) resolve(Buffer.concat(chunks)); });
    req.on('error', reject);
  });
}

/**
 * Makes sure the wine prefix exists and a persistent wineserver runs. A wineserver that a
 * command's own wine starts inherits that command's stderr and holds it open for seconds
 * after the command exits; one started here holds nothing of ours.
 */
async function warmWine(wine: string, prefix: string, env: Record<string, string>, log: (l: string) => void): Promise<boolean> {
  mkdirSync(prefix, { recursive: true });
  const fullEnv = { ...process.env, ...env };
  delete fullEnv.DISPLAY;
  const started = Date.now();
  // `wineserver -p30` forks a server that lives until 30 s after its last client and
  // returns at once (status 2 when one already runs for this prefix: fine too).
  await new Promise<void>((resolve) => {
    const server = spawn(which('wineserver') ?? join(wine, '..', 'wineserver'), ['-p30'], { env: fullEnv, stdio: 'ignore', detached: true });
    server.on('error', () => resolve());
    server.on('exit', () => resolve());
  });
  const ok = await new Promise<boolean>((resolve) => {
    const p = spawn(wine, ['cmd', '/c', 'exit', '0'], { env: fullEnv, stdio: 'ignore', detached: true });
    const timer = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } resolve(false); }, 120_000);
    timer.unref();
    p.on('error', () => { clearTimeout(timer); resolve(false); });
    p.on('exit', (code) => { clearTimeout(timer); resolve(code === 0); });
  });
  if (!ok) log(`wine did not start in ${prefix}; cmd lines will fail`);
  else if (Date.now() - started > 2000) log(`wine prefix ready in ${prefix} (${Date.now() - started} ms)`);
  return ok;
}
