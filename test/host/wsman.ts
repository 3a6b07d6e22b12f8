// WS-Management envelopes as a Windows host reads and writes them. Requests are read
// by namespace (any prefix); replies are written with Windows' own prefixes, namespace
// declarations and element order, as captured in ../shared/fixtures/pypsrp/*.yml.
import { randomUUID } from 'node:crypto';
import { XmlElement, XmlError, attr, child, children, escapeAttr, escapeText, parseXml, text, XML_NS } from './xml';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  a: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  x: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  e: 'http://schemas.xmlsoap.org/ws/2004/08/eventing',
  n: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration',
  w: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  p: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  f: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
  cfg: 'http://schemas.microsoft.com/wbem/wsman/1/config',
} as const;

export const ACTION = {
  create: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  delete: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete',
  get: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get',
  command: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command',
  receive: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive',
  send: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
  signal: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal',
  enumerate: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate',
  pull: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull',
  release: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release',
  fault: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
} as const;

export const RESOURCE_CMD = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';
/** Every shell of every plugin (what `winrm enumerate windows/shell` and Get-PSSession -ComputerName list). */
export const RESOURCE_SHELLS = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
export const RESOURCE_CONFIG = 'http://schemas.microsoft.com/wbem/wsman/1/config';
export const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';
export const SIGNAL = {
  terminate: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate',
  ctrlC: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c',
  ctrlBreak: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break',
} as const;
export const COMMAND_STATE = {
  running: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running',
  done: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done',
} as const;

/** One request, read by namespace. */
export interface WsmanRequest {
  envelope: XmlElement;
  header: XmlElement | undefined;
  body: XmlElement | undefined;
  action: string;
  messageId: string;
  to: string | undefined;
  resourceUri: string | undefined;
  /** Raw wsman:MaxEnvelopeSize, when sent. */
  maxEnvelopeSize: number | undefined;
  /** Raw wsman:OperationTimeout, when sent. */
  operationTimeout: string | undefined;
  selectors: Map<string, string>;
  /** wsman:OptionSet options by Name. */
  options: Map<string, string>;
  locale: string | undefined;
}

/** Thrown by handlers; rendered as a Windows-shaped SOAP fault. */
export class WsmanFault extends Error {
  constructor(readonly fault: FaultSpec) {
    super(fault.reason.trim());
  }
}

export interface FaultSpec {
  /** HTTP status; Windows sends WS-Man faults with 500. */
  status?: number;
  code: 's:Sender' | 's:Receiver';
  /** Subcode QName as Windows writes it, e.g. `w:TimedOut`. */
  subcode: string;
  reason: string;
  /** f:WSManFault/@Code (decimal). */
  wsmanCode: number;
  /** f:Message text; defaults to the reason. */
  message?: string;
  /** f:Message/f:ProviderFault, as the cmd shell plugin writes it. */
  provider?: { name: string; path: string; text: string };
  /** w:FaultDetail URI before the WSManFault, when Windows writes one. */
  faultDetail?: string;
}

export function parseRequest(soap: string): WsmanRequest {
  let envelope: XmlElement;
  try {
    envelope = parseXml(soap);
  } catch (e) {
    if (e instanceof XmlError) throw new WsmanFault(FAULTS.invalidBody());
    throw e;
  }
  if (envelope.ns !== NS.s || envelope.local !== 'Envelope') throw new WsmanFault(FAULTS.invalidBody());
  const header = child(envelope, NS.s, 'Header');
  const body = child(envelope, NS.s, 'Body');
  const selectors = new Map<string, string>();
  for (const sel of children(child(header, NS.w, 'SelectorSet'), NS.w, 'Selector')) {
    selectors.set(attr(sel, 'Name') ?? '', text(sel).trim());
  }
  const options = new Map<string, string>();
  for (const opt of children(child(header, NS.w, 'OptionSet'), NS.w, 'Option')) {
    options.set(attr(opt, 'Name') ?? '', text(opt).trim());
  }
  const mes = child(header, NS.w, 'MaxEnvelopeSize');
  const locale = child(header, NS.w, 'Locale');
  return {
    envelope,
    header,
    body,
    action: text(child(header, NS.a, 'Action')).trim(),
    messageId: text(child(header, NS.a, 'MessageID')).trim(),
    to: child(header, NS.a, 'To') ? text(child(header, NS.a, 'To')).trim() : undefined,
    resourceUri: child(header, NS.w, 'ResourceURI') ? text(child(header, NS.w, 'ResourceURI')).trim() : undefined,
    maxEnvelopeSize: mes ? Number(text(mes).trim()) : undefined,
    operationTimeout: child(header, NS.w, 'OperationTimeout') ? text(child(header, NS.w, 'OperationTimeout')).trim() : undefined,
    selectors,
    options,
    locale: locale?.attrs.get(`{${XML_NS}}lang`),
  };
}

// ---------------------------------------------------------------------------------
// xs:duration

/**
 * Milliseconds of an xs:duration (`PT20S`, `PT60.000S`, `P0DT0H1M0S`); undefined when
 * the text is not one. Months and years are refused: WS-Man timeouts never use them.
 */
export function parseDuration(value: string): number | undefined {
  const m = /^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim());
  if (!m || value.trim() === 'P' || /T$/.test(value.trim())) return undefined;
  if (m[2] === undefined && m[3] === undefined && m[4] === undefined && m[5] === undefined) return undefined;
  const ms = ((Number(m[2] ?? 0) * 24 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 60_000 + Math.round(Number(m[5] ?? 0) * 1000);
  return m[1] ? -ms : ms;
}

/** The form Windows echoes for IdleTimeOut: seconds with three decimals, `PT60.000S`. */
export function formatSeconds(ms: number): string {
  return `PT${(ms / 1000).toFixed(3)}S`;
}

/** ShellRunTime / ShellInactivity form: `P0DT0H0M0S`. */
export function formatDayTime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `P${d}DT${h}H${m}M${s}S`;
}

// ---------------------------------------------------------------------------------
// Replies

/** Namespace declarations on the reply envelope, by reply kind, exactly as Windows writes them. */
const ENVELOPE_NS: Record<string, (keyof typeof NS)[]> = {
  shell: ['s', 'a', 'x', 'w', 'rsp', 'p'],     // Create, Command, Send, Signal
  receive: ['s', 'a', 'w', 'rsp', 'p'],
  delete: ['s', 'a', 'w', 'p'],
  get: ['s', 'a', 'x', 'w', 'p'],
  // EnumerateResponse (test_psrp_disconnect_runspaces.yml in ../shared/fixtures/pypsrp-psrp); Pull and Release alike.
  enumerate: ['s', 'a', 'n', 'w', 'p'],
  fault: ['s', 'a', 'x', 'e', 'n', 'w', 'p'],
};

export type ReplyKind = keyof typeof ENVELOPE_NS;

export function newMessageId(): string {
  return `uuid:${randomUUID().toUpperCase()}`;
}

/** Builds a reply envelope; `body` is the inner XML of s:Body. */
export function envelope(kind: ReplyKind, action: string, relatesTo: string, body: string): string {
  const decl = ENVELOPE_NS[kind].map((p) => ` xmlns:${p}="${NS[p]}"`).join('');
  // Server 2016+ writes a p:ActivityId (an ETW activity GUID) after the MessageID.
  const activity = randomUUID().toUpperCase();
  return (
    `<s:Envelope xml:lang="en-US"${decl}><s:Header>` +
    `<a:Action>${escapeText(action)}</a:Action>` +
    `<a:MessageID>${newMessageId()}</a:MessageID>` +
    `<p:ActivityId>${activity}</p:ActivityId>` +
    `<a:To>${ANONYMOUS}</a:To>` +
    `<a:RelatesTo>${escapeText(relatesTo)}</a:RelatesTo>` +
    `</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export function faultEnvelope(spec: FaultSpec, relatesTo: string, machine: string): string {
  const message = spec.message ?? spec.reason;
  const inner = spec.provider
    ? `<f:ProviderFault provider="${escapeAttr(spec.provider.name)}" path="${escapeAttr(spec.provider.path)}">${escapeText(spec.provider.text)}</f:ProviderFault>`
    : escapeText(message);
  const body =
    `<s:Fault><s:Code><s:Value>${spec.code}</s:Value><s:Subcode><s:Value>${spec.subcode}</s:Value></s:Subcode></s:Code>` +
    `<s:Reason><s:Text xml:lang="en-US">${escapeText(spec.reason)}</s:Text></s:Reason>` +
    `<s:Detail>${spec.faultDetail ? `<w:FaultDetail>${spec.faultDetail}</w:FaultDetail>` : ''}` +
    `<f:WSManFault xmlns:f="${NS.f}" Code="${spec.wsmanCode}" Machine="${escapeAttr(machine)}"><f:Message>${inner}</f:Message></f:WSManFault>` +
    `</s:Detail></s:Fault>`;
  return envelope('fault', ACTION.fault, relatesTo, body);
}

// ---------------------------------------------------------------------------------
// The faults a Windows host sends, with its texts (trailing spaces included: Windows
// ends these sentences with ". " and the TimedOut one with ".  ").

const CMD_PLUGIN = { name: 'Shell cmd plugin', path: '%systemroot%\\system32\\winrscmd.dll' };

export const FAULTS = {
  /** Receive found no output within OperationTimeout (pywinrm/pypsrp match the code). */
  timedOut: (): FaultSpec => ({
    code: 's:Receiver',
    subcode: 'w:TimedOut',
    reason: 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ',
    wsmanCode: 2150858793,
  }),
  /** A CommandId that does not exist (test_winrs_bad_cmd_id.yml). */
  unknownCommand: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:InvalidSelectors',
    reason: 'The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ',
    faultDetail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors',
    wsmanCode: 2150858843,
    message:
      'The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. ',
  }),
  /** A ShellId that does not exist (deleted, timed out, or never created). */
  unknownShell: (shellId: string): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:InvalidSelectors',
    reason: 'The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ',
    faultDetail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors',
    wsmanCode: 2150858843,
    message: `The request for the Windows Remote Shell with ShellId ${shellId} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. `,
  }),
  /** winrm/config/winrs MaxShellsPerUser reached. */
  shellQuota: (max: number): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:QuotaLimit',
    reason: 'The WS-Management service cannot process the request. The maximum number of concurrent shells for this user has been exceeded. Close existing shells or raise the quota for this user. ',
    wsmanCode: 2150859173,
    message: `The WS-Management service cannot process the request. This user is allowed a maximum number of ${max} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. `,
  }),
  /** Schema violation, e.g. IdleTimeOut given in milliseconds instead of an xs:duration. */
  schema: (message?: string): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:SchemaValidationError',
    reason: 'The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. ',
    wsmanCode: 2150858817,
    message,
  }),
  /** cmd.exe's (8191) or CreateProcess's (32767) command-line limit. */
  tooLong: (): FaultSpec => ({
    code: 's:Receiver',
    subcode: 'w:InternalError',
    reason: 'The filename or extension is too long. ',
    wsmanCode: 2147942606,
    provider: { ...CMD_PLUGIN, text: 'The filename or extension is too long. ' },
  }),
  /** WINRS_SKIP_CMD_SHELL with a program that is not a full path (test_winrs_no_cmd_shell.yml). */
  fileNotFound: (): FaultSpec => ({
    code: 's:Receiver',
    subcode: 'w:InternalError',
    reason: 'The system cannot find the file specified. ',
    wsmanCode: 2147942402,
    provider: { ...CMD_PLUGIN, text: 'The system cannot find the file specified. ' },
  }),
  /** WorkingDirectory that does not exist (ERROR_DIRECTORY). */
  badDirectory: (): FaultSpec => ({
    code: 's:Receiver',
    subcode: 'w:InternalError',
    reason: 'The directory name is invalid. ',
    wsmanCode: 2147942667,
    provider: { ...CMD_PLUGIN, text: 'The directory name is invalid. ' },
  }),
  /** wsman:MaxEnvelopeSize under 8192 octets (MS-WSMV 3.1.4.1.7: MUST fault). */
  envelopeSizeTooSmall: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:EncodingLimit',
    reason: 'The WS-Management service does not support the value in the configuration for MaxEnvelopeSize. ',
    faultDetail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize',
    wsmanCode: 2150858862,
  }),
  /** Texts from wsmerror.h (ERROR_WSMAN_ACTION_NOT_SUPPORTED). */
  actionNotSupported: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'a:ActionNotSupported',
    reason: 'The WS-Management service does not support the action specified in the request. ',
    wsmanCode: 2150858771,
  }),
  /** Unknown resource URI; text from wsmerror.h (ERROR_WSMAN_RESOURCE_NOT_FOUND). */
  resourceNotFound: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:DestinationUnreachable',
    reason: 'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors. ',
    wsmanCode: 2150858752,
  }),
  /** Texts from wsmerror.h (ERROR_WSMAN_MESSAGE_INFORMATION_HEADER_REQUIRED). */
  headerRequired: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'a:MessageInformationHeaderRequired',
    reason: 'The WS-Management service cannot process the request. The request does not have all the expected SOAP headers. ',
    wsmanCode: 2150858769,
  }),
  /** A Pull or Release with a context the host does not know (ended, released, expired); texts from wsmerror.h. */
  invalidEnumerationContext: (): FaultSpec => ({
    code: 's:Receiver',
    subcode: 'n:InvalidEnumerationContext',
    reason: 'The WS-Enumeration context in the enumeration is not valid. Enumeration may have been completed or canceled. You cannot use this enumeration context anymore. Start a new enumeration. ',
    wsmanCode: 2150858779,
  }),
  /** wsman:Filter on a shell enumeration (MS-WSMV 3.1.4.8.2: MUST fault for .../shell/cmd); texts from wsmerror.h. */
  filteringNotSupported: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'n:FilteringNotSupported',
    reason: 'The data source does not support filtering. Remove the filter from the request and try the request again. ',
    wsmanCode: 2150858776,
  }),
  /** Texts from wsmerror.h (ERROR_WSMAN_INVALID_SOAP_BODY). */
  invalidBody: (): FaultSpec => ({
    code: 's:Sender',
    subcode: 'w:InvalidBody',
    reason: 'The WS-Management service cannot process the request because the request packet does not have a valid SOAP body. ',
    wsmanCode: 2150858791,
  }),
};

// ---------------------------------------------------------------------------------
// Body builders for each reply

export interface ShellView {
  id: string;
  /** rsp:Name from the Create, when the client gave one. */
  name: string | undefined;
  owner: string;
  clientIp: string;
  environment: [string, string][];
  workingDirectory: string | undefined;
  idleTimeoutMs: number;
  createdAt: number;
  lastActivity: number;
}

export function resourceCreatedBody(address: string, shell: ShellView, now: number): string {
  return (
    `<x:ResourceCreated><a:Address>${escapeText(address)}</a:Address><a:ReferenceParameters>` +
    `<w:ResourceURI>${RESOURCE_CMD}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">${shell.id}</w:Selector></w:SelectorSet>` +
    `</a:ReferenceParameters></x:ResourceCreated>` +
    shellElement(shell, now, false)
  );
}

/**
 * rsp:Shell describing a cmd shell: in a Create reply as Windows sends it (no Name, even
 * when the Create gave one: test_winrs_extra_opts.yml), and as an enumeration item. No
 * capture shows a cmd shell listed; the item is the Create reply's elements plus Name and
 * State in the places the Shell schema (MS-WSMV 2.2.4.37) and a captured PowerShell
 * shell listing (pypsrp-psrp/test_psrp_disconnect_runspaces.yml) give them.
 */
export function shellElement(shell: ShellView, now: number, listing: boolean): string {
  const env = shell.environment.length
    ? `<rsp:Environment>${shell.environment.map(([k, v]) => `<rsp:Variable Name="${escapeAttr(k)}">${escapeText(v)}</rsp:Variable>`).join('')}</rsp:Environment>`
    : '';
  const wd = shell.workingDirectory !== undefined ? `<rsp:WorkingDirectory>${escapeText(shell.workingDirectory)}</rsp:WorkingDirectory>` : '';
  const name = listing && shell.name !== undefined ? `<rsp:Name>${escapeText(shell.name)}</rsp:Name>` : '';
  const state = listing ? '<rsp:State>Connected</rsp:State>' : '';
  return (
    `<rsp:Shell xmlns:rsp="${NS.rsp}"><rsp:ShellId>${shell.id}</rsp:ShellId>${name}<rsp:ResourceUri>${RESOURCE_CMD}</rsp:ResourceUri>` +
    `<rsp:Owner>${escapeText(shell.owner)}</rsp:Owner><rsp:ClientIP>${escapeText(shell.clientIp)}</rsp:ClientIP>` +
    env + wd +
    `<rsp:IdleTimeOut>${formatSeconds(shell.idleTimeoutMs)}</rsp:IdleTimeOut>` +
    `<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>` + state +
    `<rsp:ShellRunTime>${formatDayTime(now - shell.createdAt)}</rsp:ShellRunTime>` +
    `<rsp:ShellInactivity>${formatDayTime(now - shell.lastActivity)}</rsp:ShellInactivity></rsp:Shell>`
  );
}

/**
 * n:EnumerateResponse as Windows answers an optimized Enumerate (wsman:Items and
 * wsman:EndOfSequence; the context element stays, empty, when the sequence ended) or a
 * plain one (only the context: the items come by Pull).
 */
export function enumerateResponseBody(context: string, items: string[] | undefined, end: boolean): string {
  const ctx = `<n:EnumerationContext>${end ? '' : escapeText(context)}</n:EnumerationContext>`;
  if (items === undefined) return `<n:EnumerateResponse>${ctx}</n:EnumerateResponse>`;
  return `<n:EnumerateResponse>${ctx}<w:Items>${items.join('')}</w:Items>${end ? '<w:EndOfSequence/>' : ''}</n:EnumerateResponse>`;
}

/** n:PullResponse (WS-Enumeration's own Items and EndOfSequence; no context once ended). */
export function pullResponseBody(context: string, items: string[], end: boolean): string {
  return `<n:PullResponse>${end ? '' : `<n:EnumerationContext>${escapeText(context)}</n:EnumerationContext>`}` +
    `<n:Items>${items.join('')}</n:Items>${end ? '<n:EndOfSequence/>' : ''}</n:PullResponse>`;
}

export function commandResponseBody(commandId: string): string {
  return `<rsp:CommandResponse><rsp:CommandId>${commandId}</rsp:CommandId></rsp:CommandResponse>`;
}

export function streamElement(name: string, commandId: string, data: Buffer): string {
  return `<rsp:Stream Name="${name}" CommandId="${commandId}">${data.toString('base64')}</rsp:Stream>`;
}

export function streamEndElement(name: string, commandId: string): string {
  return `<rsp:Stream Name="${name}" CommandId="${commandId}" End="true"></rsp:Stream>`;
}

export function commandStateElement(commandId: string, exitCode: number | undefined): string {
  return exitCode === undefined
    ? `<rsp:CommandState CommandId="${commandId}" State="${COMMAND_STATE.running}"></rsp:CommandState>`
    : `<rsp:CommandState CommandId="${commandId}" State="${COMMAND_STATE.done}"><rsp:ExitCode>${exitCode}</rsp:ExitCode></rsp:CommandState>`;
}

export interface ConfigView {
  maxEnvelopeSizeKb: number;
  maxTimeoutMs: number;
  allowUnencrypted: boolean;
  basic: boolean;
  kerberos: boolean;
  negotiate: boolean;
  credssp: boolean;
  idleTimeoutMs: number;
  maxShellsPerUser: number;
}

/** cfg:Config as Server 2016 answers a Get of winrm/config (test_wsman_update_envelope_size_*.yml). */
export function configBody(c: ConfigView): string {
  const b = (v: boolean) => (v ? 'true' : 'false');
  return (
    `<cfg:Config xmlns:cfg="${NS.cfg}"><cfg:MaxEnvelopeSizekb>${c.maxEnvelopeSizeKb}</cfg:MaxEnvelopeSizekb>` +
    `<cfg:MaxTimeoutms>${c.maxTimeoutMs}</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems>` +
    `<cfg:MaxProviderRequests>4294967295</cfg:MaxProviderRequests>` +
    `<cfg:Client><cfg:NetworkDelayms>5000</cfg:NetworkDelayms><cfg:URLPrefix>wsman</cfg:URLPrefix>` +
    `<cfg:AllowUnencrypted>false</cfg:AllowUnencrypted><cfg:Auth><cfg:Basic>true</cfg:Basic><cfg:Digest>true</cfg:Digest>` +
    `<cfg:Kerberos>true</cfg:Kerberos><cfg:Negotiate>true</cfg:Negotiate><cfg:Certificate>true</cfg:Certificate>` +
    `<cfg:CredSSP>false</cfg:CredSSP></cfg:Auth><cfg:DefaultPorts><cfg:HTTP>5985</cfg:HTTP><cfg:HTTPS>5986</cfg:HTTPS>` +
    `</cfg:DefaultPorts><cfg:TrustedHosts></cfg:TrustedHosts></cfg:Client>` +
    `<cfg:Service><cfg:RootSDDL>O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)</cfg:RootSDDL>` +
    `<cfg:MaxConcurrentOperations>4294967295</cfg:MaxConcurrentOperations>` +
    `<cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser>` +
    `<cfg:EnumerationTimeoutms>240000</cfg:EnumerationTimeoutms><cfg:MaxConnections>300</cfg:MaxConnections>` +
    `<cfg:MaxPacketRetrievalTimeSeconds>120</cfg:MaxPacketRetrievalTimeSeconds>` +
    `<cfg:AllowUnencrypted>${b(c.allowUnencrypted)}</cfg:AllowUnencrypted>` +
    `<cfg:Auth><cfg:Basic>${b(c.basic)}</cfg:Basic><cfg:Kerberos>${b(c.kerberos)}</cfg:Kerberos>` +
    `<cfg:Negotiate>${b(c.negotiate)}</cfg:Negotiate><cfg:Certificate>false</cfg:Certificate>` +
    `<cfg:CredSSP>${b(c.credssp)}</cfg:CredSSP><cfg:CbtHardeningLevel>Relaxed</cfg:CbtHardeningLevel></cfg:Auth>` +
    `<cfg:DefaultPorts><cfg:HTTP>5985</cfg:HTTP><cfg:HTTPS>5986</cfg:HTTPS></cfg:DefaultPorts>` +
    `<cfg:IPv4Filter>*</cfg:IPv4Filter><cfg:IPv6Filter>*</cfg:IPv6Filter>` +
    `<cfg:EnableCompatibilityHttpListener>false</cfg:EnableCompatibilityHttpListener>` +
    `<cfg:EnableCompatibilityHttpsListener>false</cfg:EnableCompatibilityHttpsListener>` +
    `<cfg:CertificateThumbprint></cfg:CertificateThumbprint><cfg:AllowRemoteAccess>true</cfg:AllowRemoteAccess></cfg:Service>` +
    `<cfg:Winrs><cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess><cfg:IdleTimeout>${c.idleTimeoutMs}</cfg:IdleTimeout>` +
    `<cfg:MaxConcurrentUsers>2147483647</cfg:MaxConcurrentUsers><cfg:MaxShellRunTime>2147483647</cfg:MaxShellRunTime>` +
    `<cfg:MaxProcessesPerShell>2147483647</cfg:MaxProcessesPerShell><cfg:MaxMemoryPerShellMB>2147483647</cfg:MaxMemoryPerShellMB>` +
    `<cfg:MaxShellsPerUser>${c.maxShellsPerUser}</cfg:MaxShellsPerUser></cfg:Winrs></cfg:Config>`
  );
}

export { attr, child, children, text };
