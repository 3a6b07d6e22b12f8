// Types shared by the launch planner and its callers (CLI, extension, runner).

export type Language = 'cmd' | 'powershell' | 'powerhell' | 'exchange';
export type ArgumentStyle = 'dashed' | 'variables' | 'slashed';
export type ProfileName = 'safe' | 'connector-1.5' | 'connector-1.4';
/** A string, no value (`null`), or a multi-valued argument. */
export type ArgumentValue = string | null | string[];

export interface ScriptArgument {
  name: string;
  value: ArgumentValue;
}

export interface LaunchRequest {
  language: Language;
  code: string;
  args: ScriptArgument[];
  style: ArgumentStyle;
  profile: ProfileName;
  /** Safe profile only: pass arguments in the given order instead of midPoint's HashMap order. */
  keepArgumentOrder?: boolean;
}

export interface LaunchWarning {
  /** Stable identifier (see WarningCodes). */
  code: string;
  message: string;
  argument?: string;
  /** 'error': the connector would fail (or we refuse); the plan must not be run. */
  severity: 'warning' | 'error';
}

/** For powerhell/exchange: a long-running PowerShell loop fed over stdin. */
export interface PersistentLaunch {
  kind: 'powerhell' | 'exchange';
  /** 'connector-1.1': the powerhell 1.1 loop byte for byte; 'safe': our base64-framed loop. */
  protocol: 'connector-1.1' | 'safe';
  /** The loop script that `command` starts (decoded). */
  loopScript: string;
  /** What to send to the running loop for this script (without End). */
  input: Buffer;
  /** The marker line that ends each script's output. */
  prompt: string;
}

export interface LaunchPlan {
  /** rsp:Command and rsp:Arguments of the WinRS Command. */
  command: string;
  arguments: string[];
  /** What cmd.exe sees (command and arguments joined by spaces): for preview and length checks. */
  commandLine: string;
  skipCmdShell: boolean;
  consoleModeStdin: boolean;
  /** Sent after the command starts, with End: the safe profile's long-script fallback. */
  stdin?: Buffer;
  /** The PowerShell script text as it will run (decoded), for preview. */
  script?: string;
  /** WINRS_CODEPAGE / WINRS_NOPROFILE. */
  shell: { codepage: number; noProfile: boolean };
  /** Connector profiles: a new shell for every run; safe: one reused shell. */
  newShellPerRun: boolean;
  warnings: LaunchWarning[];
  profile: ProfileName;
  language: Language;
  style: ArgumentStyle;
  /** Argument names in the order they were passed (HashMap order unless keepArgumentOrder). */
  argumentOrder: string[];
  /** True when keepArgumentOrder was used (safe profile). */
  argumentOrderGiven?: boolean;
  /**
   * Set when the connector could not run this at all (e.g. a null argument in the
   * variables style throws a NullPointerException in the connector). `command` is
   * then empty: there is nothing to run.
   */
  blocked?: string;
  /** Only for powerhell/exchange. */
  persistent?: PersistentLaunch;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface InterpretedResult {
  ok: boolean;
  message?: string;
  /** What midPoint would get from the connector: the result text, or the error message. */
  connectorWouldShow: { result?: string; error?: string };
  /** True when stderr had text that the connector drops (only its trace log sees it). */
  stderrHiddenByConnector: boolean;
}

/** Stable warning codes; messages may change, these do not. */
export const WarningCodes = {
  dashedValueMisparsed: 'dashed-value-misparsed',
  dashedValueNumber: 'dashed-value-number',
  slashedNotParameters: 'slashed-not-parameters',
  nullInVariables: 'null-in-variables',
  commandLineTooLong: 'command-line-too-long',
  stdinFallback: 'stdin-fallback',
  nonAsciiCodepage: 'non-ascii-codepage-437',
  smartQuoteInVariables: 'smart-quote-in-variables',
  cmdDollarPrefix: 'cmd-dollar-prefix',
  cmdMetacharacters: 'cmd-metacharacters',
  cmdPercent: 'cmd-percent',
  cmdAlwaysDashed: 'cmd-always-dashed',
  duplicateArgument: 'duplicate-argument',
  booleanSwitch: 'boolean-switch',
  powerhellBlankLines: 'powerhell-blank-lines',
  powerhellArgumentBug: 'powerhell-argument-bug',
  powerhellPromptInScript: 'powerhell-prompt-in-script',
  powerhell14Approximated: 'powerhell-1.4-approximated',
} as const;
