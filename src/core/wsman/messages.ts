// Pure builders and parsers for the WS-Management messages of a WinRS session.
// Builders return the whole SOAP envelope as a string; parsers take an element
// tree from parseXml and return plain data, throwing ProtocolError on nonsense.
import { randomUUID } from 'node:crypto';
import { ProtocolError, WsmanFaultError } from '../errors';
import { ACTION, ANONYMOUS, COMMAND_STATE, NS, RESOURCE, SIGNAL, type SignalName } from './namespaces';
import { base64Bytes, child, childrenNamed, find, textOf, type XmlElement } from './xml';

export interface RequestHeader {
  to: string;
  action: string;
  resourceUri: string;
  messageId?: string;
  maxEnvelopeSize: number;
  /** Seconds. */
  operationTimeout: number;
  locale?: string;
  sessionId?: string;
  selectors?: Record<string, string>;
  options?: Record<string, string>;
}

export interface BuiltMessage {
  xml: string;
  messageId: string;
}

/**
 * What a body writer may call: the subset of xmlbuilder2's XMLBuilder that our
 * envelopes need, so the same writers also run against xmlbuilder2 (the tests
 * use it as a reference serializer).
 */
export interface ElementWriter {
  ele(ns: string, qname: string, attrs?: Record<string, string>): ElementWriter;
  txt(text: string): ElementWriter;
}

export type BodyWriter = (body: ElementWriter) => void;

export function newMessageId(): string {
  return `uuid:${randomUUID().toUpperCase()}`;
}

/** xs:duration in whole or fractional seconds, as Windows writes it (PT20S, PT1.5S). */
export function secondsToDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`not a duration: ${seconds}`);
  const rounded = Math.round(seconds * 1000) / 1000;
  return `PT${rounded}S`;
}

/** xs:duration (PnDTnHnMnS with optional fractions) to seconds; undefined if not a duration. */
export function durationToSeconds(value: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim());
  if (!m || value.trim() === 'P' || value.trim().endsWith('T')) return undefined;
  return (Number(m[1] ?? 0) * 86400) + (Number(m[2] ?? 0) * 3600) + (Number(m[3] ?? 0) * 60) + Number(m[4] ?? 0);
}

// A command's Receive requests differ only in their MessageID: for body writers
// whose output depends on their arguments alone (marked here), the text is built
// once per header and the fresh id is put in.
const pureWriters = new WeakSet<BodyWriter>();
const templates = new WeakMap<BodyWriter, { key: string; before: string; after: string }>();
const ID_MARK = 'uuid:00000000-0000-0000-0000-MESSAGE-ID-MARK';

function pure(writer: BodyWriter): BodyWriter {
  pureWriters.add(writer);
  return writer;
}

export function buildEnvelope(header: RequestHeader, writeBody?: BodyWriter): BuiltMessage {
  if (writeBody && header.messageId === undefined && pureWriters.has(writeBody)) {
    const key = JSON.stringify([header.to, header.action, header.resourceUri, header.maxEnvelopeSize, header.operationTimeout, header.locale, header.sessionId, header.selectors, header.options]);
    let t = templates.get(writeBody);
    if (t?.key !== key) {
      const parts = buildEnvelopeNow({ ...header, messageId: ID_MARK }, writeBody).xml.split(ID_MARK);
      t = parts.length === 2 ? { key, before: parts[0], after: parts[1] } : undefined;
      if (t) templates.set(writeBody, t);
    }
    if (t) {
      const messageId = newMessageId();
      return { xml: t.before + messageId + t.after, messageId };
    }
  }
  return buildEnvelopeNow(header, writeBody);
}

// The envelopes we send use the prefixes declared on the root, and WS-Enumeration's
// `wsen`, declared on the element that first uses it (only Enumerate and Pull do, so no
// other envelope changes). This small writer serializes them exactly as xmlbuilder2 does
// (text escapes & < >, attributes also ", empty elements as <x/>, a namespace not in scope
// declared where it is used) at a fraction of the cost, and without loading and compiling
// a DOM. Body writers get it in place of an XMLBuilder: they use ele and txt.
class XmlNode implements ElementWriter {
  private static readonly PREFIXES: ReadonlyMap<string, string> = new Map([
    ['s', NS.soap], ['wsa', NS.addressing], ['wsman', NS.wsman], ['wsmv', NS.wsmv], ['rsp', NS.shell],
  ]);
  private static readonly LOCAL_PREFIXES: ReadonlyMap<string, string> = new Map([['wsen', NS.enumeration]]);
  private static readonly NONE: ReadonlySet<string> = new Set();

  private readonly parts: (XmlNode | string)[] = [];

  /** `scope`: the local prefixes declared on this element or an ancestor. */
  private constructor(private readonly qname: string, private readonly attrs: string, private readonly scope: ReadonlySet<string> = XmlNode.NONE) {}

  static envelope(): XmlNode {
    let decl = '';
    for (const [prefix, ns] of XmlNode.PREFIXES) decl += ` xmlns:${prefix}="${escapeAttr(ns)}"`;
    return new XmlNode('s:Envelope', decl);
  }

  ele(ns: string, qname: string, attrs?: Record<string, string>): XmlNode {
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    let a = '';
    let scope = this.scope;
    if (colon < 0 || XmlNode.PREFIXES.get(prefix) !== ns) {
      if (XmlNode.LOCAL_PREFIXES.get(prefix) !== ns) {
        throw new Error(`Envelope writer: ${qname} (${ns}) is not in a namespace the envelope writer knows.`);
      }
      if (!scope.has(prefix)) {
        a += ` xmlns:${prefix}="${escapeAttr(ns)}"`;
        scope = new Set([...scope, prefix]);
      }
    }
    if (attrs) for (const name of Object.keys(attrs)) a += ` ${name}="${escapeAttr(attrs[name])}"`;
    const node = new XmlNode(qname, a, scope);
    this.parts.push(node);
    return node;
  }

  txt(text: string): XmlNode {
    this.parts.push(escapeText(text));
    return this;
  }

  serialize(): string {
    const out: string[] = [];
    this.write(out);
    return out.join('');
  }

  private write(out: string[]): void {
    if (this.parts.length === 0) {
      out.push(`<${this.qname}${this.attrs}/>`);
      return;
    }
    out.push(`<${this.qname}${this.attrs}>`);
    for (const p of this.parts) {
      if (typeof p === 'string') out.push(p);
      else p.write(out);
    }
    out.push(`</${this.qname}>`);
  }
}

const TEXT_SPECIAL = /[&<>]/g;
const ATTR_SPECIAL = /[&<>"]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function escapeText(s: string): string {
  return s.replace(TEXT_SPECIAL, (c) => ENTITY[c]);
}

function escapeAttr(s: string): string {
  return s.replace(ATTR_SPECIAL, (c) => ENTITY[c]);
}

function buildEnvelopeNow(header: RequestHeader, writeBody?: BodyWriter): BuiltMessage {
  const messageId = header.messageId ?? newMessageId();
  const locale = header.locale ?? 'en-US';
  const env = XmlNode.envelope();
  const h = env.ele(NS.soap, 's:Header');
  h.ele(NS.addressing, 'wsa:Action', { 's:mustUnderstand': 'true' }).txt(header.action);
  h.ele(NS.wsmv, 'wsmv:DataLocale', { 's:mustUnderstand': 'false', 'xml:lang': locale });
  h.ele(NS.wsman, 'wsman:Locale', { 's:mustUnderstand': 'false', 'xml:lang': locale });
  h.ele(NS.wsman, 'wsman:MaxEnvelopeSize', { 's:mustUnderstand': 'true' }).txt(String(header.maxEnvelopeSize));
  h.ele(NS.addressing, 'wsa:MessageID').txt(messageId);
  h.ele(NS.wsman, 'wsman:OperationTimeout').txt(secondsToDuration(header.operationTimeout));
  h.ele(NS.addressing, 'wsa:ReplyTo').ele(NS.addressing, 'wsa:Address', { 's:mustUnderstand': 'true' }).txt(ANONYMOUS);
  h.ele(NS.wsman, 'wsman:ResourceURI', { 's:mustUnderstand': 'true' }).txt(header.resourceUri);
  if (header.sessionId) h.ele(NS.wsmv, 'wsmv:SessionId', { 's:mustUnderstand': 'false' }).txt(header.sessionId);
  h.ele(NS.addressing, 'wsa:To').txt(header.to);
  if (header.options && Object.keys(header.options).length > 0) {
    const set = h.ele(NS.wsman, 'wsman:OptionSet', { 's:mustUnderstand': 'true' });
    for (const [name, value] of Object.entries(header.options)) set.ele(NS.wsman, 'wsman:Option', { Name: name }).txt(value);
  }
  if (header.selectors && Object.keys(header.selectors).length > 0) {
    const set = h.ele(NS.wsman, 'wsman:SelectorSet');
    for (const [name, value] of Object.entries(header.selectors)) set.ele(NS.wsman, 'wsman:Selector', { Name: name }).txt(value);
  }
  const body = env.ele(NS.soap, 's:Body');
  writeBody?.(body);
  return { xml: env.serialize(), messageId };
}

// ---- bodies ----

export interface ShellSpec {
  codepage?: number;
  noProfile?: boolean;
  environment?: Record<string, string>;
  workingDirectory?: string;
  /** Seconds; sent as xs:duration (Windows rejects plain milliseconds). */
  idleTimeout?: number;
  lifetime?: number;
  /**
   * rsp:Name, listed when the host enumerates its shells. WinrmSession.openShell gives
   * every shell a unique one (see winrs/orphans.ts) unless this is set; only shells with
   * the session's own names are looked for after a Create whose reply was lost.
   */
  name?: string;
}

export function shellCreateOptions(spec: ShellSpec): Record<string, string> {
  const options: Record<string, string> = {};
  if (spec.noProfile !== undefined) options.WINRS_NOPROFILE = spec.noProfile ? 'TRUE' : 'FALSE';
  if (spec.codepage !== undefined) options.WINRS_CODEPAGE = String(spec.codepage);
  return options;
}

export function writeShellBody(spec: ShellSpec): BodyWriter {
  // Element order as pypsrp sends it to Windows (captured in the shared fixtures).
  return (body) => {
    const shell = body.ele(NS.shell, 'rsp:Shell');
    shell.ele(NS.shell, 'rsp:InputStreams').txt('stdin');
    shell.ele(NS.shell, 'rsp:OutputStreams').txt('stdout stderr');
    if (spec.idleTimeout !== undefined) shell.ele(NS.shell, 'rsp:IdleTimeOut').txt(secondsToDuration(spec.idleTimeout));
    if (spec.lifetime !== undefined) shell.ele(NS.shell, 'rsp:Lifetime').txt(secondsToDuration(spec.lifetime));
    if (spec.name) shell.ele(NS.shell, 'rsp:Name').txt(spec.name);
    if (spec.workingDirectory) shell.ele(NS.shell, 'rsp:WorkingDirectory').txt(spec.workingDirectory);
    if (spec.environment && Object.keys(spec.environment).length > 0) {
      const env = shell.ele(NS.shell, 'rsp:Environment');
      for (const [name, value] of Object.entries(spec.environment)) env.ele(NS.shell, 'rsp:Variable', { Name: name }).txt(value);
    }
  };
}

export function writeCommandBody(command: string, args: readonly string[]): BodyWriter {
  return (body) => {
    const line = body.ele(NS.shell, 'rsp:CommandLine');
    line.ele(NS.shell, 'rsp:Command').txt(command);
    for (const a of args) line.ele(NS.shell, 'rsp:Arguments').txt(a);
  };
}

export function writeReceiveBody(commandId: string): BodyWriter {
  return pure((body) => {
    body.ele(NS.shell, 'rsp:Receive').ele(NS.shell, 'rsp:DesiredStream', { CommandId: commandId }).txt('stdout stderr');
  });
}

export function writeSendBody(commandId: string, data: Buffer, end: boolean): BodyWriter {
  return (body) => {
    const attrs: Record<string, string> = { Name: 'stdin', CommandId: commandId };
    if (end) attrs.End = 'true';
    body.ele(NS.shell, 'rsp:Send').ele(NS.shell, 'rsp:Stream', attrs).txt(data.toString('base64'));
  };
}

export function writeSignalBody(commandId: string, signal: SignalName): BodyWriter {
  return (body) => {
    body.ele(NS.shell, 'rsp:Signal', { CommandId: commandId }).ele(NS.shell, 'rsp:Code').txt(SIGNAL[signal]);
  };
}

/** Most items per Enumerate or Pull reply; the host sends fewer when they would not fit MaxEnvelopeSize. As pypsrp asks. */
export const ENUMERATION_MAX_ELEMENTS = 32000;

/**
 * An optimized Enumerate (DSP0226 8.2.3): the first items come in the reply, as
 * pypsrp and PowerShell ask Windows for its shells (captured in pypsrp-psrp). No filter:
 * MS-WSMV 3.1.4.8.2 has the host refuse one for cmd shells.
 */
export function writeEnumerateBody(maxElements = ENUMERATION_MAX_ELEMENTS): BodyWriter {
  return (body) => {
    const en = body.ele(NS.enumeration, 'wsen:Enumerate');
    en.ele(NS.wsman, 'wsman:OptimizeEnumeration');
    en.ele(NS.wsman, 'wsman:MaxElements').txt(String(maxElements));
  };
}

/** The next items of an enumeration. */
export function writePullBody(context: string, maxElements = ENUMERATION_MAX_ELEMENTS): BodyWriter {
  return (body) => {
    const pull = body.ele(NS.enumeration, 'wsen:Pull');
    pull.ele(NS.enumeration, 'wsen:EnumerationContext').txt(context);
    pull.ele(NS.enumeration, 'wsen:MaxElements').txt(String(maxElements));
  };
}

export { ACTION, RESOURCE };

// ---- replies ----

export interface ParsedEnvelope {
  root: XmlElement;
  header: XmlElement | undefined;
  body: XmlElement;
  action: string | undefined;
  relatesTo: string | undefined;
}

export function readEnvelope(root: XmlElement): ParsedEnvelope {
  if (root.ns !== NS.soap || root.name !== 'Envelope') {
    throw new ProtocolError(`The reply is XML but not a SOAP 1.2 envelope (root element ${root.name}).`);
  }
  const header = child(root, NS.soap, 'Header');
  const body = child(root, NS.soap, 'Body');
  if (!body) throw new ProtocolError('The SOAP reply has no Body.');
  return {
    root,
    header,
    body,
    action: textOf(child(header, NS.addressing, 'Action')),
    relatesTo: textOf(child(header, NS.addressing, 'RelatesTo')),
  };
}

/** The fault in a SOAP body, if there is one. */
export function readFault(env: ParsedEnvelope): WsmanFaultError | undefined {
  const fault = child(env.body, NS.soap, 'Fault');
  if (!fault) return undefined;
  const subcodeValue = textOf(child(child(child(fault, NS.soap, 'Code'), NS.soap, 'Subcode'), NS.soap, 'Value'));
  const subcode = subcodeValue?.includes(':') ? subcodeValue.slice(subcodeValue.indexOf(':') + 1) : subcodeValue;
  const wsmanFault = find(child(fault, NS.soap, 'Detail'), NS.fault, 'WSManFault');
  const reason = textOf(child(child(fault, NS.soap, 'Reason'), NS.soap, 'Text'));
  let message = wsmanFault ? collectFaultText(wsmanFault) : '';
  if (!message) message = reason ?? '';
  const code = wsmanFault?.attrs.Code !== undefined ? Number(wsmanFault.attrs.Code) : undefined;
  return new WsmanFaultError({
    code: code !== undefined && Number.isFinite(code) ? code : undefined,
    subcode,
    machine: wsmanFault?.attrs.Machine,
    message: message.replace(/\s+/g, ' ').trim(),
  });
}

// f:Message may hold text directly or a nested f:ProviderFault (Exchange) with its own text.
function collectFaultText(el: XmlElement): string {
  const parts: string[] = [];
  const walk = (e: XmlElement): void => {
    const own = e.text.trim();
    if (own && e.name !== 'WSManFault') parts.push(own);
    for (const c of e.children) walk(c);
  };
  walk(el);
  return [...new Set(parts)].join(' — ');
}

export function readShellId(env: ParsedEnvelope): string {
  // Windows puts the id in the ResourceCreated selector and in rsp:Shell/ShellId; OMI sometimes only one.
  const selectors = childrenNamed(find(env.body, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector');
  const fromSelector = textOf(selectors.find((s) => s.attrs.Name === 'ShellId'));
  const id = fromSelector || textOf(find(env.body, NS.shell, 'ShellId'));
  if (!id) throw new ProtocolError('The Create reply carries no ShellId.');
  return id;
}

export function readCommandId(env: ParsedEnvelope): string {
  const id = textOf(find(env.body, NS.shell, 'CommandId'));
  if (!id) throw new ProtocolError('The Command reply carries no CommandId.');
  return id;
}

export interface ReceivedStream {
  name: string;
  commandId: string | undefined;
  bytes: Buffer;
  end: boolean;
}

export interface ReceiveResult {
  streams: ReceivedStream[];
  done: boolean;
  exitCode: number | undefined;
}

export function readReceive(env: ParsedEnvelope): ReceiveResult {
  const response = child(env.body, NS.shell, 'ReceiveResponse');
  if (!response) throw new ProtocolError('The Receive reply has no ReceiveResponse.');
  const streams: ReceivedStream[] = childrenNamed(response, NS.shell, 'Stream').map((s) => ({
    name: s.attrs.Name ?? '',
    commandId: s.attrs.CommandId,
    // Base64 may carry whitespace (OMI); Buffer.from ignores it. Long runs arrive decoded from parseXml.
    bytes: base64Bytes(s),
    end: (s.attrs.End ?? '').toLowerCase() === 'true',
  }));
  const state = child(response, NS.shell, 'CommandState');
  const done = (state?.attrs.State ?? '').trim() === COMMAND_STATE.done;
  const exitText = textOf(child(state, NS.shell, 'ExitCode'));
  let exitCode: number | undefined;
  if (exitText !== undefined && exitText !== '') {
    exitCode = Number(exitText);
    if (!Number.isInteger(exitCode)) throw new ProtocolError(`The Receive reply has a non-numeric ExitCode "${exitText}".`);
    // Windows reports exit codes as unsigned 32-bit; show the signed value users know.
    if (exitCode > 0x7fffffff && exitCode <= 0xffffffff) exitCode -= 0x100000000;
  }
  return { streams, done, exitCode };
}

/** A shell as an enumeration lists it (rsp:Shell, MS-WSMV 2.2.4.37); absent elements are undefined. */
export interface ListedShell {
  id: string;
  name: string | undefined;
  resourceUri: string | undefined;
  owner: string | undefined;
  clientIp: string | undefined;
  /** `Connected`, `Disconnected`, ... */
  state: string | undefined;
}

export interface ShellEnumerationPage {
  shells: ListedShell[];
  /** The context for the next Pull; undefined (or empty) once the sequence ended. */
  context: string | undefined;
  end: boolean;
}

/**
 * The shells in an EnumerateResponse or PullResponse. An optimized EnumerateResponse
 * carries wsman:Items and wsman:EndOfSequence, a PullResponse WS-Enumeration's own;
 * either is read in either place. Items that are not rsp:Shell, or have no ShellId, are
 * skipped. A reply that neither ends the sequence nor gives a context is refused.
 */
export function readShellEnumeration(env: ParsedEnvelope): ShellEnumerationPage {
  const response = child(env.body, NS.enumeration, 'EnumerateResponse') ?? child(env.body, NS.enumeration, 'PullResponse');
  if (!response) throw new ProtocolError('The enumeration reply has neither EnumerateResponse nor PullResponse.');
  const items = child(response, NS.wsman, 'Items') ?? child(response, NS.enumeration, 'Items');
  const end = (child(response, NS.wsman, 'EndOfSequence') ?? child(response, NS.enumeration, 'EndOfSequence')) !== undefined;
  const context = textOf(child(response, NS.enumeration, 'EnumerationContext'))?.trim() || undefined;
  if (!end && context === undefined) throw new ProtocolError('The enumeration reply neither ends the list nor says how to go on (no EnumerationContext).');
  const shells: ListedShell[] = [];
  for (const el of childrenNamed(items, NS.shell, 'Shell')) {
    const field = (name: string) => textOf(child(el, NS.shell, name))?.trim() || undefined;
    const id = field('ShellId');
    if (!id) continue;
    // An element per the schema; PowerShell's own Create writes Name as an attribute.
    const name = textOf(child(el, NS.shell, 'Name')) ?? el.attrs.Name;
    shells.push({ id, name: name?.trim() || undefined, resourceUri: field('ResourceUri'), owner: field('Owner'), clientIp: field('ClientIP'), state: field('State') });
  }
  return { shells, context, end };
}

/** cfg:MaxEnvelopeSizekb from a WS-Transfer Get of winrm/config. */
export function readMaxEnvelopeSizeKb(env: ParsedEnvelope): number | undefined {
  const value = textOf(find(env.body, NS.config, 'MaxEnvelopeSizekb'));
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
