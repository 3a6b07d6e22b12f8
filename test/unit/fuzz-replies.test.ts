// Hostile replies: the captured Windows replies in ../shared/fixtures, mutated (bit
// flips, truncation, duplicated and missing elements, huge base64, deep nesting,
// DOCTYPE and entity declarations, junk, odd attribute values) through the real parse
// path: interpretReply (XML, envelope, fault, RelatesTo) and the readers. Every case
// either parses or throws a WinrmError; nothing else escapes, nothing hangs, the heap
// does not grow. Seeded: FUZZ_SEED=N replays a run, FUZZ_CASES=N sets the count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ProtocolError, WinrmError, WsmanFaultError } from '../../src/core/errors';
import { interpretReply } from '../../src/core/wsman/client';
import { readCommandId, readFault, readMaxEnvelopeSizeKb, readReceive, readShellEnumeration, readShellId } from '../../src/core/wsman/messages';
import { parseXml } from '../../src/core/wsman/xml';
import { Prng, seedFrom } from '../support/faults';
import { listFixtures, readRecording } from '../support/fixtures';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CASES = Number(process.env.FUZZ_CASES ?? 20_000);

interface Sample { status: number; body: string; messageId: string }

function samples(): Sample[] {
  const out: Sample[] = [];
  const add = (step: { request: string; response: string; status: number }) => {
    const messageId = /MessageID>([^<]+)</.exec(step.request)?.[1] ?? '';
    out.push({ status: step.status, body: step.response, messageId });
  };
  for (const name of listFixtures()) for (const step of readRecording(name)) add(step);
  // Windows listing its shells (the lost-Create search reads these).
  for (const name of ['test_psrp_disconnect_runspaces.yml', 'test_psrp_disconnected_commands.yml']) {
    for (const step of readRecording(name, 'pypsrp-psrp')) if (step.request.includes('/enumeration/Enumerate<')) add(step);
  }
  return out;
}

const READERS = [readShellId, readCommandId, readReceive, readFault, readMaxEnvelopeSizeKb, readShellEnumeration] as ((e: ReturnType<typeof interpretReply>) => unknown)[];

/** The whole parse path a reply takes in the client, readers included. */
function parseAll(s: Sample): void {
  const env = interpretReply({ status: s.status, body: s.body }, s.messageId, 'fuzz.example:5985');
  // Each reader either finds its part or throws a ProtocolError; both are fine.
  for (const read of READERS) {
    try {
      const got = read(env);
      if (read === readReceive) {
        const r = got as ReturnType<typeof readReceive>;
        assert.ok(r.streams.every((st) => Buffer.isBuffer(st.bytes)));
        assert.ok(r.exitCode === undefined || Number.isInteger(r.exitCode));
      }
      if (read === readShellEnumeration) {
        const page = got as ReturnType<typeof readShellEnumeration>;
        assert.ok(page.end || (typeof page.context === 'string' && page.context !== ''));
        assert.ok(page.shells.every((sh) => typeof sh.id === 'string' && sh.id !== ''));
      }
    } catch (err) {
      if (!(err instanceof WinrmError)) throw err;
    }
  }
}

/** What the client makes of a reply, as text to compare: the error, or what every reader returns. */
function outcome(status: number, body: string | Buffer, messageId: string): string {
  let env: ReturnType<typeof interpretReply>;
  try {
    env = interpretReply({ status, body }, messageId, 'fuzz.example:5985');
  } catch (err) {
    return `threw ${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
  return JSON.stringify(READERS.map((read) => {
    try {
      const got = read(env);
      if (read === readReceive) return (got as ReturnType<typeof readReceive>).streams.map((st) => ({ ...st, bytes: st.bytes.toString('hex') }));
      return got instanceof Error ? `${got.constructor.name}: ${got.message}` : got;
    } catch (err) {
      return `threw ${(err as Error).constructor.name}: ${(err as Error).message}`;
    }
  }));
}

/** The transport hands the client bytes: they must come out exactly as the same reply as text. */
function assertBytesParity(s: Sample): void {
  const bytes = Buffer.from(s.body, 'utf8');
  if (bytes.toString('utf8') !== s.body) return; // lone surrogates have no UTF-8 form
  assert.equal(outcome(s.status, bytes, s.messageId), outcome(s.status, s.body, s.messageId));
}

// ---- mutations ----------------------------------------------------------------

type Mutation = (s: string, r: Prng) => string;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Start and end offsets of a random element (start tag to its matching close, or a self-closing tag). */
function randomElement(s: string, r: Prng): [number, number] | undefined {
  const starts: number[] = [];
  for (let i = s.indexOf('<'); i >= 0; i = s.indexOf('<', i + 1)) if (/[A-Za-z]/.test(s[i + 1] ?? '')) starts.push(i);
  if (starts.length === 0) return undefined;
  const at = r.pick(starts);
  const name = /^<([^\s/>]+)/.exec(s.slice(at))?.[1];
  if (!name) return undefined;
  const gt = s.indexOf('>', at);
  if (gt < 0) return undefined;
  if (s[gt - 1] === '/') return [at, gt + 1];
  const close = s.indexOf(`</${name}>`, gt);
  return close < 0 ? undefined : [at, close + name.length + 3];
}

const mutations: Record<string, Mutation> = {
  bitFlips: (s, r) => {
    const b = Buffer.from(s, 'utf8');
    for (let n = r.int(1, 8); n > 0; n--) b[r.int(0, b.length - 1)] ^= 1 << r.int(0, 7);
    // As the transport does: bytes to text, invalid UTF-8 becomes U+FFFD.
    return b.toString('utf8');
  },
  truncate: (s, r) => s.slice(0, r.int(0, s.length - 1)),
  duplicateElement: (s, r) => {
    const e = randomElement(s, r);
    if (!e) return s;
    const el = s.slice(e[0], e[1]);
    // Up to 50 copies, at most ~4 MB in all (larger bodies never get past the transport).
    return s.slice(0, e[1]) + el.repeat(Math.max(1, Math.min(r.int(1, 50), Math.floor((4 << 20) / el.length)))) + s.slice(e[1]);
  },
  removeElement: (s, r) => {
    const e = randomElement(s, r);
    return e ? s.slice(0, e[0]) + s.slice(e[1]) : s;
  },
  emptyElement: (s, r) => {
    const e = randomElement(s, r);
    if (!e) return s;
    const gt = s.indexOf('>', e[0]);
    return s[gt - 1] === '/' ? s : s.slice(0, gt + 1) + s.slice(s.lastIndexOf('</', e[1]), e[1]) + s.slice(e[1]);
  },
  hugeBase64: (s, r) => {
    // Up to 1 MB of base64 (canonical, with whitespace, or with stray characters) as stream data;
    // the transport refuses bodies over about twice the MaxEnvelopeSize before they get here.
    const size = r.chance(0.05) ? r.int(256 << 10, 1 << 20) : r.int(600, 64 << 10);
    let run = Buffer.alloc(Math.floor(size * 0.75), r.int(0, 255)).toString('base64');
    const style = r.int(0, 3);
    if (style === 1) run = run.replace(/(.{76})/g, '$1\r\n');
    if (style === 2) run = run.slice(0, r.int(0, run.length)) + '!' + run.slice(r.int(0, run.length));
    if (style === 3) run = run.slice(0, run.length - r.int(1, 3));
    const stream = `<rsp:Stream Name="stdout" CommandId="1A2B">${run}</rsp:Stream>`;
    const at = s.indexOf('</rsp:ReceiveResponse>');
    if (at >= 0) return s.slice(0, at) + stream + s.slice(at);
    const body = s.indexOf('<s:Body>');
    return body < 0 ? s + stream : s.slice(0, body + 8) + `<rsp:ReceiveResponse xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">${stream}</rsp:ReceiveResponse>` + s.slice(body + 8);
  },
  deepNesting: (s, r) => {
    const depth = r.chance(0.05) ? r.int(1000, 200_000) : r.int(50, 80);
    const at = s.indexOf('<s:Body>');
    const pos = at < 0 ? r.int(0, s.length) : at + 8;
    return s.slice(0, pos) + '<d>'.repeat(depth) + '</d>'.repeat(r.chance(0.8) ? depth : r.int(0, depth)) + s.slice(pos);
  },
  doctype: (s, r) => {
    const decls = [
      '<!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
      '<!DOCTYPE s:Envelope SYSTEM "file:///etc/passwd">',
      '<!doctype x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>',
      '<!ENTITY x "y">',
    ];
    const d = r.pick(decls);
    const withRef = s.replace(/(<a:RelatesTo>)/, '$1&c;&x;');
    return r.chance(0.5) ? d + withRef : withRef.slice(0, 0) + s.replace('<s:Body>', `<s:Body>${d}`);
  },
  entityRefs: (s, r) => {
    const refs = ['&amp;', '&lt;', '&#0;', '&#x110000;', '&#xD800;', '&#65;', '&undefined;', '&', '&#;', '&#x;', '&amp;#65;', '&#99999999999999999999;'];
    const i = r.int(0, s.length);
    return s.slice(0, i) + r.pick(refs) + s.slice(i);
  },
  junk: (s, r) => {
    let out = s;
    for (let n = r.int(1, 6); n > 0; n--) {
      const i = r.int(0, out.length);
      out = out.slice(0, i) + r.pick(['<', '>', '&', '"', "'", '</', '<!--', ']]>', '<![CDATA[', '<?pi x?>', '\u0000', '\uE000', '\uFFFF', '\uD800', 'xmlns:s="urn:x"', '=']) + out.slice(i);
    }
    return out;
  },
  attributeValues: (s, r) => {
    const values = ['', ' ', '-1', '4294967295', '4294967296', '1e400', 'NaN', '0x10', '99999999999999999999999', '&lt;', 'Done', 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done'];
    return s.replace(/(State|Code|CommandId|Name|End|Machine)="[^"]*"/g, (m, name: string) => (r.chance(0.5) ? `${name}="${r.pick(values)}"` : m));
  },
  textValues: (s, r) => {
    const values = ['', '   ', '-2147483648', '4294967295', '18446744073709551616', '1.5', 'abc', '\u0000', B64.repeat(3)];
    return s.replace(/(<rsp:ExitCode>|<rsp:ShellId>|<rsp:CommandId>|<cfg:MaxEnvelopeSizekb>|<a:RelatesTo>)([^<]*)/g, (m, open: string) => (r.chance(0.6) ? open + r.pick(values) : m));
  },
  namespaces: (s, r) => {
    switch (r.int(0, 3)) {
      case 0: return s.replace(/xmlns:(\w+)="[^"]*"/, r.chance(0.5) ? '' : 'xmlns:$1="urn:wrong"');
      case 1: return s.replace(/<s:Envelope/, '<s:Envelope xmlns="urn:default"');
      case 2: return s.replace(/s:Body/g, 'S:Body');
      default: return s.replace(/<(\/?)s:/g, '<$1soap:').replace('xmlns:s=', 'xmlns:soap=');
    }
  },
  wrapOrReplace: (s, r) => r.pick([
    '', ' ', '<', '<?xml version="1.0"?>', '<a/><b/>', '<s:Envelope/>', 'null', '{"json":true}',
    '<?xml version="1.0" encoding="UTF-16"?>' + s, s + s, s + '<extra/>', '\uFEFF' + s, ' \r\n\t' + s,
  ]),
};

const names = Object.keys(mutations);

function mutate(s: string, r: Prng): { text: string; applied: string[] } {
  const applied: string[] = [];
  let text = s;
  for (let n = r.chance(0.3) ? r.int(2, 3) : 1; n > 0; n--) {
    const name = r.pick(names);
    applied.push(name);
    text = mutations[name](text, r);
  }
  return { text, applied };
}

test(`fuzz: ${CASES} mutated captured replies through interpretReply and the readers`, { timeout: 300_000 }, (t) => {
  const seed = seedFrom('FUZZ_SEED');
  t.diagnostic(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
  const base = samples();
  assert.ok(base.length >= 50, 'the captured replies are there');
  // Unmutated, every captured reply goes through (faults as WsmanFaultError).
  for (const s of base) {
    assertBytesParity(s);
    try { parseAll(s); } catch (err) { assert.ok(err instanceof WsmanFaultError, `fixture reply rejected: ${String(err)}`); }
  }
  const r = new Prng(seed);
  const failures: string[] = [];
  const kinds = new Map<string, number>();
  let accepted = 0;
  let slowest = 0;
  let baseline = 0;
  for (let i = 0; i < CASES; i++) {
    if (i === 1000) { gc(); baseline = process.memoryUsage().heapUsed; }
    const s = r.pick(base);
    const { text, applied } = mutate(s.body, r);
    const started = performance.now();
    const sample = { ...s, body: text, status: r.chance(0.1) ? r.pick([200, 500, 400, 401]) : s.status };
    try {
      parseAll(sample);
      accepted++;
    } catch (err) {
      if (err instanceof WinrmError) kinds.set(err.kind, (kinds.get(err.kind) ?? 0) + 1);
      else if (failures.length < 5) failures.push(`case ${i} [${applied.join(', ')}]: ${err instanceof Error ? err.stack : String(err)}\n  input: ${JSON.stringify(text.slice(0, 300))}`);
      else failures.push('');
    }
    slowest = Math.max(slowest, performance.now() - started);
    // Untimed: the same reply as the transport's bytes must read exactly as the text did.
    try {
      assertBytesParity(sample);
    } catch (err) {
      failures.push(failures.length < 5 ? `case ${i} [${applied.join(', ')}]: bytes and text differ: ${(err as Error).message.slice(0, 600)}` : '');
    }
  }
  gc();
  const growth = process.memoryUsage().heapUsed - baseline;
  t.diagnostic(`seed ${seed}: ${CASES} cases, ${accepted} accepted, rejected ${JSON.stringify(Object.fromEntries(kinds))}, slowest ${slowest.toFixed(0)} ms, heap growth ${(growth / 1048576).toFixed(1)} MB`);
  assert.deepEqual(failures.filter(Boolean), [], `seed ${seed}: ${failures.length} cases threw something other than a WinrmError`);
  // Generous bounds: a hang or a quadratic blow-up is seconds, not milliseconds.
  assert.ok(slowest < 5000, `seed ${seed}: one case took ${slowest.toFixed(0)} ms`);
  assert.ok(growth < 64 * 1048576, `seed ${seed}: heap grew by ${(growth / 1048576).toFixed(1)} MB`);
  assert.ok((kinds.get('protocol') ?? 0) > CASES / 10 && accepted > CASES / 20, 'the mutations both broke and kept replies');
});

test('long base64 runs read from bytes and from text give the same tree, text and bytes', () => {
  const r = new Prng(seedFrom('FUZZ_SEED'));
  const env = (body: string) => `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body><rsp:ReceiveResponse>${body}</rsp:ReceiveResponse></s:Body></s:Envelope>`;
  const stream = (inner: string) => `<rsp:Stream Name="stdout" CommandId="C">${inner}</rsp:Stream>`;
  const b64 = (n: number) => Buffer.from(Array.from({ length: n }, () => r.int(0, 255))).toString('base64');
  const tamper = (run: string): string => {
    const at = r.int(0, run.length - 1);
    const pick = r.int(0, 6);
    const insert = pick === 0 ? ' ' : pick === 1 ? '\r\n' : pick === 2 ? '=' : pick === 3 ? 'é' : pick === 4 ? '\uE000' : pick === 5 ? '&amp;' : '-';
    return run.slice(0, at) + insert + run.slice(at);
  };
  const docs: string[] = [];
  // Lengths around the 48 KB pieces the canonical check compares in, and around the 512-character lifting threshold.
  for (const n of [382, 383, 384, 385, 3 * 16_384 - 1, 3 * 16_384, 3 * 16_384 + 1, 2 * 3 * 16_384 + 2, 120_000]) {
    const run = b64(n);
    docs.push(env(stream(run)), env(stream(tamper(run))), env(stream(tamper(tamper(run)))));
    docs.push(env(stream(run + run)), env(stream(`${run}<!--c-->${run}`)), env(stream(`é${run}`)), env(stream(`${run}<![CDATA[x]]>`)));
    docs.push(env(`${stream(run)}<rsp:Stream Name="stderr">${tamper(run)}</rsp:Stream><rsp:CommandState State="x"><rsp:ExitCode>1</rsp:ExitCode></rsp:CommandState>`));
    docs.push(env(`<rsp:Stream Name="stdout" CommandId="é">${run}</rsp:Stream>${run}`));
  }
  for (const doc of docs) {
    const fromText = (() => { try { return parseXml(doc); } catch (err) { return String(err); } })();
    const fromBytes = (() => { try { return parseXml(Buffer.from(doc, 'utf8')); } catch (err) { return String(err); } })();
    if (typeof fromText === 'string' || typeof fromBytes === 'string') { assert.equal(fromBytes, fromText); continue; }
    assert.deepEqual(fromBytes, fromText);
    const streams = (root: typeof fromText) => readReceive({ body: root.children[1] } as never).streams.map((st) => st.bytes.toString('hex'));
    assert.deepEqual(streams(fromBytes), streams(fromText));
    assert.equal(outcome(200, Buffer.from(doc, 'utf8'), ''), outcome(200, doc, ''));
  }
});

test('an entity-expansion bomb is refused unread, and no entity is ever expanded', () => {
  const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`)].join('');
  const bomb = `<?xml version="1.0"?><!DOCTYPE s:Envelope [${lol}]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol9;</s:Body></s:Envelope>`;
  const started = performance.now();
  assert.throws(() => parseXml(bomb), (e: unknown) => e instanceof ProtocolError && /DTD or entity/.test(e.message));
  assert.ok(performance.now() - started < 1000);
  // Declarations anywhere, in any case, also after a long base64 run (the lifting path).
  const longRun = 'QUJD'.repeat(2000);
  for (const doc of [
    `<!doctype x SYSTEM "file:///etc/passwd"><x/>`,
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><b>${longRun}</b><!ENTITY x "y"></s:Body></s:Envelope>`,
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><b>${longRun}</b></s:Body></s:Envelope><!DOCTYPE x>`,
  ]) assert.throws(() => parseXml(doc), ProtocolError);
  // Without a DTD a reference to an undeclared entity stays literal text: nothing is looked up or read.
  const plain = parseXml('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol9;&amp;#65;&#65;</s:Body></s:Envelope>');
  assert.equal(plain.children[0].text, '&lol9;&#65;A');
});

test('nesting deeper than any WS-Man reply is a ProtocolError, even 200,000 levels deep', () => {
  for (const depth of [65, 1000, 200_000]) {
    const doc = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>${'<d>'.repeat(depth)}${'</d>'.repeat(depth)}</s:Body></s:Envelope>`;
    assert.throws(() => interpretReply({ status: 200, body: doc }, 'uuid:x', 'h'), (e: unknown) => e instanceof ProtocolError, `depth ${depth}`);
  }
});
