// Picks the provider for a scheme. Schemes land here as they are implemented.
import { ConfigError } from '../errors';
import { createBasicProvider } from './basic';
import { createCredSspProvider } from './credssp-provider';
import { createNtlmProvider } from './ntlm-provider';
import type { AuthProvider, AuthScheme, Credentials, EncryptionMode } from './types';

/** CredSSP choices a user can make (both off by default). */
export interface CredSspOptions {
  /** Raw NTLM inside the TSRequest instead of SPNEGO-wrapped NTLM (Windows expects SPNEGO; some other acceptors, such as FreeRDP, need raw NTLM). */
  rawNtlm?: boolean;
  /** Accept CredSSP versions 2-4, which lack the CVE-2018-0886 fix: a man in the middle can take the delegated password. */
  allowOldVersions?: boolean;
}

export interface AuthChoice {
  scheme: AuthScheme;
  credentials: Credentials;
  encryption?: EncryptionMode;
  /** For credssp only; refused with another scheme when an option is on. */
  credssp?: CredSspOptions;
}

type Factory = (choice: AuthChoice) => AuthProvider;

const factories: Partial<Record<AuthScheme, Factory>> = {
  basic: (c) => createBasicProvider(c.credentials),
  ntlm: (c) => createNtlmProvider({ credentials: c.credentials, encryption: c.encryption }),
  credssp: (c) => createCredSspProvider({ credentials: c.credentials, encryption: c.encryption, rawNtlm: c.credssp?.rawNtlm === true, allowOldVersions: c.credssp?.allowOldVersions === true }),
};

/** Schemes this build can use, for menus and CLI validation. */
export function supportedSchemes(): AuthScheme[] {
  return (['basic', 'ntlm', 'credssp'] as const).filter((s) => factories[s] !== undefined);
}

/** @internal for scheme modules to add themselves. */
export function registerAuthScheme(scheme: AuthScheme, factory: Factory): void {
  factories[scheme] = factory;
}

export function createAuthProvider(choice: AuthChoice): AuthProvider {
  const factory = factories[choice.scheme];
  if (!factory) {
    if (choice.scheme === 'ntlm' || choice.scheme === 'credssp') {
      throw new ConfigError(`Authentication "${choice.scheme}" is not supported yet.`, `Use basic (over HTTPS, or HTTP with AllowUnencrypted=true on the host) for now.`);
    }
    throw new ConfigError(`Unknown authentication "${String(choice.scheme)}".`, 'Use basic, ntlm or credssp.');
  }
  if (choice.encryption === 'always' && choice.scheme === 'basic') {
    throw new ConfigError('Basic authentication cannot encrypt messages.', 'Use HTTPS, or set encryption to auto/never.');
  }
  if (choice.scheme !== 'credssp' && (choice.credssp?.rawNtlm || choice.credssp?.allowOldVersions)) {
    throw new ConfigError(`CredSSP options (raw NTLM, old CredSSP versions) apply to credssp only, not to ${choice.scheme}.`, 'Remove them, or use credssp authentication.');
  }
  return factory(choice);
}

export type { AuthProvider, AuthScheme, Credentials, EncryptionMode } from './types';
