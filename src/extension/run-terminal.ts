// A terminal per run, through a Pseudoterminal: stdout as is, stderr red,
// newlines made CRLF, text written before the terminal opened replayed on open.
// Ctrl+C interrupts, a second Ctrl+C terminates; closing the terminal while the
// run is in flight cancels it (the runner then deletes the shell). When the run
// ends the terminal stays open showing the exit code; the next key closes it
// and reports the exit code as the terminal's exit status.
import * as vscode from 'vscode';
import { BOLD, CTRL_C, CtrlCPolicy, DIM, RESET, TerminalTextEncoder, terminalExitStatus, toTerminalLines } from '../core/format';

export interface TerminalControls {
  interrupt(): void;
  terminate(): void;
  /** The terminal was closed by the user. */
  closed(): void;
}

export class RunTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private readonly encoder = new TerminalTextEncoder();
  private readonly ctrlC = new CtrlCPolicy();
  private opened = false;
  private pending: string[] = [];
  private exitStatus: number | undefined;
  private finished = false;
  private closedByUser = false;
  /** Every byte written, for the test API. */
  private transcript = '';
  readonly terminal: vscode.Terminal;

  constructor(name: string, private readonly controls: TerminalControls) {
    this.terminal = vscode.window.createTerminal({ name, pty: this, iconPath: new vscode.ThemeIcon('remote-explorer') });
  }

  open(): void {
    this.opened = true;
    for (const text of this.pending) this.writeEmitter.fire(text);
    this.pending = [];
  }

  close(): void {
    this.closedByUser = true;
    if (!this.finished) this.controls.closed();
  }

  handleInput(data: string): void {
    if (this.finished) {
      // Any key closes a finished run's terminal, reporting the exit code; a late
      // Ctrl+C (meant for the run that just ended) does not.
      if (!data.includes(CTRL_C)) this.closeEmitter.fire(this.exitStatus ?? 0);
      return;
    }
    if (!data.includes(CTRL_C)) return; // the remote command has no interactive stdin here
    const action = this.ctrlC.press();
    if (action === 'interrupt') {
      this.note('^C — interrupt sent to the remote command (Ctrl+C again to terminate it)');
      this.controls.interrupt();
    } else if (action === 'terminate') {
      this.note('^C — terminating the remote command');
      this.controls.terminate();
    }
  }

  private emit(text: string): void {
    if (!text) return;
    this.transcript += text;
    if (this.opened) this.writeEmitter.fire(text);
    else this.pending.push(text);
  }

  write(stream: 'stdout' | 'stderr', text: string): void {
    this.emit(this.encoder.encode(stream, text));
  }

  header(text: string): void {
    this.emit(`${DIM}${toTerminalLines(text)}${RESET}`);
  }

  note(text: string): void {
    this.emit(`\r\n${DIM}${toTerminalLines(text)}${RESET}\r\n`);
  }

  /** The run is over: show its result and keep the terminal until a key is pressed. */
  finish(summary: string, exitCode: number | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.ctrlC.finish();
    this.exitStatus = terminalExitStatus(exitCode);
    this.emit(`\r\n${BOLD}${toTerminalLines(summary.trimEnd())}${RESET}\r\n${DIM}Press any key to close the terminal.${RESET}\r\n`);
    if (this.closedByUser) this.closeEmitter.fire(this.exitStatus);
  }

  show(preserveFocus = true): void {
    this.terminal.show(preserveFocus);
  }

  text(): string {
    return this.transcript;
  }

  dispose(): void {
    this.terminal.dispose();
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }
}
