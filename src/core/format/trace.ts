// The SOAP exchange for the "WinRM" log channel at trace level. The transport
// already masks auth headers; this also removes the password (and its base64,
// UTF-16 and URL-encoded forms) wherever else it might appear, e.g. in a script
// argument echoed in a body.
import { redactHeaders, redactSecrets } from '../redact';
import type { TraceEvent } from '../transport/http';

/** Longest body written to the log for one message. */
export const TRACE_BODY_LIMIT = 16_000;

export function formatTraceEvent(event: TraceEvent, secrets: readonly string[]): string {
  const status = event.status !== undefined ? ` ${event.status}` : '';
  const arrow = event.direction === 'request' ? '→' : '←';
  const headers = Object.entries(redactHeaders(event.headers)).map(([k, v]) => `  ${k}: ${v}`).join('\n');
  // Redact before cutting, so a cut never leaves half a secret behind.
  let body = redactSecrets(event.body, secrets);
  if (body.length > TRACE_BODY_LIMIT) body = `${body.slice(0, TRACE_BODY_LIMIT)}… (${body.length - TRACE_BODY_LIMIT} more characters)`;
  return redactSecrets(`${arrow} ${event.direction}${status} ${event.url}\n${headers}`, secrets) + (body ? `\n${body}` : '');
}

/** Any text bound for a log, notification or output: the secrets masked. */
export function scrub(text: string, secrets: readonly string[]): string {
  return redactSecrets(text, secrets);
}
