#!/usr/bin/env node
// winrm-run: run a script or command on a WinRM host from a terminal, over the
// same core the extension uses. Exit status: the remote exit code (0-254; larger
// or negative codes become 254 with a note), 255 for any client-side error.
import { readFileSync } from 'node:fs';
import { createAuthProvider, supportedSchemes, type CredSspOptions } from '../core/auth';
import type { AuthScheme, EncryptionMode } from '../core/auth/types';
import { CancelledError, ConfigError, describeError } from '../core/errors';
import { detectLanguage, scriptTextOf } from '../core/format/language';
import { formatPreview, parseArgumentAssignments, planLaunch, type ArgumentStyle, type Language, type LaunchPlan, type ProfileName, type ScriptArgument } from '../core/launch';
import { closePersistentSessions, runScript } from '../core/run-script';
import { WinrmSession } from '../core/session';
import { parseEndpoint } from '../core/transport/http';
import { readPassword } from './password';

const USAGE = `usage: winrm-run [options] (--file PATH | --command TEXT)
  --host URL            http(s)://host:port/wsman (a bare host name gets http and 5985)
  --user NAME           DOMAIN\\user or user@domain accepted
  --domain NAME         domain (required for credssp, as the connector requires)
  --auth basic|ntlm|credssp        --encryption auto|always|never
  --credssp-raw-ntlm    credssp only: raw NTLM inside CredSSP instead of SPNEGO (for
                        acceptors such as FreeRDP; Windows takes the default, SPNEGO)
  --credssp-allow-old-versions  credssp only: accept CredSSP versions 2-4 (refused by
                        default: without the CVE-2018-0886 fix a man in the middle can
                        take the delegated password); last resort for a host not updated
  --insecure            skip certificate verification (warns)    --ca FILE
  --server-name NAME    verify the certificate for this name instead of the host's
  --language cmd|powershell|powerhell|exchange  (default from the file extension; cmd for --command)
                        powerhell/exchange run in a PowerShell loop that lives for this one
                        run only (variables do not carry over to the next winrm-run); exit
                        code 1 when the script reports an error, as the connector would
  --style dashed|variables|slashed --profile safe|connector-1.5|connector-1.4
  --arg NAME=VALUE      repeatable, in order; NAME without '=' is a null value;
                        NAME[]=ITEM adds ITEM to a list argument
  --preview             print the exact command line that would be sent, and exit 0
  --codepage N          --timeout SECONDS (overall deadline)
The password comes from WINRM_PASSWORD, else a prompt on a terminal.`;

interface CliOptions {
  host?: string;
  user?: string;
  domain?: string;
  auth: AuthScheme;
  encryption: EncryptionMode;
  /** The --credssp-* flags given (only with --auth credssp). */
  credssp: CredSspOptions;
  insecure: boolean;
  ca?: string;
  serverName?: string;
  language?: Language;
  style: ArgumentStyle;
  profile: ProfileName;
  args: ScriptArgument[];
  rawArgs: string[];
  preview: boolean;
  codepage?: number;
  timeout?: number;
  file?: string;
  command?: string;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${flag} must be one of ${allowed.join(', ')} (got "${value}").`, `See winrm-run --help.`);
  return value as T;
}

export function parseCli(argv: string[]): CliOptions | 'help' {
  const o: CliOptions = { auth: 'basic', encryption: 'auto', credssp: {}, insecure: false, style: 'dashed', profile: 'safe', args: [], rawArgs: [], preview: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new ConfigError(`${flag} needs a value.`, 'See winrm-run --help.');
      return v;
    };
    switch (flag) {
      case '-h': case '--help': return 'help';
      case '--host': o.host = value(); break;
      case '--user': o.user = value(); break;
      case '--domain': o.domain = value(); break;
      case '--auth': o.auth = oneOf(flag, value(), ['basic', 'ntlm', 'credssp'] as const); break;
      case '--encryption': o.encryption = oneOf(flag, value(), ['auto', 'always', 'never'] as const); break;
      case '--credssp-raw-ntlm': o.credssp.rawNtlm = true; break;
      case '--credssp-allow-old-versions': o.credssp.allowOldVersions = true; break;
      case '--insecure': o.insecure = true; break;
      case '--ca': o.ca = value(); break;
      case '--server-name': o.serverName = value(); break;
      case '--language': o.language = oneOf(flag, value(), ['cmd', 'powershell', 'powerhell', 'exchange'] as const); break;
      case '--style': o.style = oneOf(flag, value(), ['dashed', 'variables', 'slashed'] as const); break;
      case '--profile': o.profile = oneOf(flag, value(), ['safe', 'connector-1.5', 'connector-1.4'] as const); break;
      case '--arg': o.rawArgs.push(value()); break;
      case '--preview': o.preview = true; break;
      case '--codepage': {
        const v = value();
        o.codepage = Number(v);
        if (!Number.isInteger(o.codepage) || o.codepage <= 0) throw new ConfigError(`--codepage must be a Windows code page number such as 65001 or 437 (got "${v}").`);
        break;
      }
      case '--timeout': {
        const v = value();
        o.timeout = Number(v);
        if (!Number.isFinite(o.timeout) || o.timeout <= 0) throw new ConfigError(`--timeout must be a positive number of seconds (got "${v}").`);
        break;
      }
      case '--file': o.file = value(); break;
      case '--command': o.command = value(); break;
      default:
        throw new ConfigError(`Unknown option "${flag}".`, 'See winrm-run --help.');
    }
  }
  const credsspFlags = [o.credssp.rawNtlm && '--credssp-raw-ntlm', o.credssp.allowOldVersions && '--credssp-allow-old-versions'].filter((f): f is string => !!f);
  if (credsspFlags.length && o.auth !== 'credssp') {
    throw new ConfigError(`${credsspFlags.join(' and ')} ${credsspFlags.length > 1 ? 'apply' : 'applies'} to --auth credssp only (the authentication is ${o.auth}).`, `Add --auth credssp, or drop ${credsspFlags.length > 1 ? 'them' : 'the flag'}.`);
  }
  o.args = parseArgumentAssignments(o.rawArgs);
  if ((o.file === undefined) === (o.command === undefined)) throw new ConfigError('Give exactly one of --file PATH or --command TEXT.', 'See winrm-run --help.');
  return o;
}

export function languageFor(o: CliOptions): Language {
  if (o.language) return o.language;
  if (o.command !== undefined) return 'cmd';
  const detected = detectLanguage(undefined, o.file);
  if (detected) return detected;
  throw new ConfigError(`Cannot tell the language of "${o.file}" from its extension.`, 'Pass --language cmd or --language powershell.');
}

function readScript(o: CliOptions): string {
  if (o.command !== undefined) return o.command;
  try {
    return scriptTextOf(readFileSync(o.file!, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, 'Check the path.');
  }
}

export function buildPlan(o: CliOptions): LaunchPlan {
  const plan = planLaunch({ language: languageFor(o), code: readScript(o), args: o.args, style: o.style, profile: o.profile });
  if (o.codepage !== undefined) plan.shell.codepage = o.codepage;
  return plan;
}

async function writeOut(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCli(argv);
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = parsed;
  const plan = buildPlan(o);
  if (o.preview) {
    process.stdout.write(`${formatPreview(plan)}\n`);
    return 0;
  }
  // Errors are the one-line error below, not a warning line as well.
  for (const w of plan.warnings) if (w.severity !== 'error') process.stderr.write(`winrm-run: ${w.severity}: ${w.message}\n`);
  if (plan.blocked) throw new ConfigError(plan.blocked, 'Nothing was run. Change the arguments, the style or the profile; --preview shows what would be sent.');
  const blocking = plan.warnings.find((w) => w.severity === 'error');
  if (blocking) throw new ConfigError(blocking.message, 'Change the arguments or the profile; --preview shows what would be sent.');
  if (!o.host) throw new ConfigError('--host is required to run (only --preview works without it).', 'Example: --host https://server01:5986/wsman');
  if (!o.user) throw new ConfigError('--user is required.', 'Example: --user "DOMAIN\\alice" or --user alice@example.com');
  if (!supportedSchemes().includes(o.auth)) {
    throw new ConfigError(`Authentication "${o.auth}" is not supported yet.`, `Supported now: ${supportedSchemes().join(', ')}.`);
  }
  if (o.auth === 'credssp' && !o.domain && !/[\\@]/.test(o.user)) {
    throw new ConfigError('CredSSP needs a domain, as the connector requires.', 'Pass --domain NAME or --user "DOMAIN\\user".');
  }
  const url = parseEndpoint(o.host);
  let ca: string | undefined;
  if (o.ca) {
    try { ca = readFileSync(o.ca, 'utf8'); } catch (err) {
      throw new ConfigError(`Cannot read the CA file ${o.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, 'Give a PEM file with the CA certificate.');
    }
  }
  if (o.insecure) process.stderr.write('winrm-run: warning: certificate verification is OFF (--insecure); anyone on the network path can read the password.\n');
  if (o.credssp.allowOldVersions) process.stderr.write('winrm-run: warning: CredSSP versions 2-4 are accepted (--credssp-allow-old-versions); they lack the CVE-2018-0886 fix, so a man in the middle can take the delegated password.\n');
  if (url.protocol === 'http:' && o.auth === 'basic') process.stderr.write('winrm-run: warning: Basic over plain HTTP sends the password readable on the network; prefer HTTPS.\n');
  const password = await readPassword();
  const credentials = { user: o.user, password, domain: o.domain };
  const session = new WinrmSession({
    url: url.href,
    auth: o.auth,
    credentials,
    encryption: o.encryption,
    tls: { ca, serverName: o.serverName, insecureSkipVerify: o.insecure },
    // The session builds a provider from auth and encryption alone; the CredSSP flags need it built here.
    ...(o.credssp.rawNtlm || o.credssp.allowOldVersions ? { authProvider: createAuthProvider({ scheme: o.auth, credentials, encryption: o.encryption, credssp: o.credssp }) } : {}),
  });
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nwinrm-run: stopping the remote command (Ctrl+C again to quit without cleanup)\n');
      abort.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const run = runScript(session, plan, { signal: abort.signal, deadline: o.timeout ? Date.now() + o.timeout * 1000 : undefined });
    for await (const chunk of run) await writeOut(chunk.stream === 'stdout' ? process.stdout : process.stderr, chunk.text);
    const code = await run.exitCode;
    const persistent = await run.persistent;
    if (persistent?.message) {
      const what = persistent.outcome === 'start-failed' ? `the ${plan.language} loop did not start` : persistent.outcome === 'error' ? 'the script reported an error' : 'the loop ended';
      process.stderr.write(`winrm-run: ${what}: ${persistent.message}\n`);
    }
    if (code >= 0 && code <= 254) return code;
    process.stderr.write(`winrm-run: the remote exit code was ${code}\n`);
    return 254;
  } finally {
    process.off('SIGINT', onSigint);
    // A powerhell/exchange loop is asked to exit before the session deletes its shells.
    await closePersistentSessions(session).catch(() => undefined);
    await session.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
      process.stderr.write(`winrm-run: ${err instanceof CancelledError ? 'cancelled; the remote command was stopped and its shell deleted.' : describeError(err)}\n`);
      process.exitCode = 255;
    },
  );
}
