// Runs a launch plan (what launch/ decided to send) on a session and yields
// decoded text per stream: code page decoding that never splits a character,
// and PowerShell's CLIXML error records turned into readable text.
// Persistent plans (powerhell, exchange) run in the session's PowerShell loop
// (launch/powerhell-session.ts); blocked plans are refused before anything is sent.
import { ConfigError } from './errors';
import { persistentLoopFor, type PersistentScriptResult } from './launch/powerhell-session';
import type { PersistentLaunch } from './launch/types';
import type { WinrmSession, CommandRun } from './session';
import { createClixmlConverter, createStreamDecoder } from './text';
import type { Control, StreamName } from './winrs/shell';

/** The part of a LaunchPlan that running needs. */
export interface RunnablePlan {
  command: string;
  arguments: string[];
  skipCmdShell: boolean;
  consoleModeStdin: boolean;
  stdin?: Buffer;
  shell: { codepage: number; noProfile: boolean };
  newShellPerRun: boolean;
  /** Set when the connector could not run this at all: runScript throws a ConfigError with it. */
  blocked?: string;
  /** powerhell/exchange: run in the session's loop for this language and profile. */
  persistent?: PersistentLaunch;
  profile?: string;
}

export interface TextChunk {
  stream: StreamName;
  text: string;
}

export interface ScriptRunOptions extends Control {
  /** Turn `#< CLIXML` stderr into plain text (default true). */
  decodeClixml?: boolean;
  /** Called with every raw chunk as it arrives (byte counts, tee to a file...). */
  onBytes?: (stream: StreamName, bytes: Buffer) => void;
}

export interface ScriptRun extends AsyncIterable<TextChunk> {
  /**
   * The remote exit code. For a persistent plan (see PersistentScriptResult): 0 when
   * the script succeeded (or called `exit`), 1 when it reported an error after the
   * loop's marker, the loop's own code when the loop ended with a non-zero code.
   */
  readonly exitCode: Promise<number>;
  /**
   * Persistent plans only: how the run ended, with the connector's error message.
   * The streamed stdout is the script's result without the marker line, so use this
   * (not interpretResult on the streamed text) for the verdict.
   */
  readonly persistent?: Promise<PersistentScriptResult>;
  interrupt(): Promise<void>;
  cancel(): void;
}

export { closePersistentSessions, persistentLoopFor, persistentLoops, resetPersistentSessions, type PersistentScriptResult } from './launch/powerhell-session';

export function runScript(session: WinrmSession, plan: RunnablePlan, options: ScriptRunOptions = {}): ScriptRun {
  if (plan.blocked !== undefined) {
    throw new ConfigError(plan.blocked, 'Nothing was run. Change the arguments, the style or the profile; a preview shows what would be sent.');
  }
  if (plan.persistent) return persistentLoopFor(session, plan).run(plan, options);
  const run: CommandRun = session.run(plan.command, plan.arguments, {
    shell: { codepage: plan.shell.codepage, noProfile: plan.shell.noProfile },
    reuseShell: !plan.newShellPerRun,
    skipCmdShell: plan.skipCmdShell,
    consoleModeStdin: plan.consoleModeStdin,
    stdin: plan.stdin,
    signal: options.signal,
    deadline: options.deadline,
  });
  return {
    exitCode: run.exitCode,
    interrupt: () => run.interrupt(),
    cancel: () => run.cancel(),
    [Symbol.asyncIterator]: () => decodeRun(run, plan.shell.codepage, options),
  };
}

async function* decodeRun(run: CommandRun, codepage: number, options: ScriptRunOptions): AsyncGenerator<TextChunk, void, void> {
  const decoders = { stdout: createStreamDecoder(codepage), stderr: createStreamDecoder(codepage) };
  const clixml = options.decodeClixml === false ? undefined : createClixmlConverter();
  for await (const chunk of run) {
    options.onBytes?.(chunk.stream, chunk.bytes);
    let text = decoders[chunk.stream].write(chunk.bytes);
    if (chunk.stream === 'stderr' && clixml) text = clixml.write(text);
    if (text) yield { stream: chunk.stream, text };
  }
  const tailOut = decoders.stdout.end();
  if (tailOut) yield { stream: 'stdout', text: tailOut };
  let tailErr = decoders.stderr.end();
  if (clixml) tailErr = clixml.write(tailErr) + clixml.end();
  if (tailErr) yield { stream: 'stderr', text: tailErr };
}
