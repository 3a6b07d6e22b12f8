// The "WinRM Output" channel (language id winrm-output, coloured by
// syntaxes/winrm-output.tmLanguage.json). Text is appended as each chunk
// arrives; a copy of the last part is kept for the test API.
import * as vscode from 'vscode';
import { ChannelWriter } from '../core/format';

export const OUTPUT_CHANNEL_NAME = 'WinRM Output';
export const OUTPUT_LANGUAGE_ID = 'winrm-output';
const KEEP_CHARS = 1_000_000;

export class RunOutputChannel implements vscode.Disposable {
  readonly channel: vscode.OutputChannel;
  readonly writer: ChannelWriter;
  private copy = '';

  constructor() {
    this.channel = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, OUTPUT_LANGUAGE_ID);
    this.writer = new ChannelWriter((text) => {
      this.channel.append(text);
      this.copy += text;
      if (this.copy.length > KEEP_CHARS) this.copy = this.copy.slice(this.copy.length - KEEP_CHARS);
    });
  }

  show(preserveFocus = true): void {
    this.channel.show(preserveFocus);
  }

  text(): string {
    return this.copy;
  }

  dispose(): void {
    this.channel.dispose();
  }
}
