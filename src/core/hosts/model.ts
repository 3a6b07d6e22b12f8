// Host settings as the extension stores them, and the validation the Add/Edit
// wizard runs as the user types. A host never holds a password: passwords live
// only in the editor's secret storage, keyed by the host id.
import type { CredSspOptions } from '../auth';
import type { AuthScheme, EncryptionMode } from '../auth/types';
import { WinrmError } from '../errors';
import { parseEndpoint } from '../transport/http';

export type ArgumentStyle = 'dashed' | 'variables' | 'slashed';
export type ProfileName = 'safe' | 'connector-1.5' | 'connector-1.4';

export const ARGUMENT_STYLES: readonly ArgumentStyle[] = ['dashed', 'variables', 'slashed'];
export const PROFILES: readonly ProfileName[] = ['safe', 'connector-1.5', 'connector-1.4'];
export const AUTH_SCHEMES: readonly AuthScheme[] = ['basic', 'ntlm', 'credssp'];
export const ENCRYPTION_MODES: readonly EncryptionMode[] = ['auto', 'always', 'never'];
export type { EncryptionMode };

export interface HostTls {
  /** Path of a PEM file with the CA that issued the host's certificate. */
  caFile?: string;
  /** Verify the certificate for this name instead of the URL's host. */
  serverName?: string;
  /** Skip certificate verification (the user was warned when choosing it). */
  insecureSkipVerify?: boolean;
}

/**
 * CredSSP choices, for auth "credssp" only; both off (absent) by default. Only
 * booleans: nothing secret is ever kept here.
 */
export type HostCredSsp = CredSspOptions;

/** The keys of HostCredSsp, in the order the team file and messages name them. */
export const CREDSSP_OPTION_KEYS = ['rawNtlm', 'allowOldVersions'] as const;

/** Why allowing CredSSP versions 2-4 is dangerous, in the words the wizard and the docs use. */
export const CREDSSP_OLD_VERSIONS_RISK = 'CredSSP versions 2-4 lack the CVE-2018-0886 fix: a man in the middle can take the delegated password (DOMAIN\\user and its password in clear). Allow them only for a host that cannot be updated, on a network you trust.';

export interface HostSettings {
  /** Stable id: the key of the password in secret storage. */
  id: string;
  name: string;
  /** Normalized endpoint, http(s)://host:port/path. */
  url: string;
  auth: AuthScheme;
  user: string;
  domain?: string;
  /** WinRM message encryption, NTLM and CredSSP only (Basic cannot encrypt); absent means auto. */
  encryption?: EncryptionMode;
  style: ArgumentStyle;
  profile: ProfileName;
  /** Overrides the profile's code page when set. */
  codepage?: number;
  tls?: HostTls;
  /** CredSSP only: raw NTLM, old CredSSP versions. */
  credssp?: HostCredSsp;
}

export type HostSource = 'user' | 'workspace';

export interface HostEntry extends HostSettings {
  source: HostSource;
}

export const MAX_NAME_LENGTH = 64;

/** undefined when valid, else a message for the input box. */
export function validateHostName(name: string, others: readonly { id: string; name: string }[] = [], ownId?: string): string | undefined {
  const trimmed = name.trim();
  if (!trimmed) return 'Give the host a name, e.g. "Lab DC".';
  if (trimmed.length > MAX_NAME_LENGTH) return `Keep the name under ${MAX_NAME_LENGTH} characters.`;
  if (/[\u0000-\u001f]/.test(trimmed)) return 'The name cannot contain control characters.';
  const clash = others.find((o) => o.id !== ownId && o.name.trim().toLowerCase() === trimmed.toLowerCase());
  if (clash) return `A host named "${clash.name}" already exists.`;
  return undefined;
}

/** Host name, host:port or URL: the message of the core's endpoint parser, or undefined. */
export function validateAddress(text: string): string | undefined {
  try {
    const url = parseEndpoint(text);
    const port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `Port ${url.port} is out of range (1-65535).`;
    if (/\s/.test(text.trim())) return 'A host name or URL cannot contain spaces.';
    return undefined;
  } catch (err) {
    return err instanceof WinrmError ? `${err.message} ${err.hint}` : String(err);
  }
}

/** undefined when `text` is a TCP port number. */
export function validatePort(text: string): string | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return 'The port is a number: 5985 for HTTP, 5986 for HTTPS.';
  const n = Number(t);
  if (n < 1 || n > 65535) return 'The port must be between 1 and 65535.';
  return undefined;
}

export function validateUser(user: string): string | undefined {
  const t = user.trim();
  if (!t) return 'Give the user name: user, DOMAIN\\user or user@domain.';
  if (/[\u0000-\u001f]/.test(t)) return 'The user name cannot contain control characters.';
  if (/^[^\\@]*[\\][^\\@]*[\\]/.test(t)) return 'Use a single backslash: DOMAIN\\user.';
  return undefined;
}

/** Schemes that can encrypt WinRM messages themselves (and so have an encryption mode). */
export function schemeEncrypts(auth: AuthScheme): boolean {
  return auth === 'ntlm' || auth === 'credssp';
}

/** The host's encryption mode: undefined for Basic, else the setting (auto when absent). */
export function hostEncryption(host: Pick<HostSettings, 'auth' | 'encryption'>): EncryptionMode | undefined {
  if (!schemeEncrypts(host.auth)) return undefined;
  return host.encryption && ENCRYPTION_MODES.includes(host.encryption) ? host.encryption : 'auto';
}

/** What each mode does, for the wizard's pick (the HTTPS wording differs: TLS already protects the traffic). */
export function encryptionChoices(https: boolean): { mode: EncryptionMode; label: string; description: string; detail: string }[] {
  return [
    {
      mode: 'auto', label: 'auto', description: 'recommended',
      detail: https ? 'No message encryption: TLS already protects HTTPS (channel binding ties the logon to it).' : 'Encrypt every message: over HTTP this is what a default Windows host (AllowUnencrypted=false) requires.',
    },
    {
      mode: 'always', label: 'always', description: https ? 'encrypt inside TLS as well' : 'same as auto over HTTP',
      detail: 'Encrypt every message, also over HTTPS; a host that answers in plain text is refused.',
    },
    {
      mode: 'never', label: 'never', description: https ? 'TLS only' : 'readable on the network',
      detail: https ? 'No message encryption; TLS protects the traffic.' : 'Plain SOAP over HTTP: the host must allow it (winrm set winrm/config/service @{AllowUnencrypted="true"}); a default Windows host refuses it.',
    },
  ];
}

/** The CredSSP options in effect: only for auth credssp, only the ones switched on; undefined when none is. */
export function hostCredSsp(host: Pick<HostSettings, 'auth' | 'credssp'>): HostCredSsp | undefined {
  if (host.auth !== 'credssp' || !host.credssp) return undefined;
  const out: HostCredSsp = {};
  if (host.credssp.rawNtlm === true) out.rawNtlm = true;
  if (host.credssp.allowOldVersions === true) out.allowOldVersions = true;
  return Object.keys(out).length ? out : undefined;
}

export type CredSspChoiceKey = 'spnego' | 'raw' | 'spnego-old' | 'raw-old';

/** The CredSSP choices the host editor offers, the safe default first. */
export function credSspChoices(): { key: CredSspChoiceKey; options: HostCredSsp; label: string; description: string; detail: string }[] {
  return [
    { key: 'spnego', options: {}, label: 'SPNEGO, version 5+ only', description: 'recommended', detail: 'What Windows expects: NTLM wrapped in SPNEGO; a host without the CVE-2018-0886 fix (CredSSP 2-4) is refused before the password is sent.' },
    { key: 'raw', options: { rawNtlm: true }, label: 'Raw NTLM, version 5+ only', description: 'for acceptors that refuse SPNEGO (e.g. FreeRDP)', detail: 'NTLM not wrapped in SPNEGO inside CredSSP; Windows takes SPNEGO, so pick this only when the host refuses it.' },
    { key: 'spnego-old', options: { allowOldVersions: true }, label: 'SPNEGO, also versions 2-4', description: 'insecure: a man in the middle can take the password', detail: CREDSSP_OLD_VERSIONS_RISK },
    { key: 'raw-old', options: { rawNtlm: true, allowOldVersions: true }, label: 'Raw NTLM, also versions 2-4', description: 'insecure: a man in the middle can take the password', detail: CREDSSP_OLD_VERSIONS_RISK },
  ];
}

/** The choice a host's settings correspond to ('spnego' for none, and for any host that is not CredSSP). */
export function credSspChoiceOf(host: Pick<HostSettings, 'auth' | 'credssp'>): CredSspChoiceKey {
  const o = hostCredSsp(host);
  return o?.rawNtlm ? (o.allowOldVersions ? 'raw-old' : 'raw') : o?.allowOldVersions ? 'spnego-old' : 'spnego';
}

/** "raw NTLM, CredSSP 2-4 allowed": the non-default CredSSP choices in a few words, or undefined. */
export function describeCredSsp(host: Pick<HostSettings, 'auth' | 'credssp'>): string | undefined {
  const o = hostCredSsp(host);
  if (!o) return undefined;
  const words: string[] = [];
  if (o.rawNtlm) words.push('raw NTLM');
  if (o.allowOldVersions) words.push('CredSSP 2-4 allowed (no CVE-2018-0886 fix)');
  return words.join(', ');
}

/** "encrypted (HTTP)", "TLS (HTTPS)", "unencrypted (HTTP)": what actually protects the messages. */
export function describeEncryption(host: Pick<HostSettings, 'auth' | 'encryption' | 'url'>): string | undefined {
  const mode = hostEncryption(host);
  if (!mode) return undefined;
  const https = isHttps(host.url);
  const on = mode === 'always' || (mode === 'auto' && !https);
  const effect = on ? (https ? 'message encryption inside TLS' : 'message encryption') : https ? 'TLS' : 'none: plain HTTP';
  return `${mode} (${effect})`;
}

/** "basic", "ntlm, encryption auto": the scheme as the tree shows it. */
export function describeAuth(host: Pick<HostSettings, 'auth' | 'encryption'>): string {
  const mode = hostEncryption(host);
  return mode ? `${host.auth}, encryption ${mode}` : host.auth;
}

export const CREDSSP_DOMAIN_REQUIRED = 'CredSSP needs a domain: it hands DOMAIN\\user and the password to the host (the "double hop"). Give the AD domain (e.g. LAB), or the computer name for a local account.';

/** True when the domain field or the user name (DOMAIN\\user, user@domain) names a domain. */
export function hasDomain(domain: string | undefined, user: string): boolean {
  if (domain?.trim()) return true;
  const t = user.trim();
  const backslash = t.indexOf('\\');
  if (backslash > 0) return true;
  const at = t.lastIndexOf('@');
  return at > 0 && at < t.length - 1;
}

/**
 * The Domain step: the shape of the domain, and for CredSSP that there is one
 * (in this field, or in a user name such as DOMAIN\\user already given).
 */
export function validateDomain(domain: string, context: { auth: AuthScheme; user: string }): string | undefined {
  const t = domain.trim();
  if (/[\u0000-\u001f]/.test(t)) return 'The domain cannot contain control characters.';
  if (/[\\@/]/.test(t)) return 'Give the domain alone (e.g. LAB or lab.example.com); the user name comes in the next step.';
  if (/\s/.test(t)) return 'A domain name has no spaces (e.g. LAB or lab.example.com).';
  if (context.auth === 'credssp' && !hasDomain(t, context.user)) return CREDSSP_DOMAIN_REQUIRED;
  return undefined;
}

/** The User step: validateUser, and for CredSSP a domain in the name when the Domain field is empty. */
export function validateUserFor(user: string, context: { auth: AuthScheme; domain?: string }): string | undefined {
  const problem = validateUser(user);
  if (problem) return problem;
  if (context.auth === 'credssp' && !hasDomain(context.domain, user)) return `${CREDSSP_DOMAIN_REQUIRED} Type DOMAIN\\user or user@domain, or go back and fill in the Domain.`;
  return undefined;
}

/** Empty means "the profile's code page". */
export function validateCodepage(text: string): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (!/^\d+$/.test(t)) return 'A code page is a number such as 65001 (UTF-8), 437 or 1252; leave empty for the profile default.';
  const n = Number(t);
  if (n < 1 || n > 65535) return 'A code page is between 1 and 65535.';
  return undefined;
}

export interface EndpointParts {
  https: boolean;
  hostname: string;
  port: number;
  path: string;
  /** True when the user typed a scheme (http:// or https://). */
  explicitScheme: boolean;
  /** True when the user typed a port. */
  explicitPort: boolean;
}

/** Splits what the user typed; throws the core's ConfigError when it is not an address. */
export function splitAddress(text: string): EndpointParts {
  const url = parseEndpoint(text);
  const typed = text.trim();
  const explicitScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(typed);
  const afterScheme = typed.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const authority = afterScheme.split('/')[0];
  const explicitPort = /:\d+$/.test(authority) && !/^\[[^\]]*\]$/.test(authority);
  return { https: url.protocol === 'https:', hostname: url.hostname, port: Number(url.port), path: url.pathname + url.search, explicitScheme, explicitPort };
}

export function defaultPort(https: boolean): number {
  return https ? 5986 : 5985;
}

/** http(s)://host:port/path, normalized by the same parser the transport uses. */
export function composeEndpoint(parts: { https: boolean; hostname: string; port: number; path?: string }): string {
  const host = parts.hostname.includes(':') && !parts.hostname.startsWith('[') ? `[${parts.hostname}]` : parts.hostname;
  return parseEndpoint(`${parts.https ? 'https' : 'http'}://${host}:${parts.port}${parts.path && parts.path !== '/' ? parts.path : '/wsman'}`).href;
}

/** "https://dc01:5986/wsman" → "dc01:5986 (HTTPS)": the short form the tree shows. */
export function describeAddress(url: string): string {
  try {
    const u = parseEndpoint(url);
    const path = u.pathname === '/wsman' ? '' : u.pathname;
    return `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port}${path} (${u.protocol === 'https:' ? 'HTTPS' : 'HTTP'})`;
  } catch {
    return url;
  }
}

export function isHttps(url: string): boolean {
  return /^https:/i.test(url.trim());
}

/** Basic over plain HTTP sends the password in clear text (base64): the user must confirm it once per host. */
export function needsBasicOverHttpConfirmation(host: Pick<HostSettings, 'auth' | 'url'>): boolean {
  return host.auth === 'basic' && !isHttps(host.url);
}

/**
 * The only shape that is ever written to storage: known keys, copied one by one,
 * so a stray `password` (or anything else) on the object cannot reach settings.
 */
export function toStoredHost(host: HostSettings): HostSettings {
  const stored: HostSettings = {
    id: host.id,
    name: host.name,
    url: host.url,
    auth: host.auth,
    user: host.user,
    style: host.style,
    profile: host.profile,
  };
  if (host.domain) stored.domain = host.domain;
  if (schemeEncrypts(host.auth) && host.encryption && ENCRYPTION_MODES.includes(host.encryption)) stored.encryption = host.encryption;
  if (host.codepage !== undefined) stored.codepage = host.codepage;
  const tls: HostTls = {};
  if (host.tls?.caFile) tls.caFile = host.tls.caFile;
  if (host.tls?.serverName) tls.serverName = host.tls.serverName;
  if (host.tls?.insecureSkipVerify) tls.insecureSkipVerify = true;
  if (Object.keys(tls).length) stored.tls = tls;
  const credssp = hostCredSsp(host);
  if (credssp) stored.credssp = credssp;
  return stored;
}

export type ReadResult = { host: HostSettings; problems: string[] } | { host: undefined; problems: string[] };

/**
 * Reads a host from untrusted JSON (global state written by an older version,
 * or a team's workspace file). Unknown keys are ignored; a `password` is
 * reported and never kept.
 */
export function readHost(raw: unknown, fallbackId?: string): ReadResult {
  const problems: string[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { host: undefined, problems: ['A host entry must be an object.'] };
  const o = raw as Record<string, unknown>;
  const label = typeof o.name === 'string' && o.name.trim() ? `"${o.name.trim()}"` : 'A host';
  for (const key of Object.keys(o)) {
    if (/pass(word)?|secret|pwd/i.test(key)) problems.push(`${label}: "${key}" was ignored; passwords are kept only in the editor's secret storage.`);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
  const name = str(o.name);
  const id = str(o.id) || fallbackId;
  const address = str(o.url) ?? str(o.host) ?? str(o.address);
  if (!name) return { host: undefined, problems: [...problems, 'A host entry has no "name".'] };
  if (!id) return { host: undefined, problems: [...problems, `${label}: no "id".`] };
  if (!address) return { host: undefined, problems: [...problems, `${label}: no "url".`] };
  const addressProblem = validateAddress(address);
  if (addressProblem) return { host: undefined, problems: [...problems, `${label}: ${addressProblem}`] };
  const auth = (str(o.auth) ?? 'basic').toLowerCase() as AuthScheme;
  if (!AUTH_SCHEMES.includes(auth)) return { host: undefined, problems: [...problems, `${label}: unknown auth "${String(o.auth)}" (basic, ntlm or credssp).`] };
  const user = str(o.user) ?? '';
  const userProblem = validateUser(user);
  if (userProblem) return { host: undefined, problems: [...problems, `${label}: ${userProblem}`] };
  let style = (str(o.style) ?? 'dashed') as ArgumentStyle;
  if (!ARGUMENT_STYLES.includes(style)) {
    problems.push(`${label}: unknown style "${String(o.style)}", using dashed.`);
    style = 'dashed';
  }
  let profile = (str(o.profile) ?? 'safe') as ProfileName;
  if (!PROFILES.includes(profile)) {
    problems.push(`${label}: unknown profile "${String(o.profile)}", using safe.`);
    profile = 'safe';
  }
  const host: HostSettings = { id, name, url: parseEndpoint(address).href, auth, user, style, profile };
  const domain = str(o.domain);
  if (domain) host.domain = domain;
  const encryption = str(o.encryption)?.toLowerCase();
  if (encryption) {
    if (!ENCRYPTION_MODES.includes(encryption as EncryptionMode)) problems.push(`${label}: unknown encryption "${String(o.encryption)}" (auto, always or never), using auto.`);
    else if (!schemeEncrypts(auth)) {
      if (encryption !== 'auto') problems.push(`${label}: encryption "${encryption}" applies to ntlm and credssp only; Basic cannot encrypt (use HTTPS).`);
    } else host.encryption = encryption as EncryptionMode;
  }
  if (auth === 'credssp' && !hasDomain(domain, user)) problems.push(`${label}: ${CREDSSP_DOMAIN_REQUIRED}`);
  if (o.codepage !== undefined && o.codepage !== null && o.codepage !== '') {
    const cp = String(o.codepage);
    const cpProblem = validateCodepage(cp);
    if (cpProblem) problems.push(`${label}: ${cpProblem}`);
    else host.codepage = Number(cp);
  }
  if (o.tls && typeof o.tls === 'object') {
    const t = o.tls as Record<string, unknown>;
    const tls: HostTls = {};
    if (str(t.caFile)) tls.caFile = str(t.caFile);
    if (str(t.serverName)) tls.serverName = str(t.serverName);
    if (t.insecureSkipVerify === true) tls.insecureSkipVerify = true;
    if (Object.keys(tls).length) host.tls = tls;
  }
  if (o.credssp !== undefined && o.credssp !== null) {
    const credssp = readCredSsp(o.credssp, auth, label, problems);
    if (credssp) host.credssp = credssp;
  }
  return { host: toStoredHost(host), problems };
}

/** The `credssp` object of a host entry: booleans only, for auth credssp only; each wrong piece reported and dropped. */
function readCredSsp(raw: unknown, auth: AuthScheme, label: string, problems: string[]): HostCredSsp | undefined {
  const example = '{ "rawNtlm": true, "allowOldVersions": false }';
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${label}: "credssp" must be an object such as ${example}; ignored.`);
    return undefined;
  }
  const o = raw as Record<string, unknown>;
  const out: HostCredSsp = {};
  for (const key of Object.keys(o)) {
    if (/pass(word)?|secret|pwd/i.test(key)) {
      problems.push(`${label}: "credssp.${key}" was ignored; passwords are kept only in the editor's secret storage.`);
      continue;
    }
    if (!(CREDSSP_OPTION_KEYS as readonly string[]).includes(key)) {
      problems.push(`${label}: unknown key "credssp.${key}" ignored (known: ${CREDSSP_OPTION_KEYS.join(', ')}).`);
      continue;
    }
    const v = o[key];
    if (typeof v !== 'boolean') {
      problems.push(`${label}: "credssp.${key}" must be true or false (got ${JSON.stringify(v) ?? String(v)}); using false.`);
      continue;
    }
    if (v) out[key as (typeof CREDSSP_OPTION_KEYS)[number]] = true;
  }
  if (!Object.keys(out).length) return undefined;
  if (auth !== 'credssp') {
    problems.push(`${label}: "credssp" options apply to auth "credssp" only (this host uses ${auth}); ignored.`);
    return undefined;
  }
  return out;
}

/** Id of a host from the team file: the file's own id, else address and user (so the saved password follows the account). */
export function workspaceHostId(raw: { id?: unknown; url?: unknown; user?: unknown }): string | undefined {
  if (typeof raw.id === 'string' && raw.id.trim()) return `workspace:${raw.id.trim()}`;
  if (typeof raw.url !== 'string' || validateAddress(raw.url)) return undefined;
  return `workspace:${parseEndpoint(raw.url).href}|${typeof raw.user === 'string' ? raw.user.trim().toLowerCase() : ''}`;
}

export interface WorkspaceHostsFile {
  hosts: HostSettings[];
  problems: string[];
  /**
   * The id of every entry the file names, usable or not; undefined when the
   * file is not a host list at all (e.g. half-saved JSON), so that nothing is
   * taken as removed from it.
   */
  listedIds?: string[];
}

/** `.vscode/winrm-hosts.json`: `{ "hosts": [ {name, url, auth, user, ...} ] }` (comments allowed). */
export function parseWorkspaceHostsFile(text: string): WorkspaceHostsFile {
  let data: unknown;
  try {
    data = JSON.parse(stripJsonComments(text));
  } catch (err) {
    return { hosts: [], problems: [`winrm-hosts.json is not valid JSON: ${(err as Error).message}`] };
  }
  const list = Array.isArray(data) ? data : data && typeof data === 'object' ? (data as { hosts?: unknown }).hosts : undefined;
  if (!Array.isArray(list)) return { hosts: [], problems: ['winrm-hosts.json must contain { "hosts": [ ... ] }.'] };
  const hosts: HostSettings[] = [];
  const problems: string[] = [];
  const listedIds: string[] = [];
  for (const raw of list) {
    const id = raw && typeof raw === 'object' ? workspaceHostId(raw as Record<string, unknown>) : undefined;
    if (id !== undefined) listedIds.push(id);
    const result = readHost(raw, id);
    problems.push(...result.problems);
    if (!result.host) continue;
    result.host.id = id ?? result.host.id;
    if (hosts.some((h) => h.id === result.host!.id)) {
      problems.push(`"${result.host.name}": another entry has the same id; give each host its own "id".`);
      continue;
    }
    hosts.push(result.host);
  }
  return { hosts, problems, listedIds };
}

/** Removes // and /* *\/ comments outside strings (VS Code's JSON files allow them). */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\' && i + 1 < text.length) out += text[++i];
      else if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  // Trailing commas are common in hand-edited JSON with comments.
  return out.replace(/,(\s*[}\]])/g, '$1');
}
