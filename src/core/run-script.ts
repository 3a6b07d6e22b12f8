// Runs a launch plan (what launch/ decided to send) on a session and yields
// decoded text per stream: code page decoding that never splits a character,
// and PowerShell's CLIXML error records turned into readable text.
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
  readonly exitCode: Promise<number>;
  interrupt(): Promise<void>;
  cancel(): void;
}

export function runScript(session: WinrmSession, plan: RunnablePlan, options: ScriptRunOptions = {}): ScriptRun {
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
