// Listing the host's shells (WS-Enumeration): the Enumerate and Pull builders checked
// against what pypsrp sent to Windows, the reply reader against what Windows answered
// (../shared/fixtures/pypsrp-psrp).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../src/core/errors';
import { interpretReply } from '../../src/core/wsman/client';
import { ENUMERATION_MAX_ELEMENTS, buildEnvelope, readEnvelope, readShellEnumeration, writeEnumerateBody, writePullBody, writeReceiveBody, writeShellBody } from '../../src/core/wsman/messages';
import { ACTION, NS, RESOURCE } from '../../src/core/wsman/namespaces';
import { child, find, parseXml, type XmlElement } from '../../src/core/wsman/xml';
import { readRecording } from '../support/fixtures';

const enumerations = readRecording('test_psrp_disconnect_runspaces.yml', 'pypsrp-psrp').filter((s) => s.request.includes('/enumeration/Enumerate<'));
/** The Enumerate of .../windows/shell (the others list one shell's commands, with a filter). */
const shellsStep = enumerations.find((s) => s.request.includes('>http://schemas.microsoft.com/wbem/wsman/1/windows/shell</wsman:ResourceURI>'))!;

function envelopeOf(xml: string) {
  return readEnvelope(parseXml(xml));
}

function shape(el: XmlElement): unknown {
  return { el: `{${el.ns}}${el.name}`, attrs: el.attrs, text: el.text.trim(), children: el.children.map(shape) };
}

const header = { to: 'https://127.0.0.1:55986/wsman', maxEnvelopeSize: 153600, operationTimeout: 20, locale: 'en-US', sessionId: 'uuid:X' };

test('the captures hold an Enumerate of .../windows/shell and its answer', () => {
  assert.ok(shellsStep, 'test_psrp_disconnect_runspaces.yml lists the shells');
  assert.equal(enumerations.length, 3);
});

test('Enumerate: the request pypsrp sent to Windows, body and headers', () => {
  const built = buildEnvelope({ ...header, action: ACTION.enumerate, resourceUri: RESOURCE.shells }, writeEnumerateBody());
  const ours = parseXml(built.xml);
  const theirs = parseXml(shellsStep.request);
  assert.deepEqual(shape(child(ours, NS.soap, 'Body')!), shape(child(theirs, NS.soap, 'Body')!));
  const names = (el: XmlElement) => child(el, NS.soap, 'Header')!.children.map((c) => `{${c.ns}}${c.name}`).sort();
  assert.deepEqual(names(ours), names(theirs));
  for (const [ns, name] of [[NS.addressing, 'Action'], [NS.wsman, 'ResourceURI'], [NS.wsman, 'MaxEnvelopeSize']] as const) {
    assert.equal(find(ours, ns, name)!.text, find(theirs, ns, name)!.text, name);
  }
  assert.equal(ENUMERATION_MAX_ELEMENTS, 32000);
  // wsen is declared where it is used; no other envelope gains a declaration.
  assert.match(built.xml, /<s:Body><wsen:Enumerate xmlns:wsen="http:\/\/schemas.xmlsoap.org\/ws\/2004\/09\/enumeration"><wsman:OptimizeEnumeration\/><wsman:MaxElements>32000<\/wsman:MaxElements><\/wsen:Enumerate><\/s:Body>/);
  for (const other of [
    buildEnvelope({ ...header, action: ACTION.create, resourceUri: RESOURCE.cmdShell }, writeShellBody({ name: 'n' })),
    buildEnvelope({ ...header, action: ACTION.receive, resourceUri: RESOURCE.cmdShell, selectors: { ShellId: 'S' } }, writeReceiveBody('C')),
  ]) assert.doesNotMatch(other.xml, /wsen|enumeration/);
});

test('Pull: the context and MaxElements in WS-Enumeration\'s namespace', () => {
  const built = buildEnvelope({ ...header, action: ACTION.pull, resourceUri: RESOURCE.shells }, writePullBody('uuid:C0FFEE & <co>', 50));
  assert.match(built.xml, /<s:Body><wsen:Pull xmlns:wsen="http:\/\/schemas.xmlsoap.org\/ws\/2004\/09\/enumeration"><wsen:EnumerationContext>uuid:C0FFEE &amp; &lt;co&gt;<\/wsen:EnumerationContext><wsen:MaxElements>50<\/wsen:MaxElements><\/wsen:Pull><\/s:Body>/);
  const pull = find(parseXml(built.xml), NS.enumeration, 'Pull')!;
  assert.equal(child(pull, NS.enumeration, 'EnumerationContext')!.text, 'uuid:C0FFEE & <co>');
  assert.equal(find(parseXml(built.xml), NS.addressing, 'Action')!.text, 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull');
});

test('the Enumerate and Pull bodies match xmlbuilder2 byte for byte', async () => {
  const { create } = await import('xmlbuilder2');
  const inner = (xml: string) => xml.slice(xml.indexOf('<s:Body')).replace(/^<s:Body[^>]*>/, '').replace(/<\/s:Body>[\s\S]*$/, '');
  const viaXmlbuilder2 = (writer: Parameters<typeof buildEnvelope>[1]) => {
    const body = create().ele(NS.soap, 's:Body', { 'xmlns:rsp': NS.shell, 'xmlns:wsman': NS.wsman });
    writer!(body as never);
    return inner(body.end({ headless: true }));
  };
  const ours = (writer: Parameters<typeof buildEnvelope>[1]) => inner(buildEnvelope({ ...header, action: ACTION.pull, resourceUri: RESOURCE.shells }, writer).xml);
  for (const w of [writeEnumerateBody(), writeEnumerateBody(7), writePullBody('uuid:1'), writePullBody('a"b<c>&d\'e', 3)]) assert.equal(ours(w), viaXmlbuilder2(w));
});

test('Windows\' EnumerateResponse: every listed shell, and the end of the list', () => {
  const env = interpretReply({ status: 200, body: shellsStep.response }, /MessageID>([^<]+)</.exec(shellsStep.request)![1], 'h');
  const page = readShellEnumeration(env);
  assert.deepEqual(page, {
    end: true,
    context: undefined,
    shells: [
      { id: 'B6631D8E-65A0-49F2-9053-A1B156C95777', name: undefined, resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell', owner: 'WIN-NNMU24VVKJ0\\vagrant', clientIp: '10.0.2.2', state: 'Disconnected' },
      { id: '01AA3E43-9E21-424B-A7FC-BC16AA34F4CE', name: undefined, resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell', owner: 'WIN-NNMU24VVKJ0\\vagrant', clientIp: '10.0.2.2', state: 'Disconnected' },
    ],
  });
  // An empty list (the filtered Enumerates of the capture).
  for (const s of enumerations.filter((e) => e !== shellsStep)) assert.deepEqual(readShellEnumeration(envelopeOf(s.response)), { end: true, context: undefined, shells: [] });
});

const wrap = (body: string) =>
  `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:n="${NS.enumeration}" xmlns:w="${NS.wsman}"><s:Header><a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body>${body}</s:Body></s:Envelope>`;
const item = (inner: string, attrs = '') => `<rsp:Shell xmlns:rsp="${NS.shell}"${attrs}>${inner}</rsp:Shell>`;

test('a PullResponse, a page that goes on, Name as element or attribute, odd items skipped', () => {
  const page = readShellEnumeration(envelopeOf(wrap(
    `<n:PullResponse><n:EnumerationContext> uuid:NEXT </n:EnumerationContext><n:Items>` +
    item('<rsp:ShellId>A</rsp:ShellId><rsp:Name> winrm-runner-00 </rsp:Name><rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri><rsp:State>Connected</rsp:State>') +
    item('<rsp:ShellId>B</rsp:ShellId>', ' Name="Runspace1"') +
    item('<rsp:Name>no id</rsp:Name>') +
    `<other xmlns="urn:x"><rsp:ShellId xmlns:rsp="${NS.shell}">C</rsp:ShellId></other>` +
    `</n:Items></n:PullResponse>`)));
  assert.deepEqual(page, {
    end: false,
    context: 'uuid:NEXT',
    shells: [
      { id: 'A', name: 'winrm-runner-00', resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd', owner: undefined, clientIp: undefined, state: 'Connected' },
      { id: 'B', name: 'Runspace1', resourceUri: undefined, owner: undefined, clientIp: undefined, state: undefined },
    ],
  });
  // The end in either namespace; items in either.
  assert.equal(readShellEnumeration(envelopeOf(wrap(`<n:PullResponse><w:Items>${item('<rsp:ShellId>A</rsp:ShellId>')}</w:Items><n:EndOfSequence/></n:PullResponse>`))).shells[0].id, 'A');
  assert.equal(readShellEnumeration(envelopeOf(wrap('<n:EnumerateResponse><n:EnumerationContext/><w:EndOfSequence/></n:EnumerateResponse>'))).end, true);
});

test('a reply that is no enumeration, or neither ends nor goes on, is a ProtocolError', () => {
  assert.throws(() => readShellEnumeration(envelopeOf(wrap('<n:Nothing/>'))), ProtocolError);
  assert.throws(() => readShellEnumeration(envelopeOf(wrap(`<n:EnumerateResponse><n:EnumerationContext>  </n:EnumerationContext><w:Items>${item('<rsp:ShellId>A</rsp:ShellId>')}</w:Items></n:EnumerateResponse>`))), /neither ends the list/);
  // A plain (not optimized) EnumerateResponse: a context, no items yet.
  assert.deepEqual(readShellEnumeration(envelopeOf(wrap('<n:EnumerateResponse><n:EnumerationContext>uuid:X</n:EnumerationContext></n:EnumerateResponse>'))), { end: false, context: 'uuid:X', shells: [] });
});
