// From stored host settings to a session, Test Connection, and the diagnosis a
// Windows admin reads when it fails.
import { AuthError, CancelledError, FaultCodes, HttpError, NetworkError, ProtocolError, TimeoutError, TlsError, WinrmError, WsmanFaultError, describeError } from '../errors';
import { supportedSchemes } from '../auth';
import type { TraceSink } from '../transport/http';
import { WinrmSession, type SessionOptions } from '../session';
import { createStreamDecoder } from '../text';
import type { HostSettings } from './model';

export interface ConnectExtras {
  /** Contents of the host's CA file, read by the caller. */
  caPem?: string;
  trace?: TraceSink;
  connectTimeoutMs?: number;
}

export function sessionOptionsFor(host: HostSettings, password: string, extras: ConnectExtras = {}): SessionOptions {
  return {
    url: host.url,
    auth: host.auth,
    credentials: { user: host.user, password, domain: host.domain || undefined },
    tls: {
      ca: extras.caPem,
      serverName: host.tls?.serverName || undefined,
      insecureSkipVerify: host.tls?.insecureSkipVerify === true,
    },
    connectTimeoutMs: extras.connectTimeoutMs,
    trace: extras.trace,
  };
}

/** Why the scheme cannot be used in this build, or undefined when it can. */
export function unsupportedSchemeReason(scheme: string): string | undefined {
  if ((supportedSchemes() as string[]).includes(scheme)) return undefined;
  return `${scheme.toUpperCase()} is not supported by this version yet; use Basic (over HTTPS, or HTTP with AllowUnencrypted=true on the host).`;
}

export interface Diagnosis {
  /** A few words naming the cause, e.g. "Wrong user name or password". */
  title: string;
  /** What the client saw. */
  detail: string;
  /** What to check or change on the host or in the settings. */
  hint: string;
  kind: string;
}

/** Names the cause of a failed connection in a Windows admin's words. */
export function diagnose(err: unknown): Diagnosis {
  if (!(err instanceof WinrmError)) {
    return { title: 'Unexpected error', detail: describeErrorText(err), hint: 'See the WinRM log (Output → WinRM) for details.', kind: 'unknown' };
  }
  const base = { detail: err.message, hint: err.hint, kind: err.kind };
  if (err instanceof AuthError) {
    switch (err.reason) {
      case 'bad-credentials':
        return { ...base, title: 'Wrong user name or password', hint: `${err.hint} (The connector reports this as "Authorization loop detected on Conduit".)` };
      case 'scheme-not-offered':
        return { ...base, title: 'Authentication scheme disabled on the host' };
      case 'encryption-required':
        return { ...base, title: 'The host refuses unencrypted traffic' };
      case 'encryption-refused':
        return { ...base, title: 'The host refused message encryption' };
      default:
        return { ...base, title: 'Authentication failed' };
    }
  }
  if (err instanceof TlsError) {
    if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { ...base, title: 'Certificate name mismatch' };
    if (err.code === 'CERT_HAS_EXPIRED' || err.code === 'CERT_NOT_YET_VALID') return { ...base, title: 'Certificate expired or not yet valid' };
    if (/does not speak TLS/.test(err.message)) return { ...base, title: 'HTTPS on an HTTP port' };
    if (/not trusted/.test(err.message)) return { ...base, title: 'Certificate not trusted' };
    return { ...base, title: 'TLS handshake failed' };
  }
  if (err instanceof NetworkError) {
    if (err.code === 'ECONNREFUSED') return { ...base, title: 'Port closed (WinRM not listening)' };
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return { ...base, title: 'Unknown host name' };
    if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return { ...base, title: 'Host unreachable' };
    return { ...base, title: 'Connection dropped' };
  }
  if (err instanceof TimeoutError) return { ...base, title: 'No answer from the host' };
  if (err instanceof CancelledError) return { ...base, title: 'Cancelled' };
  if (err instanceof WsmanFaultError) {
    if (err.code === FaultCodes.tooManyShells || err.subcode === 'QuotaLimit') return { ...base, title: 'Shell quota reached' };
    if (err.code === FaultCodes.accessDenied || err.subcode === 'AccessDenied') return { ...base, title: 'Access denied' };
    if (err.code === FaultCodes.filenameTooLong) return { ...base, title: 'Command line too long' };
    return { ...base, title: 'The host answered with a fault' };
  }
  if (err instanceof HttpError) return { ...base, title: `Unexpected HTTP ${err.status}` };
  if (err instanceof ProtocolError) return { ...base, title: 'Not a WinRM endpoint' };
  if (err.kind === 'config') return { ...base, title: 'Setting not usable' };
  return { ...base, title: 'Connection failed' };
}

function describeErrorText(err: unknown): string {
  return describeError(err);
}

export type ConnectionReport =
  | { ok: true; hostname: string; elapsedMs: number }
  | { ok: false; diagnosis: Diagnosis; elapsedMs: number };

/**
 * Test Connection: runs `hostname` in a new shell and returns its answer, or
 * the diagnosis. The session is closed (its shell deleted) on every path.
 */
export async function testConnection(options: SessionOptions, control: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ConnectionReport> {
  const started = Date.now();
  const deadline = started + (control.timeoutMs ?? 30_000);
  let session: WinrmSession | undefined;
  try {
    const reason = options.auth ? unsupportedSchemeReason(options.auth) : undefined;
    if (reason) throw new AuthError('scheme-not-offered', `${options.auth} authentication is not available.`, reason);
    session = new WinrmSession({ ...options, connectTimeoutMs: options.connectTimeoutMs ?? Math.min(15_000, control.timeoutMs ?? 15_000) });
    const run = session.run('hostname', [], { signal: control.signal, deadline });
    const decoder = createStreamDecoder(65001);
    let stdout = '';
    let stderr = '';
    for await (const chunk of run) {
      if (chunk.stream === 'stdout') stdout += decoder.write(chunk.bytes);
      else stderr += chunk.bytes.toString('utf8');
    }
    stdout += decoder.end();
    const exitCode = await run.exitCode;
    if (exitCode !== 0) {
      return { ok: false, elapsedMs: Date.now() - started, diagnosis: { title: `hostname exited with code ${exitCode}`, detail: stderr.trim() || stdout.trim(), hint: 'The connection works, but the command failed on the host; see the detail.', kind: 'exit' } };
    }
    return { ok: true, hostname: stdout.trim(), elapsedMs: Date.now() - started };
  } catch (err) {
    return { ok: false, diagnosis: diagnose(err), elapsedMs: Date.now() - started };
  } finally {
    await session?.close().catch(() => undefined);
  }
}
