// The "WinRM" log channel. Everything written here passes through the scrubber
// with every password the extension currently knows, and the transport's trace
// (the SOAP exchange) is written only at trace level.
import * as vscode from 'vscode';
import { formatTraceEvent, scrub } from '../core/format';
import type { TraceSink } from '../core/transport/http';

/** Passwords the extension holds in memory right now: the scrubber's list. */
export class KnownSecrets {
  private readonly values = new Map<string, string>();
  set(hostId: string, password: string): void {
    this.values.set(hostId, password);
  }
  delete(hostId: string): void {
    this.values.delete(hostId);
  }
  list(): string[] {
    return [...new Set(this.values.values())];
  }
}

const KEEP_LINES = 2000;

export class Log implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  /** The last lines as written (already scrubbed), for the test API. */
  private readonly recent: string[] = [];

  constructor(private readonly secrets: KnownSecrets) {
    this.channel = vscode.window.createOutputChannel('WinRM', { log: true });
  }

  private keep(level: string, text: string): string {
    const clean = scrub(text, this.secrets.list());
    this.recent.push(`[${level}] ${clean}`);
    if (this.recent.length > KEEP_LINES) this.recent.splice(0, this.recent.length - KEEP_LINES);
    return clean;
  }

  info(text: string): void {
    this.channel.info(this.keep('info', text));
  }
  warn(text: string): void {
    this.channel.warn(this.keep('warn', text));
  }
  error(text: string): void {
    this.channel.error(this.keep('error', text));
  }
  debug(text: string): void {
    this.channel.debug(this.keep('debug', text));
  }

  /** A trace sink for a session; formatting is skipped unless the channel is at trace level. */
  traceSink(extraSecrets: () => readonly string[] = () => []): TraceSink {
    return (event) => {
      if (this.channel.logLevel !== vscode.LogLevel.Trace) return;
      const text = formatTraceEvent(event, [...this.secrets.list(), ...extraSecrets()]);
      this.channel.trace(this.keep('trace', text));
    };
  }

  text(): string {
    return this.recent.join('\n');
  }

  dispose(): void {
    this.channel.dispose();
  }
}
