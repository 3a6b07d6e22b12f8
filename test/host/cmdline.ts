// Windows command lines, modelled closely enough to route a WinRS command the way a
// Windows host would run it: cmd.exe's view of a line (percent expansion, operators,
// `cmd /c` quote stripping) and a program's view of its arguments (the MS C runtime /
// CommandLineToArgvW splitting rules).

/** Splits the program name off a command line as CommandLineToArgvW does: no backslash rules for it. */
export function splitProgram(line: string): { program: string; rest: string } {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  let program = '';
  if (line[i] === '"') {
    const end = line.indexOf('"', i + 1);
    program = end < 0 ? line.slice(i + 1) : line.slice(i + 1, end);
    i = end < 0 ? line.length : end + 1;
  } else {
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') program += line[i++];
  }
  return { program, rest: line.slice(i) };
}

/**
 * Splits arguments by the MS C runtime rules: whitespace separates; `"` toggles quoting
 * (`""` inside quotes is a literal quote); 2n backslashes before a quote give n
 * backslashes and the quote acts; 2n+1 give n backslashes and a literal quote;
 * backslashes elsewhere are literal.
 */
export function parseArguments(s: string): string[] {
  const args: string[] = [];
  let i = 0;
  const n = s.length;
  for (;;) {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= n) break;
    let arg = '';
    let quoted = false;
    while (i < n) {
      const c = s[i];
      if (!quoted && (c === ' ' || c === '\t')) break;
      if (c === '\\') {
        let k = i;
        while (k < n && s[k] === '\\') k++;
        const count = k - i;
        if (s[k] === '"') {
          arg += '\\'.repeat(Math.floor(count / 2));
          if (count % 2 === 1) { arg += '"'; i = k + 1; } else i = k;
        } else {
          arg += '\\'.repeat(count);
          i = k;
        }
        continue;
      }
      if (c === '"') {
        if (quoted && s[i + 1] === '"') { arg += '"'; i += 2; continue; }
        quoted = !quoted;
        i++;
        continue;
      }
      arg += c;
      i++;
    }
    args.push(arg);
  }
  return args;
}

/** The file name of a program path, lower case, without .exe/.com (`C:\x\PowerShell.EXE` -> `powershell`). */
export function programBase(program: string): string {
  const base = program.replace(/^.*[\\/]/, '').toLowerCase();
  return base.replace(/\.(exe|com)$/, '');
}

export function isAbsoluteWindowsPath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || /^\\\\/.test(p);
}

/**
 * cmd.exe's first pass over a command line typed at a prompt (or given to /c): `%NAME%`
 * becomes the variable's value when it is defined (names are case-insensitive) and is
 * left as written when it is not. Substring/substitution forms are left as written.
 */
export function expandPercent(line: string, env: Record<string, string | undefined>): string {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (v !== undefined) lower.set(k.toLowerCase(), v);
  let out = '';
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c !== '%') { out += c; i++; continue; }
    const end = line.indexOf('%', i + 1);
    if (end < 0) { out += line.slice(i); break; }
    const name = line.slice(i + 1, end);
    const value = name && !name.includes(':') ? lower.get(name.toLowerCase()) : undefined;
    if (value !== undefined) { out += value; i = end + 1; } else { out += '%'; i++; }
  }
  return out;
}

/** True when cmd.exe would see an operator (& | < >) or an escape (^) outside quotes. */
export function hasCmdOperators(line: string): boolean {
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && '&|<>^'.includes(c)) return true;
  }
  return false;
}

/**
 * `cmd [/s] /c <rest>` -> `<rest>` after cmd's quote rule: without /s, when <rest> starts
 * with a quote and does not look like one quoted program path, the first and the last
 * quote are removed. Returns undefined when the line is not such a cmd invocation.
 */
export function unwrapCmdC(line: string): string | undefined {
  const { program, rest } = splitProgram(line);
  if (programBase(program) !== 'cmd') return undefined;
  let tail = rest;
  let strip = false;
  for (;;) {
    const m = /^\s*\/([A-Za-z])(?::\S*)?/.exec(tail);
    if (!m) return undefined;
    const flag = m[1].toLowerCase();
    tail = tail.slice(m[0].length);
    if (flag === 's') { strip = true; continue; }
    if (flag === 'c' || flag === 'k') {
      if (flag === 'k') return undefined; // /k keeps an interactive shell: leave it to cmd
      break;
    }
    if ('qdaeuftv'.includes(flag)) continue;
    return undefined;
  }
  tail = tail.replace(/^[ \t]+/, '');
  if (tail.startsWith('"')) {
    const quotes = (tail.match(/"/g) ?? []).length;
    const inner = tail.slice(1, tail.indexOf('"', 1));
    // cmd keeps the quotes only around the name of an existing program with a space in
    // it; without a file system to ask, "looks like a program path" stands in for that.
    const looksLikeProgram = isAbsoluteWindowsPath(inner) || /\.(exe|com|bat|cmd)$/i.test(inner);
    const keep = !strip && quotes === 2 && !/[&<>()@^|]/.test(inner) && /\s/.test(inner) && looksLikeProgram;
    if (!keep) {
      const last = tail.lastIndexOf('"');
      tail = last > 0 ? tail.slice(1, last) + tail.slice(last + 1) : tail.slice(1);
    }
  }
  return tail;
}

export type PowerShellFlavor = 'windows-powershell' | 'pwsh';

// Windows PowerShell 5.1 parameters that take a value (so the word after them is not a positional command).
const VALUE_PARAMS = ['executionpolicy', 'ex', 'ep', 'inputformat', 'inp', 'if', 'outputformat', 'o', 'of', 'windowstyle', 'w', 'version', 'v', 'psconsolefile', 'configurationname', 'config', 'encodedcommand', 'enc', 'ec', 'e', 'encodedarguments', 'encodeda', 'ea', 'workingdirectory', 'wd', 'settingsfile', 'settings'];
const COMMAND_PARAMS = ['command', 'c', 'com', 'comm', 'comma', 'comman'];
const FILE_PARAMS = ['file', 'f', 'fi', 'fil'];

/**
 * Turns the arguments a Windows host would give powershell.exe (5.1) or pwsh.exe into
 * arguments for pwsh on Linux with the same meaning:
 * - powershell.exe treats its first positional argument as -Command (pwsh: -File), and a
 *   bare `-` as "read commands from stdin" without prompts: both become `-Command ...`;
 * - -WindowStyle, -Sta and -Mta do nothing in a WinRS session and pwsh on Linux refuses
 *   them, so they are dropped.
 */
export function translatePowerShellArgs(args: string[], flavor: PowerShellFlavor): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^[-/]([A-Za-z]+)(?::(.*))?$/.exec(a);
    const name = m?.[1].toLowerCase();
    if (a === '-') {
      if (flavor === 'windows-powershell') out.push('-Command', '-');
      else out.push(a);
      out.push(...args.slice(i + 1));
      break;
    }
    if (name && (name === 'windowstyle' || name === 'w')) { if (m?.[2] === undefined) i++; continue; }
    if (name && (name === 'sta' || name === 'mta')) continue;
    if (name && (COMMAND_PARAMS.includes(name) || FILE_PARAMS.includes(name))) {
      out.push(...args.slice(i));
      break;
    }
    if (name && VALUE_PARAMS.includes(name)) {
      out.push(a);
      if (m?.[2] === undefined && i + 1 < args.length) out.push(args[++i]);
      continue;
    }
    if (name || a.startsWith('-')) { out.push(a); continue; }
    // A positional argument: the rest of the line is the command (5.1) or a file (pwsh).
    if (flavor === 'windows-powershell') out.push('-Command', ...args.slice(i));
    else out.push(...args.slice(i));
    break;
  }
  return out;
}
