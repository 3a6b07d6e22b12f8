// A namespace-aware element tree over fast-xml-parser. SOAP forbids DTDs, so any
// DOCTYPE or ENTITY declaration is refused before parsing: no entity expansion,
// ever. Entities are decoded here in one pass (the five predefined ones and
// numeric references), so `&amp;#65;` stays `&#65;`.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ProtocolError } from '../errors';
import { NS } from './namespaces';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  /** Local name, without prefix. */
  name: string;
  /** Attributes by local name (xmlns declarations left out). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated direct text content, entities decoded, not trimmed. */
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  cdataPropName: '#cdata',
});

const MAX_DEPTH = 64;

// Receive replies are mostly base64 text. Long base64 runs are lifted out before
// parsing and put back afterwards, so the parser and validator only walk the
// small markup around them. Base64 holds no markup characters, so lifting it
// out cannot change the document's structure.
const LIFT_MIN = 512;
const HOLE = '\uE000';

// A-Z a-z 0-9 + / = and XML whitespace; a sticky regex checks a run in native code.
const BASE64_RUN = /[A-Za-z0-9+/= \t\n\r]*/y;

function isBase64Run(xml: string, start: number, end: number): boolean {
  BASE64_RUN.lastIndex = start;
  BASE64_RUN.test(xml);
  return BASE64_RUN.lastIndex >= end;
}

/**
 * A lifted run and, when it is canonical base64 (no whitespace, standard padding),
 * its bytes: decoding and re-encoding to the same text proves the run is base64
 * faster than checking it character by character, and readers get the bytes free.
 */
interface LiftedRun {
  text: string;
  bytes: Buffer | undefined;
}

// Re-encoded in pieces: a string over 128 KB goes to V8's large-object space, which
// costs more than the whole comparison.
const PIECE = 3 * 16_384;

function isCanonicalBase64(run: string, bytes: Buffer): boolean {
  if (run.length !== 4 * Math.ceil(bytes.length / 3)) return false;
  for (let off = 0; off < bytes.length; off += PIECE) {
    const end = Math.min(bytes.length, off + PIECE);
    if (bytes.toString('base64', off, end) !== run.slice((off / 3) * 4, end === bytes.length ? run.length : (end / 3) * 4)) return false;
  }
  return true;
}

function liftRun(run: string): LiftedRun | undefined {
  const bytes = Buffer.from(run, 'base64');
  if (isCanonicalBase64(run, bytes)) return { text: run, bytes };
  return isBase64Run(run, 0, run.length) ? { text: run, bytes: undefined } : undefined;
}

/**
 * The lifted run for buf[start, end) of a reply's bytes. Canonical base64 is ASCII, so
 * its latin1 text is its text. Each run becomes its own string instead of one string of
 * the whole reply: a ~150 KB reply lands in V8's large-object space, a run of a 64 KB
 * output chunk (~87 KB) does not.
 */
function liftBytesRun(buf: Buffer, start: number, end: number): LiftedRun | undefined {
  const text = buf.toString('latin1', start, end);
  const bytes = Buffer.from(text, 'base64');
  if (isCanonicalBase64(text, bytes)) return { text, bytes };
  return liftRun(buf.toString('utf8', start, end));
}

function liftBase64(xml: string, lifted: LiftedRun[]): string {
  const parts: string[] = [];
  let copied = 0;
  let pos = 0;
  for (;;) {
    const gt = xml.indexOf('>', pos);
    if (gt < 0) break;
    const lt = xml.indexOf('<', gt + 1);
    if (lt < 0) break;
    const run = lt - gt - 1 >= LIFT_MIN ? liftRun(xml.slice(gt + 1, lt)) : undefined;
    if (run) {
      parts.push(xml.slice(copied, gt + 1), HOLE, String(lifted.push(run) - 1), HOLE);
      copied = lt;
    }
    pos = lt;
  }
  if (copied === 0) return xml;
  parts.push(xml.slice(copied));
  return parts.join('');
}

// The same over the reply's bytes, so only the markup is decoded as UTF-8. '<' and '>'
// are ASCII, so cutting the UTF-8 there never splits a character.
function liftBase64Bytes(buf: Buffer, lifted: LiftedRun[]): string {
  const parts: string[] = [];
  let copied = 0;
  let pos = 0;
  for (;;) {
    const gt = buf.indexOf(0x3e, pos);
    if (gt < 0) break;
    const lt = buf.indexOf(0x3c, gt + 1);
    if (lt < 0) break;
    const run = lt - gt - 1 >= LIFT_MIN ? liftBytesRun(buf, gt + 1, lt) : undefined;
    if (run) {
      parts.push(buf.toString('utf8', copied, gt + 1), HOLE, String(lifted.push(run) - 1), HOLE);
      copied = lt;
    }
    pos = lt;
  }
  parts.push(buf.toString('utf8', copied));
  return parts.join('');
}

const HOLE_BYTES = Buffer.from(HOLE, 'utf8');

/** Decoded bytes of elements whose whole text was one canonical base64 run (see base64Bytes). */
const decodedText = new WeakMap<XmlElement, Buffer>();

/** The element's text decoded from base64 (whitespace ignored), without decoding twice. */
export function base64Bytes(el: XmlElement): Buffer {
  return decodedText.get(el) ?? Buffer.from(el.text, 'base64');
}

/** Parses a reply given as text or as its UTF-8 bytes (which spares making one string of the whole reply). */
export function parseXml(input: string | Buffer): XmlElement {
  let lifted: LiftedRun[] | undefined;
  let xml: string;
  if (typeof input !== 'string') {
    if (input.length > 4096 && input.indexOf(HOLE_BYTES) < 0) {
      lifted = [];
      xml = liftBase64Bytes(input, lifted);
    } else xml = input.toString('utf8');
  } else {
    xml = input;
    if (xml.length > 4096 && !xml.includes(HOLE)) {
      lifted = [];
      xml = liftBase64(xml, lifted);
    }
  }
  // Checked after lifting (lifted runs hold no '<'), so it scans only the markup.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ProtocolError('The reply contains a DTD or entity declaration, which SOAP forbids; it was refused unread.');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new ProtocolError(`The reply is not well-formed XML (${valid.err.msg} at line ${valid.err.line}).`);
  let raw: unknown[];
  try {
    raw = parser.parse(xml) as unknown[];
  } catch (err) {
    throw new ProtocolError(`The reply is not well-formed XML (${(err as Error).message.split('\n')[0]}).`);
  }
  const roots = raw.filter((n) => !isTextNode(n));
  if (roots.length !== 1) throw new ProtocolError(`The reply is not a single XML document (${roots.length} root elements).`);
  return convert(roots[0] as RawNode, new Map([['xml', NS.xml]]), 0, lifted);
}

type RawNode = Record<string, unknown>;

function isTextNode(n: unknown): boolean {
  return typeof n === 'object' && n !== null && ('#text' in n || '#cdata' in n);
}

function convert(node: RawNode, scope: Map<string, string>, depth: number, lifted: LiftedRun[] | undefined): XmlElement {
  if (depth > MAX_DEPTH) throw new ProtocolError(`The reply nests elements deeper than ${MAX_DEPTH} levels.`);
  const qname = Object.keys(node).find((k) => k !== ':@')!;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let ownScope = scope;
  for (const key of Object.keys(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) {
      if (ownScope === scope) ownScope = new Map(scope);
      ownScope.set(key === 'xmlns' ? '' : key.slice(6), decodeEntities(rawAttrs[key]));
    }
  }
  const attrs: Record<string, string> = {};
  for (const key of Object.keys(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    const colon = key.indexOf(':');
    attrs[colon >= 0 ? key.slice(colon + 1) : key] = decodeEntities(rawAttrs[key]);
  }
  const colon = qname.indexOf(':');
  const prefix = colon >= 0 ? qname.slice(0, colon) : '';
  const ns = ownScope.get(prefix);
  if (ns === undefined && prefix !== '') throw new ProtocolError(`The reply uses the undeclared namespace prefix "${prefix}".`);
  const children: XmlElement[] = [];
  let text = '';
  let texts = 0;
  let run: LiftedRun | undefined;
  for (const child of (node[qname] ?? []) as RawNode[]) {
    if ('#text' in child) {
      const raw = String(child['#text']);
      texts++;
      if (lifted && raw.charCodeAt(0) === 0xe000) {
        run = lifted[Number(raw.slice(1, -1))];
        text += run.text;
      } else text += decodeEntities(raw);
    } else if ('#cdata' in child) { texts++; text += cdataText(child['#cdata']); }
    else children.push(convert(child, ownScope, depth + 1, lifted));
  }
  const el: XmlElement = { ns: ns ?? '', name: colon >= 0 ? qname.slice(colon + 1) : qname, attrs, children, text };
  if (texts === 1 && run?.bytes) decodedText.set(el, run.bytes);
  return el;
}

function cdataText(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => String((v as RawNode)['#text'] ?? '')).join('');
  return String(value);
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return PREDEFINED[ref] ?? whole;
  });
}

// Small accessors: every lookup names the namespace.
export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}
export function childrenNamed(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.name === name) : [];
}
/** Depth-first search for the first element with this name. */
export function find(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  if (!el) return undefined;
  if (el.ns === ns && el.name === name) return el;
  for (const c of el.children) {
    const hit = find(c, ns, name);
    if (hit) return hit;
  }
  return undefined;
}
/** Text with the surrounding whitespace OMI puts around values removed. */
export function textOf(el: XmlElement | undefined): string | undefined {
  return el === undefined ? undefined : el.text.trim();
}
