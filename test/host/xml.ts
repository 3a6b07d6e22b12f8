// Namespace-aware XML for the test host. fast-xml-parser keeps prefixes as they are
// written, so we resolve every prefix against the xmlns declarations in scope and
// hand out elements keyed by (namespace URI, local name): clients may use any prefix.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  local: string;
  /** The prefix as written (kept for diagnostics and structural comparisons). */
  prefix: string;
  /** Attributes by `{ns}local` (or plain `local` without namespace); xmlns declarations are left out. */
  attrs: Map<string, string>;
  /** In-scope namespace declarations made on this element (prefix '' = default). */
  declared: Map<string, string>;
  children: (XmlElement | string)[];
}

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export class XmlError extends Error {}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded below: the parser's own decoding skips numeric references.
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
});

/** Parses a document and returns its root element; throws XmlError when it is not well formed. */
export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('DOCTYPE is not allowed in SOAP');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const nodes = parser.parse(text) as RawNode[];
  const roots = nodes.filter((n) => elementName(n) !== undefined);
  if (roots.length !== 1) throw new XmlError('expected exactly one root element');
  return convert(roots[0], new Map([['xml', XML_NS]]));
}

type RawNode = Record<string, unknown>;

function elementName(n: RawNode): string | undefined {
  for (const k of Object.keys(n)) if (k !== ':@' && k !== '#text' && k !== '#comment' && k !== '#cdata') return k;
  return undefined;
}

function convert(node: RawNode, scope: Map<string, string>): XmlElement {
  const name = elementName(node)!;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const declared = new Map<string, string>();
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns') declared.set('', decodeEntities(v));
    else if (k.startsWith('xmlns:')) declared.set(k.slice(6), decodeEntities(v));
  }
  const inner = declared.size ? new Map([...scope, ...declared]) : scope;
  const [prefix, local] = splitName(name);
  const ns = inner.get(prefix) ?? '';
  if (prefix && ns === '') throw new XmlError(`undeclared namespace prefix "${prefix}" on <${name}>`);
  const attrs = new Map<string, string>();
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const [ap, al] = splitName(k);
    if (ap) {
      const ans = inner.get(ap);
      if (!ans) throw new XmlError(`undeclared namespace prefix "${ap}" on attribute ${k}`);
      attrs.set(`{${ans}}${al}`, decodeEntities(v));
    } else {
      attrs.set(al, decodeEntities(v));
    }
  }
  const children: (XmlElement | string)[] = [];
  for (const child of (node[name] ?? []) as RawNode[]) {
    if ('#text' in child) children.push(decodeEntities(String(child['#text'])));
    else if ('#cdata' in child) {
      for (const c of child['#cdata'] as RawNode[]) children.push(String(c['#text'] ?? ''));
    } else if ('#comment' in child) continue;
    else children.push(convert(child, inner));
  }
  return { ns, local, prefix, attrs, declared, children };
}

function splitName(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? ['', name] : [name.slice(0, i), name.slice(i + 1)];
}

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** Escapes text content the way Windows' WinRM does (all five predefined entities). */
export function escapeText(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function escapeAttr(s: string): string {
  return escapeText(s);
}

export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

/** First child element with this namespace and local name. */
export function child(el: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (typeof c !== 'string' && c.ns === ns && c.local === local) return c;
  return undefined;
}

export function children(el: XmlElement | undefined, ns: string, local: string): XmlElement[] {
  if (!el) return [];
  return childElements(el).filter((c) => c.ns === ns && c.local === local);
}

/** Concatenated text of the element's direct text children. */
export function text(el: XmlElement | undefined): string {
  if (!el) return '';
  let out = '';
  for (const c of el.children) if (typeof c === 'string') out += c;
  return out;
}

/** Attribute without namespace (the usual case in WS-Man: Name=, CommandId=, State=). */
export function attr(el: XmlElement | undefined, name: string): string | undefined {
  return el?.attrs.get(name);
}
