// The Add / Edit Host quick input: one question per step, validated as the
// user types, with Back. Returns the settings and, separately, a password to
// store (never part of the settings).
import * as vscode from 'vscode';
import { supportedSchemes } from '../core/auth';
import {
  ARGUMENT_STYLES, AUTH_SCHEMES, CREDSSP_OLD_VERSIONS_RISK, PROFILES, composeEndpoint, credSspChoiceOf, credSspChoices, defaultPort, encryptionChoices, hostEncryption, schemeEncrypts, splitAddress,
  validateAddress, validateCodepage, validateDomain, validateHostName, validatePort, validateUserFor, type ArgumentStyle, type EncryptionMode,
  type CredSspChoiceKey, type HostDraft, type HostSettings, type ProfileName,
} from '../core/hosts';
import type { AuthScheme } from '../core/auth/types';
import { BACK, askInput, askPick, runSteps, type PickItem } from './quick-input';

export const STYLE_DESCRIPTIONS: Record<ArgumentStyle, string> = {
  dashed: 'command -name value (the connector default)',
  variables: "$name = 'value'; command",
  slashed: 'command /name value (connector 1.5+, undocumented)',
};

export const PROFILE_DESCRIPTIONS: Record<ProfileName, string> = {
  safe: 'correct quoting, UTF-8, long scripts over stdin, one reused shell',
  'connector-1.5': 'exactly as the AD/LDAP connector 1.5+ and connector-powershell 1.x',
  'connector-1.4': 'exactly as the AD/LDAP connector 1.4.x',
};

const SCHEME_LABELS: Record<AuthScheme, string> = { basic: 'Basic', ntlm: 'NTLM (Negotiate)', credssp: 'CredSSP' };
const SCHEME_DESCRIPTIONS: Record<AuthScheme, (https: boolean) => string | undefined> = {
  basic: (https) => (https ? undefined : 'over HTTP the password is readable on the network'),
  ntlm: () => 'domain or local accounts; encrypts messages over HTTP',
  credssp: () => 'delegates the password for double-hop scripts (Exchange); needs a domain',
};

export const AUTH_PLACEHOLDER = 'Authentication';
export const ENCRYPTION_PLACEHOLDER = 'Message encryption';
export const CREDSSP_PLACEHOLDER = 'CredSSP: inner NTLM and accepted versions';
export const ALLOW_OLD_CREDSSP = 'Allow Old Versions';
export const DOMAIN_PROMPT = 'Domain (optional)';
export const DOMAIN_PROMPT_CREDSSP = 'Domain (required for CredSSP: the AD domain, or the computer name for a local account)';

export interface WizardResult {
  draft: HostDraft;
  /** undefined: keep (edit) or ask at the first run (add). */
  password?: string;
}

export async function hostWizard(existing: { hosts: readonly HostSettings[]; editing?: HostSettings }): Promise<WizardResult | undefined> {
  const editing = existing.editing;
  const title = editing ? `Edit Host "${editing.name}"` : 'Add Host';
  const parts = editing ? splitAddress(editing.url) : undefined;
  const s = {
    name: editing?.name ?? '',
    address: editing ? parts!.hostname : '',
    https: parts?.https ?? true,
    port: String(parts?.port ?? ''),
    path: parts?.path ?? '/wsman',
    typedPort: undefined as number | undefined,
    auth: (editing?.auth ?? supportedSchemes()[0] ?? 'basic') as AuthScheme,
    encryption: (editing ? hostEncryption(editing) : undefined) ?? ('auto' as EncryptionMode),
    credssp: (editing ? credSspChoiceOf(editing) : 'spnego') as CredSspChoiceKey,
    domain: editing?.domain ?? '',
    user: editing?.user ?? '',
    password: undefined as string | undefined,
    style: (editing?.style ?? 'dashed') as ArgumentStyle,
    profile: (editing?.profile ?? 'safe') as ProfileName,
    codepage: editing?.codepage !== undefined ? String(editing.codepage) : '',
    caFile: editing?.tls?.caFile ?? '',
    serverName: editing?.tls?.serverName ?? '',
    insecure: editing?.tls?.insecureSkipVerify === true,
  };
  const next = (r: unknown): 'next' | typeof BACK | undefined => (r === BACK ? BACK : r === undefined ? undefined : 'next');
  const ok = await runSteps([
    async (step, total) => {
      const r = await askInput({ title, step, totalSteps: total, prompt: 'A name for this host', placeholder: 'e.g. Lab DC', value: s.name, validate: (v) => validateHostName(v, existing.hosts, editing?.id) });
      if (typeof r === 'string') s.name = r.trim();
      return next(r);
    },
    async (step, total) => {
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: 'Host name or URL', placeholder: 'dc01.example.com, dc01:5986 or https://dc01.example.com:5986/wsman', value: s.address, validate: validateAddress });
      if (typeof r === 'string') {
        const typed = splitAddress(r);
        s.address = typed.hostname;
        s.path = typed.path;
        if (typed.explicitScheme) s.https = typed.https;
        s.typedPort = typed.explicitPort ? typed.port : undefined;
        if (typed.explicitPort) s.port = String(typed.port);
      }
      return next(r);
    },
    async (step, total) => {
      const r = await askPick<boolean>({
        title, step, totalSteps: total, canGoBack: true, placeholder: 'Protocol', active: s.https,
        items: [
          { label: 'HTTPS', description: 'port 5986 — encrypted, recommended', value: true },
          { label: 'HTTP', description: 'port 5985 — Basic needs AllowUnencrypted=true on the host', value: false },
        ],
      });
      if (typeof r === 'boolean') {
        if (r !== s.https && s.typedPort === undefined) s.port = '';
        s.https = r;
      }
      return next(r);
    },
    async (step, total) => {
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: `Port (${defaultPort(s.https)} is the WinRM default for ${s.https ? 'HTTPS' : 'HTTP'})`, value: s.port || String(defaultPort(s.https)), validate: validatePort });
      if (typeof r === 'string') s.port = r.trim();
      return next(r);
    },
    async (step, total) => {
      // NTLM and CredSSP ask their encryption mode here too, and CredSSP its inner
      // protocol and versions, as part of this step (the step numbers stay as they are);
      // Back goes to the previous pick of the step.
      let pick: 'scheme' | 'encryption' | 'credssp' = 'scheme';
      for (;;) {
        if (pick === 'scheme') {
          const supported = supportedSchemes();
          const items: PickItem<AuthScheme>[] = AUTH_SCHEMES.map((scheme) => supported.includes(scheme)
            ? { label: SCHEME_LABELS[scheme], value: scheme, description: SCHEME_DESCRIPTIONS[scheme](s.https) }
            : { label: `$(circle-slash) ${SCHEME_LABELS[scheme]}`, value: scheme, description: 'not supported by this version yet', refuse: `${SCHEME_LABELS[scheme]} is not supported by this version yet; choose ${supported.map((x) => SCHEME_LABELS[x]).join(' or ')}.` });
          const r = await askPick<AuthScheme>({ title, step, totalSteps: total, canGoBack: true, placeholder: AUTH_PLACEHOLDER, items, active: supported.includes(s.auth) ? s.auth : supported[0] });
          if (typeof r !== 'string') return next(r);
          s.auth = r;
          if (!schemeEncrypts(r)) return 'next';
          pick = 'encryption';
        } else if (pick === 'encryption') {
          const e = await askPick<EncryptionMode>({
            title, step, totalSteps: total, canGoBack: true, placeholder: ENCRYPTION_PLACEHOLDER, active: s.encryption,
            items: encryptionChoices(s.https).map((c) => ({ label: c.label, description: c.description, detail: c.detail, value: c.mode })),
          });
          if (e === BACK) { pick = 'scheme'; continue; }
          if (e === undefined) return undefined;
          s.encryption = e;
          if (s.auth !== 'credssp') return 'next';
          pick = 'credssp';
        } else {
          // Enter keeps the current choice: SPNEGO, version 5+ only for a new host.
          const c = await askPick<CredSspChoiceKey>({
            title, step, totalSteps: total, canGoBack: true, placeholder: CREDSSP_PLACEHOLDER, active: s.credssp,
            items: credSspChoices().map((x) => ({ label: x.options.allowOldVersions ? `$(warning) ${x.label}` : x.label, description: x.description, detail: x.detail, value: x.key })),
          });
          if (c === BACK) { pick = 'encryption'; continue; }
          if (c === undefined) return undefined;
          const allowsOld = (k: CredSspChoiceKey) => k === 'spnego-old' || k === 'raw-old';
          if (allowsOld(c) && !allowsOld(s.credssp)) {
            const sure = await vscode.window.showWarningMessage(`Allow CredSSP versions 2-4 for "${s.name}"?`, {
              modal: true,
              detail: `${CREDSSP_OLD_VERSIONS_RISK} Updating the host (the CredSSP update of March 2018 or any later one) is the fix; this is the last resort.`,
            }, ALLOW_OLD_CREDSSP);
            if (sure !== ALLOW_OLD_CREDSSP) continue; // ask again
          }
          s.credssp = c;
          return 'next';
        }
      }
    },
    async (step, total) => {
      const credssp = s.auth === 'credssp';
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: credssp ? DOMAIN_PROMPT_CREDSSP : DOMAIN_PROMPT, placeholder: credssp ? 'e.g. LAB or lab.example.com' : 'e.g. LAB, or leave empty', value: s.domain, validate: (v) => validateDomain(v, { auth: s.auth, user: s.user }) });
      if (typeof r === 'string') s.domain = r.trim();
      return next(r);
    },
    async (step, total) => {
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: 'User name', placeholder: 'user, DOMAIN\\user or user@domain', value: s.user, validate: (v) => validateUserFor(v, { auth: s.auth, domain: s.domain }) });
      if (typeof r === 'string') s.user = r.trim();
      return next(r);
    },
    async (step, total) => {
      const r = await askInput({
        title, step, totalSteps: total, canGoBack: true, password: true,
        prompt: editing ? 'Password (leave empty to keep the stored one). Kept only in VS Code secret storage.' : 'Password (leave empty to be asked at the first run). Kept only in VS Code secret storage.',
      });
      if (typeof r === 'string') s.password = r === '' ? undefined : r;
      return next(r);
    },
    async (step, total) => {
      const r = await askPick<ArgumentStyle>({ title, step, totalSteps: total, canGoBack: true, placeholder: 'Default argument style', active: s.style, items: ARGUMENT_STYLES.map((x) => ({ label: x, description: STYLE_DESCRIPTIONS[x], value: x })) });
      if (typeof r === 'string') s.style = r;
      return next(r);
    },
    async (step, total) => {
      const r = await askPick<ProfileName>({ title, step, totalSteps: total, canGoBack: true, placeholder: 'Default profile', active: s.profile, items: PROFILES.map((x) => ({ label: x, description: PROFILE_DESCRIPTIONS[x], value: x })) });
      if (typeof r === 'string') s.profile = r;
      return next(r);
    },
    async (step, total) => {
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: 'Code page (empty: the profile\'s, 65001 for safe, 437 for the connector profiles)', placeholder: 'e.g. 65001, 437, 850, 1252', value: s.codepage, validate: validateCodepage });
      if (typeof r === 'string') s.codepage = r.trim();
      return next(r);
    },
    async (step, total) => {
      if (!s.https) return 'skip';
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: 'CA certificate file (PEM) that issued the host\'s certificate; empty: the system\'s trusted CAs', placeholder: '/path/to/lab-ca.pem', value: s.caFile });
      if (typeof r === 'string') s.caFile = r.trim();
      return next(r);
    },
    async (step, total) => {
      if (!s.https) return 'skip';
      const r = await askInput({ title, step, totalSteps: total, canGoBack: true, prompt: 'Server-name override: verify the certificate for this name (empty: the host name)', placeholder: 'e.g. dc01.lab.example.com', value: s.serverName, validate: (v) => (/\s/.test(v.trim()) ? 'A host name has no spaces.' : undefined) });
      if (typeof r === 'string') s.serverName = r.trim();
      return next(r);
    },
    async (step, total) => {
      if (!s.https) return 'skip';
      for (;;) {
        const r = await askPick<boolean>({
          title, step, totalSteps: total, canGoBack: true, placeholder: 'Certificate verification', active: s.insecure,
          items: [
            { label: 'Verify the certificate', description: 'recommended', value: false },
            { label: '$(warning) Skip verification', description: 'insecure: anyone on the network path can read the password', value: true },
          ],
        });
        if (r === true && !s.insecure) {
          const sure = await vscode.window.showWarningMessage(`Skip certificate verification for "${s.name}"?`, { modal: true, detail: 'Anyone who can intercept the connection can pose as the host and read the password. Use this only for a lab host you control; a CA file is the safe way to trust a self-signed certificate.' }, 'Skip Verification');
          if (sure !== 'Skip Verification') continue; // ask again
        }
        if (typeof r === 'boolean') s.insecure = r;
        return next(r);
      }
    },
  ]);
  if (!ok) return undefined;
  const draft: HostDraft = {
    name: s.name,
    url: composeEndpoint({ https: s.https, hostname: s.address, port: Number(s.port || defaultPort(s.https)), path: s.path }),
    auth: s.auth,
    user: s.user,
    style: s.style,
    profile: s.profile,
  };
  if (s.domain) draft.domain = s.domain;
  if (schemeEncrypts(s.auth)) draft.encryption = s.encryption;
  if (s.auth === 'credssp') {
    const options = credSspChoices().find((c) => c.key === s.credssp)?.options ?? {};
    if (Object.keys(options).length) draft.credssp = { ...options };
  }
  if (s.codepage) draft.codepage = Number(s.codepage);
  if (s.https && (s.caFile || s.serverName || s.insecure)) {
    draft.tls = {};
    if (s.caFile) draft.tls.caFile = s.caFile;
    if (s.serverName) draft.tls.serverName = s.serverName;
    if (s.insecure) draft.tls.insecureSkipVerify = true;
  }
  return { draft, password: s.password };
}
