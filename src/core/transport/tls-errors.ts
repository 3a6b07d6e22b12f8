// Maps socket and TLS failures from Node/undici to typed errors with hints a
// Windows admin can act on.
import { CancelledError, NetworkError, TimeoutError, TlsError, type WinrmError } from '../errors';

const CERT_UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

export function classifyTransportError(err: unknown, target: { url: string; hostname: string; port: string; https: boolean }): WinrmError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException; reason?: string };
  const code = e?.code ?? e?.cause?.code;
  const where = `${target.hostname}:${target.port}`;
  if (e?.name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') return new CancelledError();
  if (code && CERT_UNTRUSTED.has(code)) {
    return new TlsError(`The certificate of ${where} is not trusted (${code}).`, "Give the host's CA certificate (CA file), or trust it in the system store; skip verification only for a lab host you control.", code, err);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsError(`The certificate of ${where} does not name "${target.hostname}".`, "Connect by the name in the host's certificate (not its IP address), or set the server-name override to that name.", code, err);
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new TlsError(`The certificate of ${where} is expired or not yet valid (${code}).`, "Renew the WinRM HTTPS listener's certificate on the host, or check this machine's clock.", code, err);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(e?.message ?? '')) {
    return new TlsError(`${where} does not speak TLS.`, 'This port serves plain HTTP: use http:// (usually port 5985), or https:// with port 5986.', code, err);
  }
  if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_') || /SSL|TLS/.test(code ?? '')) {
    return new TlsError(`TLS with ${where} failed (${code}).`, 'Check that the HTTPS listener is configured with a valid certificate and that the host allows TLS 1.2 or later.', code, err);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return new NetworkError(`Nothing accepts connections on ${where}.`, `Check the port (5985 for HTTP, 5986 for HTTPS), that WinRM runs (winrm quickconfig), and the firewall rule for the port.`, code, err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new NetworkError(`The host name "${target.hostname}" cannot be resolved.`, 'Check the spelling, DNS, or use the IP address (with HTTPS the certificate must match the name).', code, err);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new NetworkError(`${where} is unreachable.`, 'Check the network route and VPN to the host.', code, err);
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT': {
      // A connect that timed out sent nothing; a kernel ETIMEDOUT on an open connection may have.
      const connecting = code === 'UND_ERR_CONNECT_TIMEOUT' || (e?.syscall ?? e?.cause?.syscall) === 'connect';
      return new TimeoutError(`Connecting to ${where} timed out.`, 'The host did not answer: check that it is up and that a firewall allows the WinRM port.', { notSent: connecting });
    }
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError(`${where} accepted the request but did not answer in time.`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new NetworkError(`The connection to ${where} was dropped.`, target.https ? 'The host closed the connection: check the listener, or whether it expects HTTP on this port.' : 'The host closed the connection: check the listener, or whether it expects HTTPS on this port.', code, err);
  }
  return new NetworkError(`Request to ${target.url} failed: ${e?.message ?? String(err)}`, 'Check the address and that the host is reachable.', code, err);
}
