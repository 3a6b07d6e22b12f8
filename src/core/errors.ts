// Typed errors of the core. Every error carries a one-line `hint` that tells a
// Windows admin what to check; `describeError` renders both for CLI and editor.

export type ErrorKind =
  | 'fault'      // the host answered with a WS-Management SOAP fault
  | 'http'       // an HTTP status the protocol does not expect
  | 'auth'       // credentials refused, scheme disabled, encryption refused
  | 'tls'        // certificate or handshake failure
  | 'network'    // cannot connect, connection dropped
  | 'timeout'    // an operation or the overall deadline ran out
  | 'cancelled'  // the caller aborted
  | 'protocol'   // a reply we cannot understand (garbage, wrong RelatesTo, ...)
  | 'config';    // bad input from the user (URL, option, argument)

export class WinrmError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string;
  /**
   * Set on the error of a Create whose reply was lost (the host may have made the shell):
   * what the search for that shell found and did. It never replaces the error itself.
   */
  orphanRecovery?: OrphanRecovery;
  constructor(kind: ErrorKind, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.hint = hint;
    this.name = new.target.name;
  }
}

/**
 * After a Create whose outcome is unknown: one listing of the host's shells on a fresh
 * connection, and the Deletes of those carrying the Create's name.
 */
export interface OrphanRecovery {
  /** The rsp:Name the lost Create carried. */
  name: string;
  /** Whether the listing got to its end. */
  listed: boolean;
  /** Shells with that name, deleted (or already gone). */
  deleted: string[];
  /** Shells with that name whose every Delete failed: open until the host's idle timeout. */
  failed: string[];
  /** Why the listing failed, when it did. */
  error?: WinrmError;
}

export class ConfigError extends WinrmError {
  constructor(message: string, hint = 'Check the value and try again.') {
    super('config', message, hint);
  }
}

export class HttpError extends WinrmError {
  readonly status: number;
  constructor(status: number, message: string, hint: string) {
    super('http', message, hint);
    this.status = status;
  }
}

export class AuthError extends WinrmError {
  /** Why authentication failed, when we can tell. */
  readonly reason: 'bad-credentials' | 'scheme-not-offered' | 'encryption-required' | 'encryption-refused' | 'unknown';
  readonly offeredSchemes: string[];
  /** The host's numeric error code, when it sent one (CredSSP: TSRequest errorCode, unsigned). */
  readonly code: number | undefined;
  constructor(reason: AuthError['reason'], message: string, hint: string, offeredSchemes: string[] = [], code?: number) {
    super('auth', message, hint);
    this.reason = reason;
    this.offeredSchemes = offeredSchemes;
    this.code = code;
  }
}

export class TlsError extends WinrmError {
  readonly code: string | undefined;
  constructor(message: string, hint: string, code?: string, cause?: unknown) {
    super('tls', message, hint, { cause });
    this.code = code;
  }
}

export class NetworkError extends WinrmError {
  readonly code: string | undefined;
  constructor(message: string, hint: string, code?: string, cause?: unknown) {
    super('network', message, hint, { cause });
    this.code = code;
  }
}

export class TimeoutError extends WinrmError {
  /** The request never reached the host (no connection, or its time ran out before its turn): the host did nothing. */
  readonly notSent: boolean;
  constructor(message: string, hint = 'The host did not answer in time. Raise the timeout, or check that the host is up and the script does not wait for input.', options: { notSent?: boolean } = {}) {
    super('timeout', message, hint);
    this.notSent = options.notSent ?? false;
  }
}

export class CancelledError extends WinrmError {
  constructor(message = 'Cancelled.') {
    super('cancelled', message, 'The run was stopped on request.');
  }
}

export class ProtocolError extends WinrmError {
  constructor(message: string, hint = 'The reply is not valid WS-Management. Check that the URL points at a WinRM listener (…/wsman) and not at another service.') {
    super('protocol', message, hint);
  }
}

/** WS-Management fault codes that matter to a user, by their WSManFault Code. */
export const FaultCodes = {
  timedOut: 2150858793,
  shellNotFound: 2150858843,
  tooManyShells: 2150859173,
  schemaValidation: 2150858817,
  filenameTooLong: 2147942606,
  shellGoneAfterRestart: 2147943418,
  shellTerminated: 2150859174,
  fileNotFound: 2147942402,
  accessDenied: 2147942405,
} as const;

export class WsmanFaultError extends WinrmError {
  /** The WSManFault Code attribute (a Win32/HRESULT-style number), when present. */
  readonly code: number | undefined;
  /** The SOAP fault subcode, e.g. `w:TimedOut` as its local name `TimedOut`. */
  readonly subcode: string | undefined;
  readonly machine: string | undefined;
  /** The host's own text, with a nested provider fault's text appended when present. */
  readonly wsmanMessage: string;
  constructor(fields: { code?: number; subcode?: string; machine?: string; message: string }) {
    const label = fields.code !== undefined ? `WS-Management fault ${fields.code}` : `WS-Management fault${fields.subcode ? ` ${fields.subcode}` : ''}`;
    super('fault', `${label}: ${fields.message || '(no message)'}`, faultHint(fields.code, fields.subcode));
    this.code = fields.code;
    this.subcode = fields.subcode;
    this.machine = fields.machine;
    this.wsmanMessage = fields.message;
  }
  get isTimedOut(): boolean {
    return this.code === FaultCodes.timedOut || this.subcode === 'TimedOut';
  }
  /** The shell is gone (deleted, idle timeout, host restart): a new one is needed. */
  get isShellGone(): boolean {
    return this.code === FaultCodes.shellNotFound || this.code === FaultCodes.shellGoneAfterRestart || this.code === FaultCodes.shellTerminated;
  }
}

function faultHint(code: number | undefined, subcode: string | undefined): string {
  switch (code) {
    case FaultCodes.timedOut:
      return 'No output arrived within the operation timeout; this is normal for a quiet command and is retried.';
    case FaultCodes.shellNotFound:
      return 'The shell or command no longer exists on the host (deleted, timed out, or the host restarted). Run again to get a new shell.';
    case FaultCodes.tooManyShells:
      return 'The user has too many open shells. Close other sessions, wait for idle shells to time out, or raise winrm/config/winrs MaxShellsPerUser on the host.';
    case FaultCodes.schemaValidation:
      return 'The host rejected the request format. Report this with a trace log.';
    case FaultCodes.filenameTooLong:
      return "The command line is over cmd.exe's 8191-character limit. Shorten the script or use the safe profile, which sends long scripts over stdin.";
    case FaultCodes.shellGoneAfterRestart:
    case FaultCodes.shellTerminated:
      return 'The shell ended on the host (restart or idle timeout). Run again to get a new shell.';
    case FaultCodes.fileNotFound:
      return 'The host could not find the program. Without cmd.exe, give the full path (e.g. C:\\Windows\\System32\\...).';
    case FaultCodes.accessDenied:
      return 'Access denied: the user must be in "Remote Management Users" (or Administrators) on the host.';
  }
  if (subcode === 'AccessDenied') return 'Access denied: the user must be in "Remote Management Users" (or Administrators) on the host.';
  if (subcode === 'QuotaLimit') return 'A WinRM quota was exceeded on the host (shells, memory or concurrent operations); see winrm/config/winrs.';
  if (subcode === 'EncodingLimit') return 'The message was larger than the host accepts (MaxEnvelopeSizekb).';
  return 'See the host\'s message above; `winrm get winrm/config` on the host shows its settings.';
}

/** One line: the message and its hint, for a CLI stderr or a notification. */
export function describeError(err: unknown): string {
  if (err instanceof WinrmError) return `${err.message} Hint: ${err.hint}${describeOrphanRecovery(err.orphanRecovery)}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** What a user should know after a lost Create: only a shell possibly left behind is news. */
function describeOrphanRecovery(r: OrphanRecovery | undefined): string {
  if (!r) return '';
  if (!r.listed) {
    return ` The host may have made a shell before the reply was lost; listing its shells failed${r.error ? ` (${r.error.message})` : ''}, so a shell named ${r.name} may stay open until the host's idle timeout (winrm/config/winrs IdleTimeout).`;
  }
  if (r.failed.length) {
    return ` The shell the host made before the reply was lost (${r.failed.join(', ')}, named ${r.name}) could not be deleted; it stays open until the host's idle timeout.`;
  }
  return '';
}
