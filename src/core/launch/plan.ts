// From (language, code, arguments, style, profile) to exactly what goes to WinRS.
//
// Profiles:
// - connector-1.5: AD/LDAP connector 1.5 .. 2.4.x and connector-powershell 1.x
//   (powerhell 1.1 builders), byte for byte.
// - connector-1.4: AD/LDAP connector 1.4.2.18 .. 1.4.5 (winrm4j executePs).
// - safe: ours; values always arrive as given (see README of this folder in the
//   docs comment of planSafe* below).
import { ConfigError } from '../errors';
import { decodeAll, encodeForCodepage } from '../text/decoder';
import { connectorArgumentOrder } from './java-hashmap';
import {
  EXCHANGE_INIT, POWERHELL_PROMPT, blankLineNumbers, connectorLoopScript, explainLoopFailure, frameConnectorScript,
  frameSafeScript, parseLoopOutput, safeLoopScript,
} from './powerhell';
import {
  cmdQuoted, cmdRawReason, connectorSingleQuoted, dashedMisparseReason, dashedNumberReason, encodePowerShellCommand,
  hasTypographicSingleQuote, isAscii, isCmdArgumentName, isPowerShellIdentifier, javaToString, psLiteral,
} from './quoting';
import {
  WarningCodes, type ArgumentStyle, type ArgumentValue, type InterpretedResult, type Language, type LaunchPlan,
  type LaunchRequest, type LaunchWarning, type ProfileName, type RunResult, type ScriptArgument,
} from './types';

export const LANGUAGES: readonly Language[] = ['cmd', 'powershell', 'powerhell', 'exchange'];
export const STYLES: readonly ArgumentStyle[] = ['dashed', 'variables', 'slashed'];
export const PROFILES: readonly ProfileName[] = ['safe', 'connector-1.5', 'connector-1.4'];

/** cmd.exe refuses longer command lines ("The filename or extension is too long"). */
export const CMD_MAX_COMMAND_LINE = 8191;
export const CONNECTOR_CODEPAGE = 437;
export const SAFE_CODEPAGE = 65001;

const STYLE_PREFIX: Record<ArgumentStyle, string> = { dashed: '-', slashed: '/', variables: '$' };

const PROFILE_TITLES: Record<ProfileName, string> = {
  'connector-1.5': 'connector-1.5 (AD/LDAP connector 1.5 .. 2.4.x, connector-powershell 1.x / powerhell 1.1)',
  'connector-1.4': 'connector-1.4 (AD/LDAP connector 1.4.2.18 .. 1.4.5, winrm4j executePs)',
  safe: 'safe (values always arrive as given; UTF-8; long scripts over stdin)',
};

/**
 * The short command that runs a script sent on stdin as base64 (UTF-8): see
 * planSafePowerShell. The appended line gives exit code 1 when the script's last
 * statement failed, as `-EncodedCommand <script>` itself does.
 */
export const STDIN_BOOTSTRAP =
  '$winrmRunnerScript = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd())); ' +
  '. ([ScriptBlock]::Create($winrmRunnerScript + "`n" + \'if (-not $?) { exit 1 }\'))';

export function planLaunch(req: LaunchRequest): LaunchPlan {
  validateRequest(req);
  const warnings: LaunchWarning[] = [];
  const args = normalizeArguments(req, warnings);
  if (req.keepArgumentOrder && req.profile !== 'safe') {
    throw new ConfigError(
      `keepArgumentOrder is only for the safe profile; ${req.profile} passes arguments in midPoint's (Java HashMap) order.`,
      'Drop the option, or use --profile safe.',
    );
  }
  const ordered: [string, ArgumentValue][] = req.keepArgumentOrder
    ? args.map((a) => [a.name, a.value])
    : connectorArgumentOrder(args.map((a) => [a.name, a.value] as const));
  const ctx: Ctx = { req, args: ordered, warnings };
  let plan: LaunchPlan;
  if (req.language === 'powerhell' || req.language === 'exchange') plan = planPersistent(ctx);
  else if (req.profile === 'safe') plan = req.language === 'cmd' ? planSafeCmd(ctx) : planSafePowerShell(ctx);
  else plan = req.language === 'cmd' ? planConnectorCmd(ctx) : planConnectorPowerShell(ctx);
  addCommonWarnings(ctx, plan);
  return plan;
}

interface Ctx {
  req: LaunchRequest;
  args: [string, ArgumentValue][];
  warnings: LaunchWarning[];
}

function validateRequest(req: LaunchRequest): void {
  if (!LANGUAGES.includes(req.language)) {
    const near = LANGUAGES.find((l) => l === String(req.language).toLowerCase());
    throw new ConfigError(
      `Unknown script language '${String(req.language)}'.`,
      near ? `Language names are case-sensitive, as in the connector: use '${near}'.` : `Use one of: ${LANGUAGES.join(', ')}.`,
    );
  }
  if (!STYLES.includes(req.style)) throw new ConfigError(`Unknown argument style '${String(req.style)}'.`, `Use one of: ${STYLES.join(', ')}.`);
  if (!PROFILES.includes(req.profile)) throw new ConfigError(`Unknown profile '${String(req.profile)}'.`, `Use one of: ${PROFILES.join(', ')}.`);
  if (typeof req.code !== 'string') throw new ConfigError('The script code must be text.');
  if (req.profile === 'connector-1.4' && req.style === 'slashed') {
    throw new ConfigError('The slashed argument style exists only in connector 1.5 and later.', 'Use dashed or variables with connector-1.4, or the connector-1.5 profile.');
  }
  if (!Array.isArray(req.args)) throw new ConfigError('Arguments must be a list of {name, value}.');
}

/**
 * Checks names and values, and merges repeated names: items of list values given
 * one by one are concatenated; otherwise a repeated name keeps its first place
 * and its last value, as a Java HashMap does (connector profiles, with a warning)
 * or is refused (safe profile).
 */
function normalizeArguments(req: LaunchRequest, warnings: LaunchWarning[]): ScriptArgument[] {
  const merged = new Map<string, ScriptArgument>();
  for (const arg of req.args) {
    const { name, value } = arg ?? ({} as ScriptArgument);
    if (typeof name !== 'string' || name === '') throw new ConfigError('An argument has no name.', 'Write arguments as name=value.');
    if (!(value === null || typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string')))) {
      throw new ConfigError(`Argument '${name}' has a value that is not text, a list of texts, or no value.`);
    }
    if (req.profile === 'safe') checkSafeName(req.language, name);
    const previous = merged.get(name);
    if (!previous) {
      merged.set(name, { name, value: Array.isArray(value) ? [...value] : value });
    } else if (Array.isArray(previous.value) && Array.isArray(value)) {
      previous.value.push(...value);
    } else if (req.profile === 'safe') {
      throw new ConfigError(`Argument '${name}' is given more than once.`, `Give it once, or give list items as ${name}[]=value.`);
    } else {
      previous.value = value;
      warnings.push({
        code: WarningCodes.duplicateArgument,
        argument: name,
        severity: 'warning',
        message: `Argument '${name}' is given more than once; like midPoint's map, only the last value is passed.`,
      });
    }
  }
  return [...merged.values()];
}

function checkSafeName(language: Language, name: string): void {
  if (language === 'cmd') {
    if (!isCmdArgumentName(name)) {
      throw new ConfigError(`Argument name '${name}' is not a plain name cmd can pass.`, 'Use letters, digits, "_", "-" and "." only, starting with a letter or "_".');
    }
  } else if (!isPowerShellIdentifier(name)) {
    throw new ConfigError(`Argument name '${name}' is not a valid PowerShell variable or parameter name.`, 'Use letters, digits and "_" only, starting with a letter or "_".');
  }
}

function basePlan(ctx: Ctx, fields: Partial<LaunchPlan> & Pick<LaunchPlan, 'command' | 'arguments' | 'shell' | 'newShellPerRun'>): LaunchPlan {
  const commandLine = [fields.command, ...fields.arguments].join(' ');
  return {
    skipCmdShell: false,
    consoleModeStdin: true,
    warnings: ctx.warnings,
    profile: ctx.req.profile,
    language: ctx.req.language,
    style: ctx.req.style,
    argumentOrder: ctx.args.map(([n]) => n),
    argumentOrderGiven: ctx.req.keepArgumentOrder === true,
    commandLine,
    ...fields,
  };
}

const connectorShell = { codepage: CONNECTOR_CODEPAGE, noProfile: false };
const safeShell = { codepage: SAFE_CODEPAGE, noProfile: false };

function blockedPlan(ctx: Ctx, reason: string, shell: { codepage: number; noProfile: boolean }, newShellPerRun: boolean): LaunchPlan {
  return basePlan(ctx, { command: '', arguments: [], shell: { ...shell }, newShellPerRun, blocked: reason });
}

// ---------------------------------------------------------------- connector profiles

/** The dashed/slashed text the connector appends: ` -name value` (value raw, omitted when null). */
function connectorDashedSuffix(args: [string, ArgumentValue][], prefix: string, nullAsText: boolean): string {
  let s = '';
  for (const [name, value] of args) {
    s += ` ${prefix}${name}`;
    if (value !== null) s += ` ${javaToString(value)}`;
    else if (nullAsText) s += ' null';
  }
  return s;
}

function nullArgumentError(ctx: Ctx, name: string): string {
  const reason =
    `Argument '${name}' has no value: in the variables style the connector calls value.toString() on it and fails ` +
    'with a NullPointerException, so the script never runs.';
  ctx.warnings.push({
    code: WarningCodes.nullInVariables,
    argument: name,
    severity: 'error',
    message: `${reason} Give it a value (e.g. an empty string), or use the dashed style.`,
  });
  return reason;
}

function planConnectorCmd(ctx: Ctx): LaunchPlan {
  const { req } = ctx;
  const is14 = req.profile === 'connector-1.4';
  // 1.4 built cmd lines in the dashed form whatever the style; 1.5+ uses the style's prefix, even `$`.
  const prefix = is14 ? '-' : STYLE_PREFIX[req.style];
  if (is14 && req.style !== 'dashed' && ctx.args.length) {
    ctx.warnings.push({ code: WarningCodes.cmdAlwaysDashed, severity: 'warning', message: 'Connector 1.4 passes cmd arguments in the dashed form whatever the style.' });
  }
  if (!is14 && req.style === 'variables' && ctx.args.length) {
    ctx.warnings.push({
      code: WarningCodes.cmdDollarPrefix,
      severity: 'warning',
      message: 'With the variables style the connector still appends cmd arguments, prefixed with "$" (e.g. "$name value"); cmd has no such variables.',
    });
  }
  for (const [name, value] of ctx.args) {
    if (value === null) continue;
    const reason = cmdRawReason(javaToString(value));
    if (reason) {
      ctx.warnings.push({
        code: WarningCodes.cmdMetacharacters,
        argument: name,
        severity: 'warning',
        message: `Argument '${name}': the connector passes the value to cmd.exe unquoted, and it contains ${reason}.`,
      });
    }
  }
  const line = req.code + connectorDashedSuffix(ctx.args, prefix, is14);
  return basePlan(ctx, { command: line, arguments: [], shell: { ...connectorShell }, newShellPerRun: true });
}

function planConnectorPowerShell(ctx: Ctx): LaunchPlan {
  const { req } = ctx;
  const is14 = req.profile === 'connector-1.4';
  let script: string;
  if (ctx.args.length === 0) {
    script = req.code;
  } else if (req.style === 'variables') {
    // 1.4 skipped arguments without a value; 1.5+ throws on them.
    const passed = is14 ? ctx.args.filter(([, v]) => v !== null) : ctx.args;
    const nullArg = passed.find(([, v]) => v === null);
    if (nullArg) return blockedPlan(ctx, nullArgumentError(ctx, nullArg[0]), connectorShell, true);
    script = connectorVariablesPrefix(ctx, passed, '$') + req.code;
  } else {
    script = req.code + connectorDashedSuffix(ctx.args, STYLE_PREFIX[req.style], is14);
    warnDashedValues(ctx);
  }
  const encoded = encodePowerShellCommand(script);
  const command = `${is14 ? 'powershell -encodedcommand' : 'powershell -EncodedCommand'} ${encoded}`;
  return basePlan(ctx, { command, arguments: [], script, shell: { ...connectorShell }, newShellPerRun: true });
}

/** `<P>name = '<value>'; ` per argument: the connector doubles only the ASCII quote. */
function connectorVariablesPrefix(ctx: Ctx, args: [string, ArgumentValue][], prefix: string): string {
  let s = '';
  for (const [name, value] of args) {
    const text = javaToString(value);
    if (hasTypographicSingleQuote(text)) {
      ctx.warnings.push({
        code: WarningCodes.smartQuoteInVariables,
        argument: name,
        severity: 'warning',
        message:
          `Argument '${name}' contains a typographic quote (‘ ’ ‚ ‛). PowerShell ends single-quoted strings at these too, ` +
          'and the connector does not double them: the value is cut or the script fails to parse.',
      });
    }
    s += `${prefix}${name} = ${connectorSingleQuoted(text)}; `;
  }
  return s;
}

function warnDashedValues(ctx: Ctx): void {
  if (ctx.req.style === 'slashed' && ctx.args.length) {
    ctx.warnings.push({
      code: WarningCodes.slashedNotParameters,
      severity: 'warning',
      message: 'PowerShell does not read "/name" as a parameter: each "/name" arrives as a positional string. The slashed style only suits native programs.',
    });
  }
  for (const [name, value] of ctx.args) {
    const reason = dashedMisparseReason(value);
    if (reason) {
      ctx.warnings.push({
        code: WarningCodes.dashedValueMisparsed,
        argument: name,
        severity: 'warning',
        message: `Argument '${name}': the connector appends the value unquoted and PowerShell will parse it: ${reason}. Use the variables style or the safe profile.`,
      });
      continue;
    }
    const number = typeof value === 'string' ? dashedNumberReason(value) : undefined;
    if (number) ctx.warnings.push({ code: WarningCodes.dashedValueNumber, argument: name, severity: 'warning', message: `Argument '${name}': ${number}.` });
  }
}

// ---------------------------------------------------------------- safe profile

/**
 * Safe PowerShell:
 * - variables: `$name = <literal>; ` then the code; literal is a single-quoted
 *   string (every ' ‘ ’ ‚ ‛ doubled), `@('a','b')` for lists, `$null` for no value.
 * - dashed: the code then ` -name:<literal>` (the colon form: see below); no value gives the bare switch
 *   ` -name`; the values `true`/`false` (any case) give ` -name:$true` / ` -name:$false`
 *   so that [switch] and [bool] parameters work (a [string] parameter then gets
 *   "True"/"False").
 * - slashed: ` /name <literal>` (for native programs called from PowerShell).
 * Runs as `powershell -NoProfile -NonInteractive -EncodedCommand <b64>`; when that
 * would exceed cmd.exe's limit, STDIN_BOOTSTRAP runs instead and the script is
 * sent on stdin as base64 of its UTF-8 bytes (immune to the console code page),
 * then dot-sourced so that it runs in the same scope and `exit N` still sets the
 * exit code.
 */
function planSafePowerShell(ctx: Ctx): LaunchPlan {
  const script = safePowerShellScript(ctx);
  const inline = ['-NoProfile', '-NonInteractive', '-EncodedCommand', encodePowerShellCommand(script)];
  const inlineLength = ['powershell', ...inline].join(' ').length;
  if (inlineLength <= CMD_MAX_COMMAND_LINE) {
    return basePlan(ctx, { command: 'powershell', arguments: inline, script, shell: { ...safeShell }, newShellPerRun: false });
  }
  ctx.warnings.push({
    code: WarningCodes.stdinFallback,
    severity: 'warning',
    message: `The encoded script would make a ${inlineLength}-character command line (cmd.exe allows ${CMD_MAX_COMMAND_LINE}); it is sent on stdin instead.`,
  });
  return basePlan(ctx, {
    command: 'powershell',
    arguments: ['-NoProfile', '-NonInteractive', '-EncodedCommand', encodePowerShellCommand(STDIN_BOOTSTRAP)],
    script,
    stdin: safeStdinPayload(script),
    shell: { ...safeShell },
    newShellPerRun: false,
  });
}

/** What the stdin bootstrap reads: base64 of the script's UTF-8 bytes. */
export function safeStdinPayload(script: string): Buffer {
  return Buffer.from(Buffer.from(script, 'utf8').toString('base64'), 'ascii');
}

function safePowerShellScript(ctx: Ctx): string {
  const { req } = ctx;
  if (req.style === 'variables') {
    return ctx.args.map(([name, value]) => `$${name} = ${psLiteral(value)}; `).join('') + req.code;
  }
  const prefix = STYLE_PREFIX[req.style];
  if (req.style === 'slashed' && ctx.args.length) {
    ctx.warnings.push({
      code: WarningCodes.slashedNotParameters,
      severity: 'warning',
      message: 'PowerShell does not read "/name" as a parameter: it arrives as a positional string. The slashed style only suits native programs.',
    });
  }
  let s = req.code;
  for (const [name, value] of ctx.args) {
    if (value === null) {
      s += ` ${prefix}${name}`;
    } else if (req.style === 'dashed' && typeof value === 'string' && /^(true|false)$/i.test(value)) {
      const bool = value.toLowerCase() === 'true' ? '$true' : '$false';
      s += ` ${prefix}${name}:${bool}`;
      ctx.warnings.push({
        code: WarningCodes.booleanSwitch,
        argument: name,
        severity: 'warning',
        message: `Argument '${name}' = '${value}' is passed as -${name}:${bool} (a boolean), so switch and [bool] parameters work; a [string] parameter receives "${value.toLowerCase() === 'true' ? 'True' : 'False'}".`,
      });
    } else if (req.style === 'dashed') {
      // The colon form binds the value to the parameter directly. With a space, a
      // value '--%' (even quoted) starts PowerShell's stop-parsing mode and the rest
      // of the line would arrive verbatim.
      s += ` ${prefix}${name}:${psLiteral(value)}`;
    } else {
      s += ` ${prefix}${name} ${psLiteral(value)}`;
    }
  }
  return s;
}

/**
 * Safe cmd: ` -name value` (dashed) or ` /name value` (slashed); a value is put in
 * double quotes when it is empty or has spaces, `,;=` or `&|<>^()`; list items
 * become separate tokens; no value gives the bare `-name`. Values with `"`, line
 * breaks or NUL cannot be passed to cmd reliably and are refused; `%` warns
 * (cmd expands %NAME% even inside quotes). The variables style has no cmd meaning.
 */
function planSafeCmd(ctx: Ctx): LaunchPlan {
  const { req } = ctx;
  if (req.style === 'variables') {
    throw new ConfigError('The variables style has no meaning for cmd in the safe profile.', 'Use the dashed or slashed style, or PowerShell.');
  }
  const prefix = STYLE_PREFIX[req.style];
  let line = req.code;
  for (const [name, value] of ctx.args) {
    line += ` ${prefix}${name}`;
    if (value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const quoted = cmdQuoted(item);
      if (quoted === undefined) {
        throw new ConfigError(`Argument '${name}': cmd.exe cannot receive a value with double quotes, line breaks or NUL reliably.`, 'Use PowerShell for such values.');
      }
      if (item.includes('%')) {
        ctx.warnings.push({
          code: WarningCodes.cmdPercent,
          argument: name,
          severity: 'warning',
          message: `Argument '${name}': cmd.exe expands %NAME% even inside quotes; the value changes if such a variable exists.`,
        });
      }
      line += ` ${quoted}`;
    }
  }
  return basePlan(ctx, { command: line, arguments: [], shell: { ...safeShell }, newShellPerRun: false });
}

// ---------------------------------------------------------------- powerhell / exchange

function planPersistent(ctx: Ctx): LaunchPlan {
  const { req } = ctx;
  const kind = req.language as 'powerhell' | 'exchange';
  if (req.profile === 'safe') {
    const script = safePowerShellScript(ctx);
    const loopScript = safeLoopScript(kind);
    return basePlan(ctx, {
      command: 'powershell',
      arguments: ['-NoProfile', '-NonInteractive', '-EncodedCommand', encodePowerShellCommand(loopScript)],
      script,
      shell: { ...safeShell },
      newShellPerRun: false,
      persistent: { kind, protocol: 'safe', loopScript, input: frameSafeScript(script), prompt: POWERHELL_PROMPT },
    });
  }
  if (req.profile === 'connector-1.4') {
    ctx.warnings.push({
      code: WarningCodes.powerhell14Approximated,
      severity: 'warning',
      message: 'Connector 1.4.4+ ran powerhell/exchange with an earlier version of this loop; this preview shows the 1.5 loop.',
    });
  }
  // powerhell 1.1 always uses the variables-form builder, with the style's prefix.
  const prefix = STYLE_PREFIX[req.style];
  if (req.style !== 'variables' && ctx.args.length) {
    const [first] = ctx.args;
    ctx.warnings.push({
      code: WarningCodes.powerhellArgumentBug,
      severity: 'warning',
      message:
        `The ${kind} loop (powerhell 1.1) builds arguments as "${prefix}name = 'value'; " whatever the style, so the ${req.style} style sends ` +
        `"${prefix}${first[0]} = ..." which PowerShell runs as a command and fails. Only the variables style works.`,
    });
  }
  const nullArg = ctx.args.find(([, v]) => v === null);
  if (nullArg) return blockedPlan(ctx, nullArgumentError(ctx, nullArg[0]), connectorShell, false);
  const script = connectorVariablesPrefix(ctx, ctx.args, prefix) + req.code;
  const blanks = blankLineNumbers(script);
  if (blanks.length) {
    ctx.warnings.push({
      code: WarningCodes.powerhellBlankLines,
      severity: 'warning',
      message: `The ${kind} loop reads a script only up to its first blank line (line ${blanks[0]}); the rest is run as separate scripts or lost. Remove blank lines.`,
    });
  }
  if (script.split(/\r?\n/).some((l) => l === POWERHELL_PROMPT || l === `${POWERHELL_PROMPT} exit`)) {
    ctx.warnings.push({ code: WarningCodes.powerhellPromptInScript, severity: 'warning', message: `A script line equal to the loop's marker (${POWERHELL_PROMPT}) ends or stops the loop.` });
  }
  const loopScript = connectorLoopScript(kind === 'exchange' ? EXCHANGE_INIT : undefined);
  return basePlan(ctx, {
    command: `powershell -EncodedCommand ${encodePowerShellCommand(loopScript)}`,
    arguments: [],
    script,
    shell: { ...connectorShell },
    newShellPerRun: false,
    persistent: { kind, protocol: 'connector-1.1', loopScript, input: frameConnectorScript(script), prompt: POWERHELL_PROMPT },
  });
}

// ---------------------------------------------------------------- common

function addCommonWarnings(ctx: Ctx, plan: LaunchPlan): void {
  if (plan.blocked) return;
  const connector = plan.profile !== 'safe';
  if (plan.commandLine.length > CMD_MAX_COMMAND_LINE) {
    ctx.warnings.push({
      code: WarningCodes.commandLineTooLong,
      severity: 'warning',
      message: connector
        ? `The command line is ${plan.commandLine.length} characters; cmd.exe allows ${CMD_MAX_COMMAND_LINE}, so the host refuses it ("The filename or extension is too long") as it would for the connector. The safe profile sends long PowerShell scripts over stdin.`
        : `The command line is ${plan.commandLine.length} characters; cmd.exe allows ${CMD_MAX_COMMAND_LINE}, so the host will refuse it. Shorten it, or use PowerShell.`,
    });
  }
  if (plan.shell.codepage === CONNECTOR_CODEPAGE) {
    const texts = [ctx.req.code, ...ctx.args.flatMap(([, v]) => (v === null ? [] : Array.isArray(v) ? v : [v]))];
    if (!texts.every(isAscii)) {
      ctx.warnings.push({
        code: WarningCodes.nonAsciiCodepage,
        severity: 'warning',
        message:
          'The script or its values contain non-ASCII characters. The connector runs with code page 437 and reads output as UTF-8, ' +
          'so such characters in the output come back garbled (and cmd cannot print those outside code page 437).',
      });
    }
  }
}

/** What the connector (or our safe profile) makes of a finished run. */
export function interpretResult(plan: LaunchPlan, r: RunResult): InterpretedResult {
  const hidden = r.stderr.trim() !== '';
  if (plan.persistent) return interpretPersistent(plan, r);
  if (plan.profile === 'connector-1.4') {
    if (r.exitCode === 0) return { ok: true, connectorWouldShow: { result: asConnectorReads(plan, r.stdout) }, stderrHiddenByConnector: hidden };
    const message = `Script execution failed (status code ${r.exitCode}): ${asConnectorReads(plan, r.stderr)}`;
    return { ok: false, message, connectorWouldShow: { error: message }, stderrHiddenByConnector: false };
  }
  if (r.exitCode === 0) {
    return { ok: true, connectorWouldShow: { result: asConnectorReads(plan, r.stdout) }, stderrHiddenByConnector: hidden };
  }
  const connectorMessage = `Script execution failed: Exit code ${r.exitCode} received during command execution`;
  return {
    ok: false,
    message: plan.profile === 'safe' ? `The script exited with code ${r.exitCode}.` : connectorMessage,
    connectorWouldShow: { error: connectorMessage },
    stderrHiddenByConnector: hidden,
  };
}

function interpretPersistent(plan: LaunchPlan, r: RunResult): InterpretedResult {
  const persistent = plan.persistent!;
  const hidden = r.stderr.trim() !== '';
  const parsed = parseLoopOutput(r.stdout, persistent.prompt);
  if (!parsed) {
    // The loop ended (exit code) before the marker: exit 0 restarts the loop silently.
    if (r.exitCode === 0) return { ok: true, connectorWouldShow: { result: r.stdout }, stderrHiddenByConnector: hidden };
    const explained = explainLoopFailure(persistent.kind, r.exitCode, r.stdout, r.stderr);
    const message = `Exit code received during command execution (exit code ${r.exitCode})`;
    return { ok: false, message: explained ? `${message}. ${explained}` : message, connectorWouldShow: { error: message }, stderrHiddenByConnector: hidden };
  }
  if (parsed.error !== undefined) {
    const explained = explainLoopFailure(persistent.kind, undefined, r.stdout, r.stderr);
    return {
      ok: false,
      message: explained ? `${parsed.error} (${explained})` : parsed.error,
      connectorWouldShow: { error: parsed.error },
      stderrHiddenByConnector: hidden,
    };
  }
  return { ok: true, connectorWouldShow: { result: parsed.result }, stderrHiddenByConnector: hidden };
}

/** The connector decodes output as UTF-8 although the console writes code page 437. */
function asConnectorReads(plan: LaunchPlan, text: string): string {
  if (plan.profile === 'safe' || plan.shell.codepage === SAFE_CODEPAGE || isAscii(text)) return text;
  try {
    return decodeAll(SAFE_CODEPAGE, encodeForCodepage(plan.shell.codepage, text));
  } catch {
    return text;
  }
}

/** A human-readable account of what would be sent: for "Preview Command" and `--preview`. */
export function formatPreview(plan: LaunchPlan): string {
  const lines: string[] = [];
  lines.push(`Profile:   ${PROFILE_TITLES[plan.profile]}`);
  lines.push(`Language:  ${plan.language}    Style: ${plan.style}`);
  if (plan.argumentOrder.length) {
    const how = plan.argumentOrderGiven ? 'in the order given' : "in Java HashMap order, as midPoint delivers them";
    lines.push(`Arguments: ${plan.argumentOrder.join(', ')} (${how})`);
  }
  lines.push(
    `Shell:     WINRS_CODEPAGE=${plan.shell.codepage} WINRS_NOPROFILE=${plan.shell.noProfile ? 'TRUE' : 'FALSE'}, ` +
      (plan.newShellPerRun ? 'a new shell for every run' : 'one shell reused between runs'),
  );
  lines.push(`Command:   WINRS_CONSOLEMODE_STDIN=${plan.consoleModeStdin ? 'TRUE' : 'FALSE'} WINRS_SKIP_CMD_SHELL=${plan.skipCmdShell ? 'TRUE' : 'FALSE'}`);
  if (plan.blocked) {
    lines.push('');
    lines.push(`NOT RUNNABLE: ${plan.blocked}`);
  } else {
    lines.push('');
    lines.push(`Command line (${plan.commandLine.length} characters):`);
    lines.push(plan.commandLine);
    if (plan.persistent) {
      lines.push('');
      lines.push(`Loop script (${plan.persistent.protocol}), started once and kept running:`);
      lines.push(plan.persistent.loopScript.replace(/\r\n/g, '\n').trimEnd());
      lines.push('');
      lines.push(`Sent to the loop on stdin for this run (${plan.persistent.input.length} bytes):`);
      lines.push(plan.persistent.protocol === 'safe' ? '(the script below, base64 of its UTF-8, on one line)' : plan.persistent.input.toString('utf8').replace(/\r\n/g, '\n').trimEnd());
    }
    if (plan.script !== undefined) {
      lines.push('');
      lines.push('Decoded script:');
      lines.push(plan.script);
    }
    if (plan.stdin) {
      lines.push('');
      lines.push(`Stdin: ${plan.stdin.length} bytes (the script as base64 of UTF-8), sent after start with End.`);
    }
  }
  if (plan.warnings.length) {
    lines.push('');
    lines.push('Warnings:');
    for (const w of plan.warnings) lines.push(`  ${w.severity === 'error' ? 'ERROR' : 'warning'} [${w.code}] ${w.message}`);
  }
  return lines.join('\n');
}
