// The test host's NTLM scheme: plugs the gss-ntlmssp acceptor into the host's
// per-connection AuthScheme interface (test/host/auth.ts). The host's own
// `allowUnencrypted: false` is the switch that refuses unsealed requests on HTTP, as
// a default Windows host does; `refuseEncryption` makes a host without message encryption.
import type { Acceptor, AuthScheme, ConnectionContext } from '../auth';
import type { NtlmSidecar } from './acceptor';
import { NtlmConnectionAcceptor } from './http-acceptor';

export interface NtlmSchemeOptions {
  sidecar: NtlmSidecar;
  /** The scheme name in Authorization / WWW-Authenticate: Negotiate (Windows) or NTLM. */
  name?: 'Negotiate' | 'NTLM';
  /** Answer sealed requests with 400 (a host that does not do message encryption). */
  refuseEncryption?: boolean;
  /** Require channel binding on HTTPS (Extended Protection); default true. */
  channelBinding?: boolean;
  /** What a failed leg offers (default: this scheme's name). Pass the host's 401 offers to match it. */
  offer?: () => string[];
}

export interface NtlmScheme extends AuthScheme {
  /** Every connection's acceptor, in order (tests count legs and users). */
  readonly acceptors: NtlmConnectionAcceptor[];
}

export function ntlmScheme(options: NtlmSchemeOptions): NtlmScheme {
  const name = options.name ?? 'Negotiate';
  const acceptors: NtlmConnectionAcceptor[] = [];
  return {
    name,
    challenge: name,
    acceptors,
    createAcceptor(conn: ConnectionContext): Acceptor {
      const a = new NtlmConnectionAcceptor(
        {
          sidecar: options.sidecar,
          refuseEncryption: options.refuseEncryption,
          channelBinding: options.channelBinding,
          get offer() { return options.offer ? options.offer() : [name]; },
        },
        { tls: conn.tls, serverCertificate: conn.serverCertificate },
      );
      acceptors.push(a);
      return {
        async accept(req) {
          const header = req.headers.authorization;
          return a.accept({ authorization: Array.isArray(header) ? header[0] : header, contentType: req.contentType, body: req.body });
        },
        wrap: (soap) => a.wrapSync(soap),
        dispose: () => { void a.reset(); },
      };
    },
  };
}
