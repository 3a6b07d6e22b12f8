// Namespace URIs of WS-Management as Windows uses them. Replies are matched by
// these URIs, never by prefix: Windows, OMI and Exchange pick different prefixes.
export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  addressing: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  wsmv: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  shell: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  enumeration: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration',
  fault: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
  config: 'http://schemas.microsoft.com/wbem/wsman/1/config',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;

export const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';

export const RESOURCE = {
  cmdShell: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd',
  /** Every shell the user may see, of every plugin: what an Enumerate lists (as `winrm enumerate windows/shell`). */
  shells: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  config: 'http://schemas.microsoft.com/wbem/wsman/1/config',
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
} as const;

export const SIGNAL = {
  terminate: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate',
  ctrl_c: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c',
  ctrl_break: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break',
} as const;
export type SignalName = keyof typeof SIGNAL;

export const COMMAND_STATE = {
  done: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done',
  running: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running',
  pending: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending',
} as const;
