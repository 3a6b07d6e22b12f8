// Builders and parsers checked against real Windows traffic captured by pypsrp.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WsmanFaultError, ProtocolError } from '../../src/core/errors';
import { interpretReply } from '../../src/core/wsman/client';
import {
  buildEnvelope, durationToSeconds, readCommandId, readEnvelope, readFault, readMaxEnvelopeSizeKb, readReceive, readShellId,
  secondsToDuration, shellCreateOptions, writeCommandBody, writeReceiveBody, writeSendBody, writeShellBody, writeSignalBody,
} from '../../src/core/wsman/messages';
import { ACTION, NS, RESOURCE } from '../../src/core/wsman/namespaces';
import { child, find, parseXml, type XmlElement } from '../../src/core/wsman/xml';
import { readRecording } from '../support/fixtures';

function envelopeOf(xml: string) {
  return readEnvelope(parseXml(xml));
}

function messageIdOf(xml: string): string {
  return child(child(parseXml(xml), NS.soap, 'Header'), NS.addressing, 'MessageID')!.text;
}

/** Element names, namespaces, attributes and text, ignoring ids that differ per run. */
function shape(el: XmlElement, ignoreText: Set<string>): unknown {
  const attrs = Object.fromEntries(Object.entries(el.attrs).filter(([k]) => k !== 'CommandId').sort());
  return {
    el: `{${el.ns}}${el.name}`,
    attrs,
    text: ignoreText.has(el.name) ? '*' : el.text.trim(),
    children: el.children.map((c) => shape(c, ignoreText)),
  };
}

const VOLATILE = new Set(['MessageID', 'To', 'SessionId', 'Selector', 'OperationTimeout']);

function headerOf(xml: string, name: string): string | undefined {
  return find(parseXml(xml), NS.wsman, name)?.text ?? find(parseXml(xml), NS.addressing, name)?.text;
}

test('Create, Command, Receive, Signal and Delete requests match what pypsrp sent to Windows', () => {
  const steps = readRecording('test_winrs_standard.yml');
  const shellId = readShellId(envelopeOf(steps[0].response));
  const commandId = readCommandId(envelopeOf(steps[1].response));
  const common = { to: 'http://192.168.56.11:5985/wsman', maxEnvelopeSize: 153600, operationTimeout: 20, locale: 'en-US', sessionId: 'uuid:X' };
  const built = [
    buildEnvelope({ ...common, action: ACTION.create, resourceUri: RESOURCE.cmdShell }, writeShellBody({})),
    buildEnvelope({ ...common, action: ACTION.command, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: shellId }, options: { WINRS_SKIP_CMD_SHELL: 'False' } }, writeCommandBody('cmd.exe', ['/c', 'echo', 'hi'])),
    buildEnvelope({ ...common, action: ACTION.receive, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: shellId }, options: { WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'TRUE' } }, writeReceiveBody(commandId)),
    buildEnvelope({ ...common, action: ACTION.signal, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: shellId } }, writeSignalBody(commandId, 'ctrl_c')),
    buildEnvelope({ ...common, action: ACTION.delete, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: shellId } }),
  ];
  for (let i = 0; i < built.length; i++) {
    const ours = parseXml(built[i].xml);
    const theirs = parseXml(steps[i].request);
    assert.deepEqual(shape(child(ours, NS.soap, 'Body')!, VOLATILE), shape(child(theirs, NS.soap, 'Body')!, VOLATILE), `body of step ${i}`);
    // Same header elements (order aside), same values for the ones that do not vary per run.
    const names = (el: XmlElement) => child(el, NS.soap, 'Header')!.children.map((c) => `{${c.ns}}${c.name}`).sort();
    assert.deepEqual(names(ours), names(theirs), `header elements of step ${i}`);
    for (const h of ['Action', 'ResourceURI', 'MaxEnvelopeSize']) assert.equal(headerOf(built[i].xml, h), headerOf(steps[i].request, h), `${h} of step ${i}`);
    assert.match(built[i].messageId, /^uuid:[0-9A-F-]{36}$/);
  }
});

test('every request gets a new MessageID', () => {
  const h = { to: 'http://h:5985/wsman', action: ACTION.delete, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 };
  const ids = new Set(Array.from({ length: 50 }, () => buildEnvelope(h).messageId));
  assert.equal(ids.size, 50);
});

test('shell options and body carry environment, working directory and idle timeout as xs:duration', () => {
  const steps = readRecording('test_winrs_extra_opts.yml');
  const ours = buildEnvelope({ to: 'x', action: ACTION.create, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 }, writeShellBody({ workingDirectory: 'C:\\Windows', idleTimeout: 60, lifetime: 60, name: 'shell 1' }));
  assert.deepEqual(shape(child(parseXml(ours.xml), NS.soap, 'Body')!, VOLATILE), shape(child(parseXml(steps[0].request), NS.soap, 'Body')!, VOLATILE));
  assert.deepEqual(shellCreateOptions({ codepage: 65001, noProfile: true }), { WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: '65001' });
  const env = readRecording('test_winrs_environment.yml');
  const vars = find(parseXml(env[0].request), NS.shell, 'Environment')!.children.map((v) => [v.attrs.Name, v.text]);
  const rebuilt = buildEnvelope({ to: 'x', action: ACTION.create, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 }, writeShellBody({ environment: Object.fromEntries(vars) }));
  // Names like 1234 reorder in a JS object; the set of variables is what matters.
  assert.deepEqual(find(parseXml(rebuilt.xml), NS.shell, 'Environment')!.children.map((v) => [v.attrs.Name, v.text]).sort(), [...vars].sort());
});

test('Send carries base64 stdin and End on the last chunk, as captured', () => {
  const steps = readRecording('test_winrs_send.yml');
  const sends = steps.filter((s) => s.request.includes('/windows/shell/Send<'));
  assert.equal(sends.length, 2);
  const captured = sends.map((s) => find(parseXml(s.request), NS.shell, 'Stream')!);
  const first = buildEnvelope({ to: 'x', action: ACTION.send, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 }, writeSendBody(captured[0].attrs.CommandId, Buffer.from(captured[0].text, 'base64'), false));
  const last = buildEnvelope({ to: 'x', action: ACTION.send, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 }, writeSendBody(captured[1].attrs.CommandId, Buffer.from(captured[1].text, 'base64'), true));
  assert.deepEqual(find(parseXml(first.xml), NS.shell, 'Stream')!.attrs, { Name: 'stdin', CommandId: captured[0].attrs.CommandId });
  assert.equal(find(parseXml(first.xml), NS.shell, 'Stream')!.text, captured[0].text);
  assert.equal(find(parseXml(last.xml), NS.shell, 'Stream')!.attrs.End, 'true');
  assert.equal(captured[1].attrs.End?.toLowerCase(), 'true');
});

test('replies from Windows parse: shell id, command id, streams, exit codes', () => {
  const standard = readRecording('test_winrs_standard.yml');
  assert.equal(readShellId(envelopeOf(standard[0].response)), '4283CBDC-3706-415B-88BD-B385F3E51A53');
  assert.equal(readCommandId(envelopeOf(standard[1].response)), 'CF84C20A-0A35-43FA-AF78-0B4711DA5F30');
  const r = readReceive(envelopeOf(standard[2].response));
  assert.equal(Buffer.concat(r.streams.filter((s) => s.name === 'stdout').map((s) => s.bytes)).toString(), 'hi\r\n');
  assert.equal(r.done, true);
  assert.equal(r.exitCode, 0);

  const rc = readRecording('test_winrs_stderr_rc.yml');
  const receives = rc.filter((s) => s.request.includes('/windows/shell/Receive<')).map((s) => readReceive(envelopeOf(s.response)));
  const text = (name: string) => Buffer.concat(receives.flatMap((x) => x.streams.filter((s) => s.name === name).map((s) => s.bytes))).toString();
  assert.equal(text('stdout'), 'out \r\n');
  assert.equal(text('stderr'), 'err \r\n');
  assert.equal(receives.at(-1)!.exitCode, 1);

  const extra = readRecording('test_winrs_extra_opts.yml');
  const out = extra.filter((s) => s.request.includes('/windows/shell/Receive<')).flatMap((s) => readReceive(envelopeOf(s.response)).streams);
  assert.equal(Buffer.concat(out.filter((s) => s.name === 'stdout').map((s) => s.bytes)).toString(), 'C:\\Windows\r\n');
});

test('Windows faults become WsmanFaultError with code, subcode, machine and message', () => {
  const bad = readRecording('test_winrs_bad_cmd_id.yml');
  const step = bad.find((s) => s.status === 500)!;
  const fault = readFault(envelopeOf(step.response))!;
  assert.ok(fault instanceof WsmanFaultError);
  assert.equal(fault.code, 2150858843);
  assert.equal(fault.subcode, 'InvalidSelectors');
  assert.equal(fault.isShellGone, true);
  assert.match(fault.wsmanMessage, /command identifier/i);
  assert.ok(fault.hint.length > 10);
  // Through interpretReply, as the transport delivers it.
  assert.throws(() => interpretReply({ status: 500, body: step.response }, messageIdOf(step.request), 'h'), (e: unknown) => e instanceof WsmanFaultError && e.code === 2150858843);

  const noShell = readRecording('test_winrs_no_cmd_shell.yml').find((s) => s.status === 500)!;
  const f2 = readFault(envelopeOf(noShell.response))!;
  assert.equal(f2.code, 2147942402);
  assert.equal(f2.subcode, 'InternalError');
  assert.match(f2.message, /cannot find the file/i);
});

test('RelatesTo must answer our MessageID', () => {
  const step = readRecording('test_winrs_standard.yml')[0];
  const env = interpretReply({ status: 200, body: step.response }, messageIdOf(step.request), 'h');
  assert.equal(env.action, 'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse');
  assert.throws(() => interpretReply({ status: 200, body: step.response }, 'uuid:00000000-0000-0000-0000-000000000000', 'h'), ProtocolError);
});

test('MaxEnvelopeSizekb is read from winrm/config', () => {
  for (const [file, kb] of [['test_wsman_update_envelope_size_150.yml', 150], ['test_wsman_update_envelope_size_500.yml', 500], ['test_wsman_update_envelope_size_4096.yml', 4096]] as const) {
    assert.equal(readMaxEnvelopeSizeKb(envelopeOf(readRecording(file)[0].response)), kb);
  }
});

test('parsing goes by namespace, not prefix, and tolerates OMI whitespace', () => {
  const omi = `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n1="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">
  <SOAP-ENV:Header><wsa:RelatesTo>
     uuid:AB</wsa:RelatesTo></SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <n1:ReceiveResponse>
      <n1:Stream Name="stdout" CommandId="C1">
        aGk=
      </n1:Stream>
      <n1:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done">
        <n1:ExitCode>
          7
        </n1:ExitCode>
      </n1:CommandState>
    </n1:ReceiveResponse>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>`;
  const env = interpretReply({ status: 200, body: omi }, 'uuid:AB', 'h');
  const r = readReceive(env);
  assert.equal(r.streams[0].bytes.toString(), 'hi');
  assert.equal(r.exitCode, 7);
  assert.equal(r.done, true);
  // The same element under a wrong namespace is not a ReceiveResponse.
  assert.throws(() => readReceive(envelopeOf(omi.replace('windows/shell"', 'windows/shellX"'))), ProtocolError);
});

test('DTDs and entity declarations are refused; predefined and numeric entities decode once', () => {
  const bomb = '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&b;</s:Body></s:Envelope>';
  assert.throws(() => parseXml(bomb), ProtocolError);
  const el = parseXml('<a x="1 &amp;#65; &lt;">&#x41;&#66;&amp;#67;&lt;</a>');
  assert.equal(el.text, 'AB&#67;<');
  assert.equal(el.attrs.x, '1 &#65; <');
  assert.throws(() => parseXml('<a><b></a>'), ProtocolError);
  assert.throws(() => parseXml('<p:a/>'), ProtocolError);
});

test('xs:duration both ways', () => {
  assert.equal(secondsToDuration(20), 'PT20S');
  assert.equal(secondsToDuration(1.5), 'PT1.5S');
  assert.equal(durationToSeconds('PT60.000S'), 60);
  assert.equal(durationToSeconds('P0DT0H1M30S'), 90);
  assert.equal(durationToSeconds('PT7200.000S'), 7200);
  assert.equal(durationToSeconds('60000'), undefined);
  assert.equal(durationToSeconds('P'), undefined);
});

test('long base64 runs parse exactly, and long text that is not base64 keeps its entities', () => {
  const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  const b64 = payload.toString('base64').replace(/(.{76})/g, '$1\r\n');
  const attr = 'x>'.repeat(400);
  const xml = `<s:Envelope xmlns:s="${NS.soap}" xmlns:rsp="${NS.shell}"><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="${attr}">${b64}</rsp:Stream>`
    + `<rsp:Stream Name="stderr">${'a&amp;b '.repeat(200)}</rsp:Stream></rsp:ReceiveResponse></s:Body></s:Envelope>`;
  const r = readReceive(envelopeOf(xml));
  assert.ok(r.streams[0].bytes.equals(payload));
  assert.equal(r.streams[0].commandId, attr);
  const stderrText = find(parseXml(xml), NS.shell, 'ReceiveResponse')!.children[1].text;
  assert.equal(stderrText, 'a&b '.repeat(200));
  // A private-use character in the input disables lifting instead of confusing it.
  const tricky = xml.replace('Name="stderr"', 'Name="std\uE000err"');
  assert.ok(readReceive(envelopeOf(tricky)).streams[0].bytes.equals(payload));
});

test('endpoints: bare names get http and 5985; written ports stay, even the default ones', async () => {
  const { parseEndpoint } = await import('../../src/core/transport/http');
  assert.equal(parseEndpoint('server01').href, 'http://server01:5985/wsman');
  assert.equal(parseEndpoint('https://server01').href, 'https://server01:5986/wsman');
  assert.equal(parseEndpoint('server01:8080').href, 'http://server01:8080/wsman');
  assert.equal(parseEndpoint('https://server01:443/wsman').href, 'https://server01/wsman');
  assert.equal(parseEndpoint('http://server01:80').href, 'http://server01/wsman');
  assert.equal(parseEndpoint('https://[::1]:5986/wsman').href, 'https://[::1]:5986/wsman');
  assert.throws(() => parseEndpoint('ftp://x'), /http or https/);
  assert.throws(() => parseEndpoint('http://u:p@x'), /not in the URL/);
});

test('envelope bodies match xmlbuilder2 byte for byte, and text that looks like an entity stays literal', async () => {
  const { create } = await import('xmlbuilder2');
  const inner = (xml: string) => xml.slice(xml.indexOf('<s:Body') ).replace(/^<s:Body[^>]*>/, '').replace(/<\/s:Body>[\s\S]*$/, '');
  const viaXmlbuilder2 = (writer: Parameters<typeof buildEnvelope>[1]) => {
    const body = create().ele(NS.soap, 's:Body', { 'xmlns:rsp': NS.shell });
    writer!(body as never);
    return inner(body.end({ headless: true }));
  };
  const ours = (writer: Parameters<typeof buildEnvelope>[1]) => inner(buildEnvelope({ to: 'x', action: ACTION.command, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 }, writer).xml);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = 'abc XYZ 09 <>"\'%$`;|=\\/é✓😀\t';
  const text = () => Array.from({ length: Math.floor(rand() * 30) }, () => [...alphabet][Math.floor(rand() * [...alphabet].length)]).join('');
  for (let i = 0; i < 300; i++) {
    const writers = [
      writeCommandBody(text(), [text(), text()]),
      writeShellBody({ workingDirectory: text() || 'C:\\', environment: { [`V${i}`]: text() }, idleTimeout: i }),
      writeReceiveBody(text() || 'C1'),
      writeSendBody(text() || 'C1', Buffer.from(text()), i % 2 === 0),
      writeSignalBody(text() || 'C1', 'ctrl_c'),
    ];
    for (const w of writers) assert.equal(ours(w), viaXmlbuilder2(w));
  }
  // xmlbuilder2 leaves "&lt;", "&#65;" and "x&y;" unescaped, which would change a command line
  // (or make the envelope invalid); ours keeps every character literal.
  const tricky = 'echo a&lt;b &amp; &#65; x&y;z';
  const command = writeCommandBody('cmd', ['/c', tricky]);
  assert.notEqual(ours(command), viaXmlbuilder2(command));
  const parsed = find(parseXml(buildEnvelope({ to: 'x', action: ACTION.command, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20 }, command).xml), NS.shell, 'CommandLine')!;
  assert.equal(parsed.children[2].text, tricky);
});

test('a reused Receive envelope still gets a fresh MessageID every time', () => {
  const writer = writeReceiveBody('C1');
  const header = { to: 'http://h:5985/wsman', action: ACTION.receive, resourceUri: RESOURCE.cmdShell, maxEnvelopeSize: 153600, operationTimeout: 20, selectors: { ShellId: 'S1' } };
  const a = buildEnvelope(header, writer);
  const b = buildEnvelope(header, writer);
  assert.notEqual(a.messageId, b.messageId);
  assert.equal(messageIdOf(a.xml), a.messageId);
  assert.equal(messageIdOf(b.xml), b.messageId);
  assert.equal(a.xml.replace(a.messageId, ''), b.xml.replace(b.messageId, ''));
});
