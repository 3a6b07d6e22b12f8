// HTTP Basic: the credentials go with every request; nothing is sealed, so the
// host must allow unencrypted traffic over HTTP (or the transport is HTTPS).
import { SOAP_CONTENT_TYPE, splitUserName, type AuthProvider, type AuthSession, type Credentials } from './types';

export function createBasicProvider(credentials: Credentials): AuthProvider {
  // Windows takes local accounts for Basic; a domain given separately becomes DOMAIN\user.
  const parts = splitUserName(credentials.user, credentials.domain);
  const user = credentials.user.includes('\\') || credentials.user.includes('@') || !parts.domain ? credentials.user : `${parts.domain}\\${parts.user}`;
  const header = `Basic ${Buffer.from(`${user}:${credentials.password}`, 'utf8').toString('base64')}`;
  const session: AuthSession = {
    encrypted: false,
    requestHeaders: () => ({ authorization: header }),
    wrap: (soap) => ({ body: soap, contentType: SOAP_CONTENT_TYPE }),
    unwrap: (reply) => reply.body,
  };
  return {
    scheme: 'basic',
    handshake: async () => session,
  };
}
