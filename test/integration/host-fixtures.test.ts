// Replays every captured WinRS exchange in ../shared/fixtures/pypsrp against the test
// host and compares the host's replies with what Windows answered: the same elements,
// namespaces, prefixes and namespace declarations, the same attributes, the same texts
// (ids, times, addresses and the client IP aside), the same HTTP status and fault codes.
// Command output is compared byte for byte where this host can produce Windows' output
// (cmd through wine, PowerShell through pwsh); otherwise only its structure.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestHost, TestHost } from '../host/host';
import { RawClient, RawReply, readFixture, FixtureMessage } from '../host/testing';
import { XmlElement, child, children, childElements, parseXml, text, attr, XML_NS } from '../host/xml';
import { NS } from '../host/wsman';
import { findRoot, peerMissing, pwshPath, runs } from '../support/peers';

const dir = join(findRoot(), '..', 'shared', 'fixtures', 'pypsrp');
const haveWine = runs('wine', ['--version']);
const havePwsh = pwshPath() !== undefined;
peerMissing('wine', haveWine, 'cmd fixtures need it for Windows-identical output: apt-get install --no-install-recommends -y wine wine64');
peerMissing('pwsh 7.6.9', havePwsh, 'dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9');

let host: TestHost;
let client: RawClient;
before(async () => {
  host = await startTestHost({});
  client = new RawClient(host.url);
  await host.wineReady();
});
after(async () => {
  client.close();
  await host.close();
});

const UUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
const norm = (s: string) => s.replace(UUID, '<uuid>');
const name = (e: XmlElement) => `${e.prefix ? `${e.prefix}:` : ''}${e.local}`;

/** Texts that differ from one run (or one machine) to the next. */
const VOLATILE = new Set([
  `${NS.a} MessageID`, `${NS.a} RelatesTo`, `${NS.p} ActivityId`, `${NS.a} Address`,
  `${NS.rsp} Owner`, `${NS.rsp} ClientIP`, `${NS.rsp} ShellRunTime`, `${NS.rsp} ShellInactivity`,
]);

/** Differences between a captured reply and ours, as readable lines. */
function compare(exp: XmlElement, act: XmlElement, path: string, out: string[]): void {
  const here = `${path}/${name(exp)}`;
  if (exp.ns !== act.ns || exp.local !== act.local || exp.prefix !== act.prefix) { out.push(`${here}: got ${name(act)} {${act.ns}}`); return; }
  const decl = (e: XmlElement) => JSON.stringify([...e.declared].sort());
  if (decl(exp) !== decl(act)) out.push(`${here}: namespace declarations ${decl(act)}, Windows ${decl(exp)}`);
  const attrs = (e: XmlElement) => [...e.attrs.keys()].sort().join(' ');
  if (attrs(exp) !== attrs(act)) out.push(`${here}: attributes [${attrs(act)}], Windows [${attrs(exp)}]`);
  for (const [k, v] of exp.attrs) {
    if (k === 'Machine' || (exp.local === 'Variable' && k === 'Name')) continue; // Windows drops a backslash from odd names
    if (act.attrs.has(k) && norm(act.attrs.get(k)!) !== norm(v)) out.push(`${here}/@${k}: "${act.attrs.get(k)}", Windows "${v}"`);
  }
  const ec = childElements(exp).filter((c) => !(c.ns === NS.p && c.local === 'ActivityId'));
  const ac = childElements(act).filter((c) => !(c.ns === NS.p && c.local === 'ActivityId'));
  if (ec.length === 0 && ac.length === 0) {
    if (!VOLATILE.has(`${exp.ns} ${exp.local}`) && norm(text(exp)) !== norm(text(act))) out.push(`${here}: text "${text(act)}", Windows "${text(exp)}"`);
    return;
  }
  if (ec.map(name).join(',') !== ac.map(name).join(',')) { out.push(`${here}: children [${ac.map(name)}], Windows [${ec.map(name)}]`); return; }
  ec.forEach((c, i) => compare(c, ac[i], here, out));
}

interface Output { stdout: Buffer; stderr: Buffer; exitCode: number | undefined }

/** The Receive reply without its data-carrying Streams (their number depends on chunking). */
function withoutData(env: XmlElement): { shape: XmlElement; out: Output } {
  const rr = child(child(env, NS.s, 'Body'), NS.rsp, 'ReceiveResponse');
  const out: Output = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: undefined };
  if (rr) {
    for (const s of children(rr, NS.rsp, 'Stream')) {
      const data = Buffer.from(text(s), 'base64');
      if (attr(s, 'Name') === 'stdout') out.stdout = Buffer.concat([out.stdout, data]);
      else out.stderr = Buffer.concat([out.stderr, data]);
    }
    rr.children = rr.children.filter((c) => typeof c === 'string' || !(c.local === 'Stream' && attr(c, 'End') !== 'true'));
    const code = child(child(rr, NS.rsp, 'CommandState'), NS.rsp, 'ExitCode');
    if (code) out.exitCode = Number(text(code));
  }
  return { shape: env, out };
}

/** What the command printed on Windows, where this host prints the same. */
type Expect = (o: Output) => void;
const equalOut = (stdout: string, stderr = '', exitCode = 0): Expect => (o) => {
  assert.equal(o.stdout.toString('latin1'), stdout);
  assert.equal(o.stderr.toString('latin1'), stderr);
  assert.equal(o.exitCode, exitCode);
};
const hasLines = (...lines: string[]): Expect => (o) => {
  const got = o.stdout.toString('latin1').split('\r\n');
  for (const l of lines) assert.ok(got.includes(l), `"${l}" not in the output of set`);
  assert.equal(o.exitCode, 0);
};

/** Per fixture: what each command's output must be, by command index, and what it needs. */
const OUTPUTS: Record<string, { needs: 'wine' | 'pwsh'; expect: (Expect | undefined)[] }> = {
  'test_winrs_standard.yml': { needs: 'wine', expect: [equalOut('hi\r\n')] },
  'test_winrs_stderr_rc.yml': { needs: 'wine', expect: [equalOut('out \r\n', 'err \r\n', 1)] },
  'test_winrs_send.yml': { needs: 'pwsh', expect: [equalOut('output 1\noutput 2\n')] },
  'test_winrs_no_cmd_shell.yml': { needs: 'pwsh', expect: [equalOut('hi\n')] },
  'test_winrs_extra_opts.yml': { needs: 'pwsh', expect: [(o) => { assert.match(o.stdout.toString(), /drive_c\/windows\n$/i); assert.equal(o.exitCode, 0); }] },
  'test_winrs_environment.yml': { needs: 'wine', expect: [hasLines('env1=var1', '1234=5678')] },
  'test_winrs_noprofile.yml': { needs: 'wine', expect: [hasLines('USERPROFILE=C:\\Users\\Default')] },
  'test_client_execute_cmd.yml': { needs: 'wine', expect: [(o) => assert.equal(o.exitCode, 0), equalOut('abc\r\n')] },
  'test_client_execute_cmd_environment.yml': {
    needs: 'wine',
    expect: [hasLines('string=string value', 'int=1234', 'bool=True', 'double_quote=double " quote', "single_quote=single ' quote", 'hyphen - var=abc @ 123')],
  },
};

function configFor(messages: FixtureMessage[]): number | undefined {
  const m = /<cfg:MaxEnvelopeSizekb>(\d+)</.exec(messages[0].response);
  return m ? Number(m[1]) : undefined;
}

async function replay(file: string, h: TestHost, c: RawClient): Promise<{ diffs: string[]; outputs: Output[] }> {
  const messages = readFixture(join(dir, file));
  const ids = new Map<string, string>();
  const diffs: string[] = [];
  const outputs: Output[] = [];
  for (const [i, m] of messages.entries()) {
    let request = m.request;
    for (const [from, to] of ids) request = request.split(from).join(to);
    const isReceive = /\/windows\/shell\/Receive</.test(request);
    const expected = parseXml(m.response);
    let reply: RawReply;
    let sentId: string;
    let out: Output | undefined;
    const merged: Output = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: undefined };
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.ok(Date.now() < deadline, `${file} #${i + 1}: the command did not finish`);
      sentId = `uuid:${randomUUID().toUpperCase()}`;
      reply = await c.post(request.replace(/(<wsa:MessageID>)[^<]*(<\/wsa:MessageID>)/, `$1${sentId}$2`));
      if (!isReceive || reply.status !== 200) break;
      const got = withoutData(parseXml(reply.body)).out;
      merged.stdout = Buffer.concat([merged.stdout, got.stdout]);
      merged.stderr = Buffer.concat([merged.stderr, got.stderr]);
      merged.exitCode = got.exitCode;
      if (got.exitCode !== undefined) { out = merged; break; } // a Windows reply has all of it; ours may take a few
    }
    const where = `${file} #${i + 1}`;
    if (reply.status !== m.httpStatus) { diffs.push(`${where}: HTTP ${reply.status}, Windows ${m.httpStatus}: ${reply.body.slice(0, 300)}`); continue; }
    let actual = parseXml(reply.body);
    assert.equal(text(child(child(actual, NS.s, 'Header'), NS.a, 'RelatesTo')), sentId, `${where}: RelatesTo is the request's MessageID`);
    let exp = expected;
    if (isReceive && out) { exp = withoutData(expected).shape; actual = withoutData(actual).shape; outputs.push(out); }
    const local: string[] = [];
    compare(exp, actual, '', local);
    diffs.push(...local.map((d) => `${where}: ${d}`));
    // Map Windows' ids to ours for the requests that follow.
    const idOf = (xml: string, re: RegExp) => re.exec(xml)?.[1];
    const pairs: [RegExp][] = [[/<w:Selector Name="ShellId">([^<]+)</], [/<rsp:CommandId>([^<]+)</]];
    for (const [re] of pairs) {
      const from = idOf(m.response, re);
      const to = idOf(reply.body, re);
      if (from && to) ids.set(from, to);
    }
  }
  void h;
  return { diffs, outputs };
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yml')).sort();

test('the fixtures are all here and readable', () => {
  assert.ok(files.length >= 14, `${files.length} fixtures in ${dir}`);
  for (const f of files) {
    const ms = readFixture(join(dir, f));
    assert.ok(ms.length >= 1 && ms.every((m) => m.request.startsWith('<s:Envelope') && m.response.startsWith('<s:Envelope')), f);
  }
});

test('the comparison notices a changed prefix, attribute, fault code, namespace or text', () => {
  const f = readFixture(join(dir, 'test_winrs_bad_cmd_id.yml'))[2].response;
  const diffsOf = (changed: string) => { const out: string[] = []; compare(parseXml(f), parseXml(changed), '', out); return out; };
  assert.deepEqual(diffsOf(f), []);
  assert.deepEqual(diffsOf(f.replace(/2150858843/, '2150858844')).length, 1);
  assert.ok(diffsOf(f.replace(/<a:To>/, '<w:To>').replace(/<\/a:To>/, '</w:To>')).length > 0);
  assert.ok(diffsOf(f.replace(/ xmlns:e="[^"]*"/, '')).length > 0);
  assert.ok(diffsOf(f.replace('w:InvalidSelectors', 'w:InvalidSelector')).length > 0);
  assert.ok(diffsOf(f.replace(' Machine=', ' Mach=')).length > 0);
  assert.ok(diffsOf(f.replace(/<w:FaultDetail>[^<]*<\/w:FaultDetail>/, '')).length > 0);
  // Ids, times and the machine name are not differences.
  assert.deepEqual(diffsOf(f.replace(/uuid:[0-9A-F-]{36}/g, `uuid:${randomUUID().toUpperCase()}`).replace(/Machine="[^"]*"/, 'Machine="other"')), []);
});

for (const file of files) {
  test(`replay ${file}`, async (t) => {
    const messages = readFixture(join(dir, file));
    const envelopeKb = configFor(messages);
    // The config reads came from a Server 2016 host over HTTPS with these settings.
    const h = envelopeKb !== undefined
      ? await startTestHost({ https: true, maxEnvelopeSizeKb: envelopeKb, allowUnencrypted: false, maxShellsPerUser: 2147483647, offerSchemes: ['Negotiate', 'Kerberos', 'CredSSP', 'Basic realm="WSMAN"'] })
      : host;
    const c = envelopeKb !== undefined ? new RawClient(h.url, { ca: h.caPem }) : client;
    try {
      const { diffs, outputs } = await replay(file, h, c);
      assert.deepEqual(diffs, [], `replies differ from Windows':\n${diffs.join('\n')}`);
      const spec = OUTPUTS[file];
      if (spec) {
        const available = spec.needs === 'wine' ? haveWine : havePwsh;
        if (!available) t.diagnostic(`output not compared: ${spec.needs} is missing`);
        else spec.expect.forEach((e, i) => e?.(outputs[i]));
      }
      assert.equal(h.openShells(), 0, 'every shell the fixture opened was deleted');
    } finally {
      if (h !== host) { c.close(); await h.close(); }
    }
  });
}

test('an Enumerate of .../windows/shell answers in the shape Windows did (pypsrp-psrp/test_psrp_disconnect_runspaces.yml)', async () => {
  // Windows listed two PowerShell shells there; here a cmd shell is listed. The envelope,
  // the EnumerateResponse around the items and each item's place for its elements must agree.
  const psrp = readFixture(join(findRoot(), '..', 'shared', 'fixtures', 'pypsrp-psrp', 'test_psrp_disconnect_runspaces.yml'));
  const step = psrp.find((m) => m.request.includes('/enumeration/Enumerate<') && m.request.includes('<wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell</wsman:ResourceURI>'));
  assert.ok(step, 'the capture has an Enumerate of .../windows/shell');
  const shell = await client.create({ name: 'listed' });
  try {
    const sentId = `uuid:${randomUUID().toUpperCase()}`;
    const reply = await client.post(step.request.replace(/(<wsa:MessageID>)[^<]*(<\/wsa:MessageID>)/, `$1${sentId}$2`));
    assert.equal(reply.status, step.httpStatus);
    const actual = parseXml(reply.body);
    const expected = parseXml(step.response);
    assert.equal(text(child(child(actual, NS.s, 'Header'), NS.a, 'RelatesTo')), sentId);
    const items = (root: XmlElement) => child(child(child(root, NS.s, 'Body'), NS.n, 'EnumerateResponse'), NS.w, 'Items')!;
    const theirs = children(items(expected), NS.rsp, 'Shell');
    const ours = children(items(actual), NS.rsp, 'Shell');
    assert.equal(ours.length, 1);
    // Each item declares rsp itself, as Windows' do; its elements come in the order Windows uses.
    assert.deepEqual([...ours[0].declared], [...theirs[0].declared]);
    const order = childElements(theirs[0]).map((e) => e.local);
    const known = childElements(ours[0]).map((e) => e.local).filter((n) => order.includes(n));
    assert.deepEqual(known, [...known].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    assert.ok(['ShellId', 'ResourceUri', 'Owner', 'ClientIP', 'IdleTimeOut', 'InputStreams', 'OutputStreams', 'State', 'ShellRunTime', 'ShellInactivity'].every((n) => known.includes(n)), known.join(' '));
    assert.equal(text(child(ours[0], NS.rsp, 'ShellId')), shell);
    assert.equal(text(child(ours[0], NS.rsp, 'Name')), 'listed');
    // Everything around the items is as Windows wrote it.
    items(expected).children = [];
    items(actual).children = [];
    const diffs: string[] = [];
    compare(expected, actual, '', diffs);
    assert.deepEqual(diffs, []);
  } finally { await client.delete(shell); }
});
