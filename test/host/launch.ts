// What a WinRS Command runs on this Linux host, decided the way a Windows host would
// run the line, then mapped onto real programs:
//
// - WINRS_SKIP_CMD_SHELL=FALSE (the default): Windows runs `cmd.exe /c <line>` where
//   <line> = Command + ' ' + Arguments (joined by spaces). cmd's limit is 8191
//   characters. cmd expands %VARIABLES% first, then runs the first program.
// - WINRS_SKIP_CMD_SHELL=TRUE: CreateProcess runs the line directly (limit 32767); the
//   program must be a full path (a bare `powershell.exe` is "file not found").
//
// Programs:
// - powershell[.exe] / pwsh[.exe] (any case, any directory) run in real PowerShell: the
//   project's pwsh 7.6.9 (.tools/pwsh/pwsh), arguments split by the MS C runtime rules
//   and translated from Windows PowerShell 5.1's CLI where pwsh differs.
// - winrm-test: the scripted commands (scripted.ts).
// - hostname (no arguments): prints the host's fixed test name.
// - anything else: wine's cmd.exe when wine is installed; otherwise cmd's
//   "is not recognized" answer (exit 9009), with the reason in the host log.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expandPercent, hasCmdOperators, isAbsoluteWindowsPath, parseArguments, programBase, splitProgram, translatePowerShellArgs, unwrapCmdC } from './cmdline';
import { FAULTS, WsmanFault } from './wsman';

export const CMD_LINE_LIMIT = 8191;
export const CREATE_PROCESS_LIMIT = 32767;
/** Exit status of cmd.exe for a program it cannot find (MSG_DIR_BAD_COMMAND_OR_FILE). */
export const NOT_RECOGNIZED_EXIT = 9009;
/** wine's cmd writes Windows-1252 to pipes when the Unix locale is C.UTF-8. */
export const WINE_CHARSET = 'cp1252';
export const PWSH_INSTALL_HINT = 'dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9';

export interface Runtime {
  /** The pwsh binary, or undefined when it is missing. */
  pwsh: string | undefined;
  /** Where pwsh was looked for (for the error text). */
  pwshExpected: string;
  /** The wine binary, or undefined when wine is not installed (or disabled). */
  wine: string | undefined;
  winePrefix: string;
  /** Resolves when the wine prefix exists and its wineserver runs. */
  wineReady: Promise<boolean>;
  /** The Linux directory standing in for C:\. */
  driveC: string;
  /** out/test/host/winrm-test/main.js */
  scriptedMain: string;
  hostName: string;
  log(line: string): void;
}

export type LaunchPlan =
  | {
      kind: 'spawn';
      what: 'pwsh' | 'wine' | 'scripted';
      file: string;
      args: string[];
      /** Extra environment for this program (added to the shell's). */
      env: Record<string, string>;
      /** The charset the program writes (output is converted to the shell's code page). */
      charset: string;
    }
  | { kind: 'builtin'; stdout: string; stderr: string; exitCode: number };

export interface LaunchRequest {
  command: string;
  args: string[];
  skipCmdShell: boolean;
  /** The shell's environment as Windows programs see it (for %VAR% expansion). */
  windowsEnv: Record<string, string>;
  /** Variables wine's cmd must see with these values (wine sets USERNAME etc. from the Unix account). */
  forcedEnv?: [string, string][];
}

/** Decides what runs. Throws a WsmanFault where Windows answers the Command with a fault. */
export function planLaunch(req: LaunchRequest, rt: Runtime): LaunchPlan {
  const line = [req.command, ...req.args].join(' ');
  if (req.skipCmdShell) {
    if (line.length > CREATE_PROCESS_LIMIT) throw new WsmanFault(FAULTS.tooLong());
    const { program, rest } = splitProgram(line);
    const base = programBase(program);
    if (base === 'winrm-test') return scripted(rest, rt);
    if (!isAbsoluteWindowsPath(program)) throw new WsmanFault(FAULTS.fileNotFound());
    if (base === 'powershell' || base === 'pwsh') return powershell(base, rest, rt);
    if (rt.wine && resolveWindowsPath(program, rt.driveC)) return wine(line, req.forcedEnv ?? [], rt);
    throw new WsmanFault(FAULTS.fileNotFound());
  }
  if (line.length > CMD_LINE_LIMIT) throw new WsmanFault(FAULTS.tooLong());
  return viaCmd(line, req, rt, 0);
}

function viaCmd(line: string, req: LaunchRequest, rt: Runtime, depth: number): LaunchPlan {
  const env = req.windowsEnv;
  const expanded = expandPercent(line, env);
  if (!hasCmdOperators(expanded)) {
    const { program, rest } = splitProgram(expanded);
    const base = programBase(program);
    if (base === 'powershell' || base === 'pwsh') return powershell(base, rest, rt);
    if (base === 'winrm-test') return scripted(rest, rt);
    if (base === 'hostname' && rest.trim() === '') return { kind: 'builtin', stdout: `${rt.hostName}\r\n`, stderr: '', exitCode: 0 };
    // `cmd /c powershell ...` runs PowerShell too; other cmd lines go to wine whole.
    const inner = depth < 4 ? unwrapCmdC(expanded) : undefined;
    if (inner !== undefined) {
      const plan = viaCmd(inner, req, rt, depth + 1);
      if (plan.kind === 'builtin' || plan.what !== 'wine') return plan;
    }
  } else if (/(^|[\s"&|(<>\\/])(powershell|pwsh|winrm-test)(\.exe)?([\s"&|)<>]|$)/i.test(expanded)) {
    // wine's own powershell.exe is a stub that prints nothing and exits 0: refuse instead of pretending.
    return {
      kind: 'builtin',
      stdout: '',
      stderr:
        'WinRM test host: this line runs PowerShell (or winrm-test) inside a cmd pipeline, redirection or command list.\r\n' +
        'The test host runs them only as the first program of a line without cmd operators (& | < > ^).\r\n',
      exitCode: 1,
    };
  }
  if (rt.wine) return wine(line, req.forcedEnv ?? [], rt);
  const { program } = splitProgram(expanded);
  rt.log(`cmd line "${truncate(line)}" needs cmd.exe: wine is not installed, answering "not recognized" (install wine: apt-get install --no-install-recommends -y wine wine64)`);
  return {
    kind: 'builtin',
    stdout: '',
    stderr: `'${program}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`,
    exitCode: NOT_RECOGNIZED_EXIT,
  };
}

function powershell(base: string, rest: string, rt: Runtime): LaunchPlan {
  if (!rt.pwsh) {
    rt.log(`PowerShell requested but pwsh is missing at ${rt.pwshExpected}`);
    return {
      kind: 'builtin',
      stdout: '',
      stderr:
        `WinRM test host: cannot run PowerShell: pwsh is not installed at ${rt.pwshExpected}.\r\n` +
        `Install it from the project root with: ${PWSH_INSTALL_HINT}\r\n`,
      exitCode: 1,
    };
  }
  const args = translatePowerShellArgs(parseArguments(rest), base === 'powershell' ? 'windows-powershell' : 'pwsh');
  return {
    kind: 'spawn',
    what: 'pwsh',
    file: rt.pwsh,
    args,
    // A Windows console has no ANSI colours; TERM=dumb keeps pwsh's error records plain.
    env: { TERM: 'dumb', POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off', DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
    charset: 'utf8',
  };
}

function scripted(rest: string, rt: Runtime): LaunchPlan {
  return { kind: 'spawn', what: 'scripted', file: process.execPath, args: [rt.scriptedMain, ...parseArguments(rest)], env: {}, charset: 'utf8' };
}

const HELPER = '__WINRS_TEST_HOST_';

/**
 * wine quotes every argv element that holds a space or a quote and escapes inner quotes
 * with backslashes, which cmd does not understand; and wine takes USERNAME, USERPROFILE,
 * COMPUTERNAME from the Unix account, and drops variables whose names it dislikes. So
 * everything travels in helper variables, three cmd levels deep:
 * 1. `wine cmd /c %A%`: wine's cmd runs a lone /c command without parsing it again, so
 *    the expanded A starts level 2 with A's text as its command line;
 * 2. `cmd /v:on /c set "A=" & set "!N0!=!V0!" & ... & cmd /c !B!`: delayed expansion
 *    happens after parsing, so names and values arrive intact; then the helpers go;
 * 3. `cmd /c set "B=" & <line>`: the line, parsed by cmd as typed.
 */
function wine(line: string, forced: [string, string][], rt: Runtime): LaunchPlan {
  const env: Record<string, string> = {};
  const sets: string[] = [];
  const unsets: string[] = [];
  forced.forEach(([name, value], i) => {
    if (!name || !value || name.includes('=')) return;
    env[`${HELPER}N${i}`] = name;
    env[`${HELPER}V${i}`] = value;
    sets.push(`set "!${HELPER}N${i}!=!${HELPER}V${i}!"`);
    unsets.push(`set "${HELPER}N${i}="`, `set "${HELPER}V${i}="`);
  });
  env[`${HELPER}A`] = [`cmd /v:on /c set "${HELPER}A="`, ...sets, ...unsets, `cmd /c !${HELPER}B!`].join(' & ');
  env[`${HELPER}B`] = `set "${HELPER}B=" & ${line}`;
  return { kind: 'spawn', what: 'wine', file: rt.wine!, args: ['cmd', '/c', `%${HELPER}A%`], env, charset: WINE_CHARSET };
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * The Linux path of a Windows path on drive C: (matched case-insensitively against what
 * exists), or an absolute Linux path as it is. Undefined when it does not exist.
 */
export function resolveWindowsPath(p: string, driveC: string): string | undefined {
  if (p.startsWith('/')) return existsSync(p) ? p : undefined;
  const m = /^([A-Za-z]):[\\/]?(.*)$/.exec(p);
  if (!m || m[1].toUpperCase() !== 'C') return undefined;
  let cur = driveC;
  for (const part of m[2].split(/[\\/]+/).filter((x) => x && x !== '.')) {
    if (part === '..') { cur = join(cur, '..'); continue; }
    let names: string[];
    try { names = readdirSync(cur); } catch { return undefined; }
    const hit = names.find((n) => n.toLowerCase() === part.toLowerCase());
    if (!hit) return undefined;
    cur = join(cur, hit);
  }
  return cur.startsWith(driveC) && existsSync(cur) ? cur : undefined;
}

/** Creates a folder under C: (e.g. `Users\\vagrant`), reusing existing folders whatever their case. */
export function ensureWindowsDir(driveC: string, windowsPath: string): string {
  let cur = driveC;
  mkdirSync(cur, { recursive: true });
  for (const part of windowsPath.split(/[\\/]+/).filter(Boolean)) {
    const hit = readdirSync(cur).find((n) => n.toLowerCase() === part.toLowerCase());
    cur = join(cur, hit ?? part);
    if (!hit) mkdirSync(cur);
  }
  return cur;
}

export function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}
