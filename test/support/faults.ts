// Fault injection for the robustness tests: the fault shapes a Windows host (or
// something between us and it) sends, as test-host hook decisions; a seeded PRNG;
// and a hard "did not hang" bound for promises.
import type { HookDecision, HostHooks, ReplyInfo, RequestInfo, TestHost, TestHostOptions } from '../host/host';
import { startTestHost } from '../host/host';
import { ACTION, FAULTS, NS, envelope, faultEnvelope, type FaultSpec } from '../host/wsman';

export const MACHINE = 'WINRM-TEST';

/** Short action names, e.g. 'Create', 'Receive'; '' for requests the host could not parse. */
export function actionOf(info: RequestInfo): string {
  const a = info.action;
  for (const [name, uri] of Object.entries(ACTION)) if (uri === a) return name[0].toUpperCase() + name.slice(1);
  return '';
}

/** The ShellId selector of a request (undefined for Create). */
export function shellIdOf(info: RequestInfo): string | undefined {
  return info.request?.selectors.get('ShellId');
}

/** An Exchange-style fault: the message is a nested f:ProviderFault from the Exchange authorization plugin. */
const EXCHANGE_FAULT: FaultSpec = {
  code: 's:Receiver',
  subcode: 'w:InternalError',
  reason: 'The WS-Management service cannot process the request. ',
  wsmanCode: 2147500037,
  provider: {
    name: 'microsoft.exchange',
    path: 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Bin\\Microsoft.Exchange.AuthorizationPlugin.dll',
    text: 'The user "LAB\\alice" isn\'t assigned to any management roles. ',
  },
};

/** The HTTP 500 fault shapes of issue 9, by name. */
export const FAULT_SHAPES = {
  timedOut: () => FAULTS.timedOut(),
  shellNotFound: (shellId = '00000000-0000-0000-0000-000000000000') => FAULTS.unknownShell(shellId),
  quotaExceeded: () => FAULTS.shellQuota(30),
  schemaError: () => FAULTS.schema(),
  filenameTooLong: () => FAULTS.tooLong(),
  exchangeProviderFault: () => EXCHANGE_FAULT,
} satisfies Record<string, (shellId?: string) => FaultSpec>;

export type FaultShape = keyof typeof FAULT_SHAPES;

/** A 500 with the given fault, answering the request (right RelatesTo). */
export function faultReply(info: RequestInfo, shape: FaultShape): HookDecision {
  const spec = FAULT_SHAPES[shape](shellIdOf(info));
  return { reply: { status: spec.status ?? 500, body: faultEnvelope(spec, info.request?.messageId ?? '', MACHINE) } };
}

/** The broken replies of issue 9, by name. `info` is the request answered. */
export const BAD_REPLIES = {
  garbage: (): HookDecision => ({ reply: { status: 200, body: 'HTTP/1.1 200 OK\r\n\r\n\u0000\u0001 this is not WS-Management \uFFFD', contentType: 'text/plain' } }),
  truncatedXml: (info: RequestInfo): HookDecision => {
    const full = envelope('receive', `${ACTION.receive}Response`, info.request?.messageId ?? '', '<rsp:ReceiveResponse><rsp:Stream Name="stdout">aGVsbG8=</rsp:Stream>');
    return { reply: { status: 200, body: full.slice(0, Math.floor(full.length * 0.7)) } };
  },
  wrongRelatesTo: (info: RequestInfo): HookDecision => ({
    reply: { status: 200, body: envelope('shell', `${info.action}Response`, 'uuid:00000000-0000-0000-0000-0000DEADBEEF', `<rsp:CommandResponse xmlns:rsp="${NS.rsp}"><rsp:CommandId>11111111-2222-3333-4444-555555555555</rsp:CommandId></rsp:CommandResponse><rsp:ShellId xmlns:rsp="${NS.rsp}">11111111-2222-3333-4444-555555555555</rsp:ShellId>`) },
  }),
  /** A well-formed envelope far larger than the MaxEnvelopeSize we ask for (`bytes` of base64 in a Stream). */
  oversized: (info: RequestInfo, bytes = 2 * 1024 * 1024): HookDecision => ({
    reply: { status: 200, body: envelope('receive', `${ACTION.receive}Response`, info.request?.messageId ?? '', `<rsp:ReceiveResponse><rsp:Stream Name="stdout">${'QUFB'.repeat(bytes / 4)}</rsp:Stream></rsp:ReceiveResponse>`) },
  }),
  /** A 401 although the connection authenticated fine (an expired logon, a policy change). */
  unauthorized: (): HookDecision => ({ reply: { status: 401, body: '', raw: true, headers: { 'WWW-Authenticate': 'Basic realm="WSMAN"' } } }),
};

export type BadReply = keyof typeof BAD_REPLIES;

/**
 * How a Create's reply gets lost after the host made the shell (for onReply): the
 * connection drops, the reply breaks off part-way, or something unreadable arrives
 * instead. Either way the client never learns the ShellId.
 */
export const LOST_REPLIES = {
  dropped: (): HookDecision => ({ drop: true }),
  cut: (): HookDecision => ({ cut: 200 }),
  garbage: (): HookDecision => BAD_REPLIES.garbage(),
} satisfies Record<string, () => HookDecision>;

export type LostReply = keyof typeof LOST_REPLIES;

/**
 * Hooks that lose the reply of the `nth` Create (1-based; every one when omitted) in the
 * given way once the host has made the shell; `created` gets each such shell's id.
 */
export function lostCreateReply(how: LostReply = 'dropped', nth?: number, created?: (shellId: string) => void): HostHooks {
  let seen = 0;
  return {
    onReply: (info, reply) => {
      if (actionOf(info) !== 'Create' || reply.status !== 200) return undefined;
      if (nth !== undefined && ++seen !== nth) return undefined;
      const id = /<w:Selector Name="ShellId">([^<]+)</.exec(reply.soap)?.[1];
      if (id) created?.(id);
      return LOST_REPLIES[how]();
    },
  };
}

/** Counts requests by action (and anything else a test wants) while passing them on to an inner hook set. */
export class RequestLog {
  readonly requests: { action: string; shellId: string | undefined; soap: string; connectionId: number }[] = [];
  readonly replies: { action: string; status: number; soap: string }[] = [];

  hooks(inner: HostHooks = {}): HostHooks {
    return {
      onRequest: (info) => {
        this.requests.push({ action: actionOf(info), shellId: shellIdOf(info), soap: info.soap, connectionId: info.connectionId });
        return inner.onRequest?.(info);
      },
      onReply: (info: RequestInfo, reply: ReplyInfo) => {
        this.replies.push({ action: actionOf(info), status: reply.status, soap: reply.soap });
        return inner.onReply?.(info, reply);
      },
    };
  }

  count(action: string): number {
    return this.requests.filter((r) => r.action === action).length;
  }
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Prng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

/** The seed from the environment variable (to replay a failure), else a fresh one. */
export function seedFrom(variable: string): number {
  const given = process.env[variable];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n)) throw new Error(`${variable} must be an integer, got "${given}"`);
    return n >>> 0;
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}

export class HangError extends Error {}

/** Rejects with HangError when `p` has not settled after `ms` (the generous "did not hang" bound). */
export async function notHanging<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new HangError(`${what} did not settle within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles `p` into its value or error, for assertions on either. */
export async function outcome<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Restarts a host on the same port (all its shells are gone, as after a reboot). */
export async function restartHost(host: TestHost, options: TestHostOptions): Promise<TestHost> {
  await host.close();
  return startTestHost({ ...options, port: host.port });
}

export async function waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The forms a leaked password could take in text (plain, base64 of it and of "user:password"
 * as in a Basic header, UTF-16LE base64 as in an encoded command, hex, URL-encoded); returns
 * the forms found.
 */
export function canaryLeaks(text: string, password: string, user?: string): string[] {
  const forms: Record<string, string> = {
    plain: password,
    base64: Buffer.from(password, 'utf8').toString('base64'),
    'base64 utf16le': Buffer.from(password, 'utf16le').toString('base64'),
    hex: Buffer.from(password, 'utf8').toString('hex'),
    'url-encoded': encodeURIComponent(password),
  };
  if (user !== undefined) forms['basic header'] = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  // Inside a longer base64 text the password's bytes may start at any of 3 alignments:
  // the groups made of its bytes alone look the same wherever it sits.
  for (const shift of [1, 2]) forms[`base64 (shifted ${shift})`] = Buffer.concat([Buffer.alloc(shift), Buffer.from(password, 'utf8')]).toString('base64').slice(4, -4);
  return Object.entries(forms).filter(([, f]) => f.length >= 6 && text.includes(f)).map(([name]) => name);
}
