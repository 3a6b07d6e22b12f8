// A Create whose reply is lost (the connection dropped, the reply broke off or could not
// be read, the wait ran out) may have made a shell on the host whose ShellId we never
// learn. Every shell the session creates carries a unique rsp:Name, so after such a
// Create one listing of the host's shells (WS-Enumeration: Enumerate, then Pull to the
// end) finds the shell by that name, and it can be deleted like any other.
import { randomBytes } from 'node:crypto';
import { AuthError, ConfigError, HttpError, NetworkError, ProtocolError, TimeoutError, TlsError, WsmanFaultError } from '../errors';
import type { CallOptions, WsmanClient } from '../wsman/client';
import { ACTION, RESOURCE, readShellEnumeration, writeEnumerateBody, writePullBody, type ListedShell } from '../wsman/messages';

/** What every name we give a shell starts with (an admin sees it in `winrm enumerate windows/shell`). */
export const SHELL_NAME_PREFIX = 'winrm-runner-';

/** A name no other shell has: the prefix and 64 random bits. */
export function newShellName(): string {
  return SHELL_NAME_PREFIX + randomBytes(8).toString('hex');
}

/** Failures to reach the host at all: no request was sent. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a Create that failed with `err` may still have made a shell: the request may
 * have reached the host and its answer was lost or unreadable. A fault, a 401 and a
 * 4xx are the host refusing; TLS, configuration and connect failures never sent it.
 */
export function createOutcomeUnknown(err: unknown): boolean {
  if (err instanceof WsmanFaultError || err instanceof AuthError || err instanceof TlsError || err instanceof ConfigError) return false;
  if (err instanceof NetworkError) return !NEVER_CONNECTED.has(err.code ?? '');
  if (err instanceof TimeoutError) return !err.notSent;
  // A 5xx without a SOAP fault can come from a proxy after it forwarded the request.
  if (err instanceof HttpError) return err.status >= 500;
  // A garbled or foreign reply, a cancel that may have cut the request mid-flight, anything unexpected.
  return true;
}

/** Pulls one listing may take before it is given up (30 shells per user fit in the first reply). */
const MAX_PULLS = 64;

/**
 * One pass over the shells the host lists for this user: an optimized Enumerate of
 * .../windows/shell (as pypsrp and Get-PSSession send it; Windows' answer is in the
 * shared captures), then Pulls until EndOfSequence. Throws on any failure: a partial
 * list must not pass for a whole one.
 */
export async function listShells(client: WsmanClient, options: CallOptions): Promise<ListedShell[]> {
  let page = readShellEnumeration(await client.call({ action: ACTION.enumerate, resourceUri: RESOURCE.shells }, writeEnumerateBody(), options));
  const shells = [...page.shells];
  for (let pulls = 0; !page.end; pulls++) {
    if (pulls >= MAX_PULLS) throw new ProtocolError(`The host's list of shells did not end after ${MAX_PULLS} replies.`);
    page = readShellEnumeration(await client.call({ action: ACTION.pull, resourceUri: RESOURCE.shells }, writePullBody(page.context!), options));
    shells.push(...page.shells);
  }
  return shells;
}
