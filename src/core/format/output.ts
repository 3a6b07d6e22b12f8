// The text of the "WinRM Output" channel: a header per run, stdout as is,
// stderr lines marked so the grammar (syntaxes/winrm-output.tmLanguage.json)
// can colour them, and a footer with the exit code and duration. Text is
// produced chunk by chunk as it streams; runs on different hosts that write at
// the same time are told apart by a short marker line when the writer changes.

export const STDERR_PREFIX = '[stderr] ';
export const HEADER_MARK = '▶';
export const FOOTER_MARK = '■';
export const WARNING_MARK = '⚠';
export const SWITCH_MARK = '…';

export interface RunDescription {
  runId: number;
  hostName: string;
  address: string;
  language: string;
  style: string;
  profile: string;
  /** What ran: a file name, "selection of x.ps1", "untitled-1". */
  source: string;
  startedAt: Date;
  arguments?: string;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time as YYYY-MM-DD HH:MM:SS. */
export function formatTimestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

export function formatRunHeader(run: RunDescription, warnings: readonly { severity: string; message: string }[] = []): string {
  const lines = [
    `${HEADER_MARK} Run #${run.runId} on ${run.hostName} (${run.address}) · language ${run.language} · style ${run.style} · profile ${run.profile} · ${formatTimestamp(run.startedAt)}`,
    `${HEADER_MARK} ${run.source}${run.arguments ? ` · ${run.arguments}` : ''}`,
  ];
  for (const w of warnings) lines.push(`${WARNING_MARK} ${w.severity}: ${oneLine(w.message)}`);
  return `${lines.join('\n')}\n`;
}

export type RunOutcome =
  /** stoppedBy: the user interrupted (Ctrl+C) or stopped the run and the command then ended with this exit code. */
  | { kind: 'exit'; exitCode: number; durationMs: number; connectorMessage?: string; detail?: string; stoppedBy?: 'interrupt' | 'stop' }
  | { kind: 'cancelled'; durationMs: number }
  | { kind: 'error'; message: string; durationMs: number };

export function formatRunFooter(runId: number, outcome: RunOutcome): string {
  const took = formatDuration(outcome.durationMs);
  switch (outcome.kind) {
    case 'exit': {
      if (outcome.stoppedBy) {
        // The exit code is the interrupt's doing, not the script's: no "would report" failure for it.
        const word = outcome.stoppedBy === 'interrupt' ? 'interrupted' : 'stopped';
        return `${FOOTER_MARK} Run #${runId} ${word} · exit code ${outcome.exitCode} · ${took}\n`;
      }
      const connector = outcome.connectorMessage ? `\n${FOOTER_MARK} The connector would report: ${oneLine(outcome.connectorMessage)}` : '';
      const detail = outcome.detail ? `\n${FOOTER_MARK} ${oneLine(outcome.detail)}` : '';
      return `${FOOTER_MARK} Run #${runId} exit code ${outcome.exitCode} · ${took}${connector}${detail}\n`;
    }
    case 'cancelled':
      return `${FOOTER_MARK} Run #${runId} stopped · ${took} · the remote command was terminated\n`;
    case 'error':
      return `${FOOTER_MARK} Run #${runId} failed · ${took} · ${oneLine(outcome.message)}\n`;
  }
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ⏎ ');
}

/**
 * One run's stream chunks → channel text: CRLF and lone CR become LF, stderr
 * lines get STDERR_PREFIX at their start, and a line left open by one stream is
 * closed before the other stream writes (so a stderr line never continues a
 * stdout line).
 */
export class RunTextFormatter {
  private atLineStart = true;
  private lastStream: 'stdout' | 'stderr' | undefined;
  private pendingCR = false;

  write(stream: 'stdout' | 'stderr', text: string): string {
    let out = '';
    if (this.lastStream !== undefined && this.lastStream !== stream && !this.atLineStart) {
      out += '\n';
      this.atLineStart = true;
    }
    if (this.lastStream !== stream) this.pendingCR = false;
    this.lastStream = stream;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '\n') {
        if (this.pendingCR) {
          // The CR already ended this line.
          this.pendingCR = false;
          continue;
        }
        out += this.lineStart(stream) + '\n';
        this.atLineStart = true;
        continue;
      }
      this.pendingCR = false;
      if (c === '\r') {
        out += this.lineStart(stream) + '\n';
        this.atLineStart = true;
        this.pendingCR = true;
        continue;
      }
      out += this.lineStart(stream) + c;
      this.atLineStart = false;
    }
    return out;
  }

  /** What closes the run's output: a newline when a line is still open. */
  end(): string {
    const out = this.atLineStart ? '' : '\n';
    this.atLineStart = true;
    return out;
  }

  /** Someone else ended the open line (another run took over the channel). */
  lineBroken(): void {
    this.atLineStart = true;
    this.pendingCR = false;
  }

  get isAtLineStart(): boolean {
    return this.atLineStart;
  }

  private lineStart(stream: 'stdout' | 'stderr'): string {
    if (!this.atLineStart) return '';
    this.atLineStart = false;
    return stream === 'stderr' ? STDERR_PREFIX : '';
  }
}

/**
 * Several runs writing to one channel: each run's text goes through its own
 * formatter, and when another run takes over, an open line is closed and a
 * marker line says whose output follows.
 */
export class ChannelWriter {
  private currentRun: number | undefined;
  private lineOpen = false;
  private readonly formatters = new Map<number, RunTextFormatter>();
  private readonly labels = new Map<number, string>();

  constructor(private readonly append: (text: string) => void) {}

  begin(run: RunDescription, warnings: readonly { severity: string; message: string }[] = []): void {
    this.formatters.set(run.runId, new RunTextFormatter());
    this.labels.set(run.runId, run.hostName);
    this.emit(run.runId, formatRunHeader(run, warnings), true);
  }

  write(runId: number, stream: 'stdout' | 'stderr', text: string): void {
    const f = this.formatters.get(runId);
    if (!f) return;
    this.emit(runId, f.write(stream, text), false);
  }

  /** An extra line for the run (e.g. "interrupt sent"). */
  note(runId: number, text: string): void {
    const f = this.formatters.get(runId);
    this.emit(runId, (f?.end() ?? '') + `${HEADER_MARK} ${oneLine(text)}\n`, false);
  }

  end(runId: number, outcome: RunOutcome): void {
    const f = this.formatters.get(runId);
    const tail = f?.end() ?? '';
    this.emit(runId, tail + formatRunFooter(runId, outcome), false);
    this.formatters.delete(runId);
    this.labels.delete(runId);
    if (this.currentRun === runId) this.currentRun = undefined;
  }

  private emit(runId: number, text: string, isHeader: boolean): void {
    if (!text) return;
    let out = '';
    if (this.currentRun !== runId) {
      if (this.lineOpen) {
        out += '\n';
        // The other run's open line was closed for it: its next text starts a line (and gets its stderr mark again).
        if (this.currentRun !== undefined) this.formatters.get(this.currentRun)?.lineBroken();
      }
      // A run's header names it; any other change of writer needs a marker.
      if (!isHeader) out += `${SWITCH_MARK} run #${runId} (${this.labels.get(runId) ?? '?'}) continues\n`;
      this.currentRun = runId;
    }
    out += text;
    this.lineOpen = !out.endsWith('\n');
    this.append(out);
  }
}
