// Text for a run's pseudoterminal: the terminal needs CRLF to start a new line
// at column 0, stderr is shown in red, and Ctrl+C escalates from interrupt to
// terminate.

export const RED = '\x1b[31m';
export const DIM = '\x1b[2m';
export const BOLD = '\x1b[1m';
export const RESET = '\x1b[0m';

/**
 * Converts stream text for the terminal: a LF not preceded by CR becomes CRLF
 * (also when the CR ended the previous chunk), and stderr is wrapped in red.
 */
export class TerminalTextEncoder {
  private lastWasCR: Record<'stdout' | 'stderr', boolean> = { stdout: false, stderr: false };

  encode(stream: 'stdout' | 'stderr', text: string): string {
    if (!text) return '';
    let out = '';
    let previousCR = this.lastWasCR[stream];
    for (const c of text) {
      if (c === '\n' && !previousCR) out += '\r\n';
      else out += c;
      previousCR = c === '\r';
    }
    this.lastWasCR[stream] = previousCR;
    return stream === 'stderr' ? `${RED}${out}${RESET}` : out;
  }
}

/** Plain text (a header, a note) for the terminal: LF → CRLF. */
export function toTerminalLines(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

export type CtrlCAction = 'interrupt' | 'terminate' | 'none';

/**
 * First Ctrl+C: send ctrl_c to the remote command (a script may handle it).
 * Second: terminate the command. After that, or once the run is over: nothing.
 */
export class CtrlCPolicy {
  private presses = 0;
  private finished = false;

  press(): CtrlCAction {
    if (this.finished) return 'none';
    this.presses++;
    if (this.presses === 1) return 'interrupt';
    if (this.presses === 2) return 'terminate';
    return 'none';
  }

  finish(): void {
    this.finished = true;
  }
}

/** The ETX byte a terminal sends for Ctrl+C. */
export const CTRL_C = '\x03';

/** Exit code → the status the terminal reports (negative and huge codes kept within what a process can return). */
export function terminalExitStatus(exitCode: number | undefined): number {
  if (exitCode === undefined || !Number.isFinite(exitCode)) return 1;
  return exitCode;
}
