// From stored host settings to a session, Test Connection, and the diagnosis a
// Windows admin reads when it fails.
import { AuthError, CancelledError, ConfigError, FaultCodes, HttpError, NetworkError, ProtocolError, TimeoutError, TlsError, WinrmError, WsmanFaultError, describeError } from '../errors';
import { createAuthProvider, supportedSchemes } from '../auth';
import type { AuthScheme, EncryptionMode } from '../auth/types';
import { closePersistentSessions } from '../run-script';
import type { TraceSink } from '../transport/http';
import { WinrmSession, type SessionOptions } from '../session';
import { createStreamDecoder } from '../text';
import { hostCredSsp, hostEncryption, type HostSettings } from './model';

export interface ConnectExtras {
  /** Contents of the host's CA file, read by the caller. */
  caPem?: string;
  trace?: TraceSink;
  connectTimeoutMs?: number;
}

export function sessionOptionsFor(host: HostSettings, password: string, extras: ConnectExtras = {}): SessionOptions {
  const credentials = { user: host.user, password, domain: host.domain || undefined };
  const encryption = hostEncryption(host);
  // The session builds its provider from scheme, credentials and encryption; the
  // CredSSP choices (raw NTLM, old versions) need the provider built here.
  const credssp = hostCredSsp(host);
  return {
    url: host.url,
    auth: host.auth,
    credentials,
    encryption,
    ...(credssp ? { authProvider: createAuthProvider({ scheme: host.auth, credentials, encryption, credssp }) } : {}),
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
  const supported = supportedSchemes() as string[];
  if (supported.includes(scheme)) return undefined;
  return `${scheme.toUpperCase()} is not supported by this version; use ${supported.join(', ')}.`;
}

/**
 * Ends the session's powerhell/exchange loops (they exit on their own, as the
 * connector's do) and then closes the session, which deletes its shells.
 */
export async function closeSession(session: WinrmSession): Promise<void> {
  await closePersistentSessions(session).catch(() => undefined);
  await session.close();
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

/** What the diagnosis knows of the connection, for advice that fits the settings. */
export interface DiagnoseContext {
  auth?: AuthScheme;
  encryption?: EncryptionMode;
}

const ALLOW_UNENCRYPTED = 'winrm set winrm/config/service @{AllowUnencrypted="true"}';

/** Names the cause of a failed connection in a Windows admin's words. */
export function diagnose(err: unknown, context: DiagnoseContext = {}): Diagnosis {
  if (!(err instanceof WinrmError)) {
    return { title: 'Unexpected error', detail: describeErrorText(err), hint: 'See the WinRM log (Output → WinRM) for details.', kind: 'unknown' };
  }
  const base = { detail: err.message, hint: err.hint, kind: err.kind };
  if (err instanceof AuthError) {
    const credssp = context.auth === 'credssp' || err.code !== undefined || /CredSSP/.test(err.message);
    switch (err.reason) {
      case 'bad-credentials':
        if (credssp) return { ...base, title: 'Wrong user name or password', hint: `${err.hint} CredSSP checks the domain too: DOMAIN\\user as the domain knows it.` };
        return { ...base, title: 'Wrong user name or password', hint: `${err.hint} (The connector reports this as "Authorization loop detected on Conduit".)` };
      case 'scheme-not-offered':
        return { ...base, title: 'Authentication scheme disabled on the host' };
      case 'encryption-required':
        return {
          ...base, title: 'The host refuses unencrypted traffic',
          hint: context.auth === 'basic'
            ? `The host has AllowUnencrypted=false (the Windows default) and Basic cannot encrypt: use HTTPS (port 5986), or NTLM/CredSSP with encryption auto. For a lab host only: ${ALLOW_UNENCRYPTED}.`
            : `The host has AllowUnencrypted=false (the Windows default): set this host's encryption to "auto" or "always", or use HTTPS (port 5986).`,
        };
      case 'encryption-refused':
        return {
          ...base, title: 'The host refused message encryption',
          hint: context.encryption === 'always'
            ? 'The host (or a proxy in between) does not take WinRM message encryption as sent. Set encryption to "auto", or use HTTPS.'
            : `The host (or a proxy in between) does not take WinRM message encryption. Use HTTPS; or, if the host allows unencrypted traffic (${ALLOW_UNENCRYPTED}), set encryption to "never". Non-Windows WinRM servers (OMI) often cannot encrypt.`,
        };
      default: {
        const credSsp = credssp ? diagnoseCredSsp(err) : undefined;
        if (credSsp) return { ...base, ...credSsp };
        return { ...base, title: 'Authentication failed' };
      }
    }
  }
  if (err instanceof ConfigError && /CredSSP needs a domain/.test(err.message)) {
    return { ...base, title: 'CredSSP needs a domain', hint: 'Edit the host: fill in the Domain (the AD domain, or the computer name for a local account), or give the user as DOMAIN\\user.' };
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

/** CredSSP refusals the core reports with reason 'unknown': the TSRequest errorCode, an old version, a failed key check. */
function diagnoseCredSsp(err: AuthError): Pick<Diagnosis, 'title' | 'hint'> | undefined {
  const m = err.message;
  if (/CredSSP version \d+.*CVE-2018-0886/.test(m)) {
    return {
      title: 'The host\'s CredSSP is out of date (CVE-2018-0886)',
      hint: 'The host speaks a CredSSP version before 5, which a man in the middle can abuse to take the delegated password; nothing was sent. Install the CredSSP update of March 2018 (or any later cumulative update) on the host. '
        + 'Only if the host cannot be updated and you accept that risk on a network you trust: allow old CredSSP versions for this host '
        + '(Edit Host → CredSSP options; "credssp": { "allowOldVersions": true } in .vscode/winrm-hosts.json; winrm-run --credssp-allow-old-versions).',
    };
  }
  if (/public-key check/.test(m)) {
    return { title: 'CredSSP key check failed (credentials withheld)', hint: err.hint };
  }
  if (err.code === undefined) return undefined;
  const code = `0x${(err.code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  switch (err.code >>> 0) {
    case 0x80090302:
      return { title: `CredSSP refused by the host (${code})`, hint: 'The host does not accept delegated credentials this way. On the host: Enable-WSManCredSSP -Role Server; on the domain: allow delegating fresh credentials to this host (Group Policy "Allow delegating fresh credentials").' };
    case 0x80090322:
      return { title: `CredSSP: wrong target name (${code})`, hint: 'Connect by the host\'s real DNS name (the one in its SPN), not an IP address or an alias.' };
    case 0x8009030e:
      return { title: `CredSSP: no credentials to delegate (${code})`, hint: 'Give the user as DOMAIN\\user with a password; CredSSP cannot delegate without both.' };
    default:
      return { title: `CredSSP logon refused by the host (${code})`, hint: err.hint };
  }
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
    return { ok: false, diagnosis: diagnose(err, { auth: options.auth, encryption: options.encryption }), elapsedMs: Date.now() - started };
  } finally {
    await session?.close().catch(() => undefined);
  }
}
