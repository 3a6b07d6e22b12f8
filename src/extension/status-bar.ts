// The status bar item: the default host (click to switch), or a spinner while
// runs are in flight (click to stop). Also the Select Default Host command.
import * as vscode from 'vscode';
import { describeAddress } from '../core/hosts';
import type { HostStore } from './host-store';
import type { Runner } from './runner';
import type { RunCommands } from './run-commands';

export const DEFAULT_HOST_PLACEHOLDER = 'Default host for runs';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly store: HostStore, private readonly runner: Runner, private readonly commands: RunCommands) {
    this.item = vscode.window.createStatusBarItem('winrm.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'WinRM';
    this.disposables.push(
      this.item,
      store.registry.onDidChange(() => this.update()),
      runner.onDidChange(() => this.update()),
      vscode.commands.registerCommand('winrm.selectDefaultHost', () => this.selectDefault()),
    );
    this.update();
  }

  private update(): void {
    const running = this.runner.activeRuns;
    // Context keys for menus and keybindings (Stop, Re-run Last).
    void vscode.commands.executeCommand('setContext', 'winrm.running', running.length > 0);
    void vscode.commands.executeCommand('setContext', 'winrm.hasLastRun', this.runner.lastRun !== undefined);
    if (running.length) {
      const first = running[0];
      this.item.text = running.length === 1 ? `$(sync~spin) ${first.hostName} #${first.id}` : `$(sync~spin) ${running.length} WinRM runs`;
      this.item.tooltip = `${running.map((r) => `#${r.id} on ${r.hostName}: ${r.source}`).join('\n')}\nClick to stop.`;
      this.item.command = 'winrm.stop';
      this.item.show();
      return;
    }
    const host = this.store.registry.defaultHost();
    this.item.text = host ? `$(remote-explorer) ${host.name}` : '$(remote-explorer) No WinRM host';
    this.item.tooltip = host ? `Default WinRM host: ${host.name} (${describeAddress(host.url)}). Click to switch.` : 'Click to choose or add a WinRM host.';
    this.item.command = 'winrm.selectDefaultHost';
    this.item.show();
  }

  private async selectDefault(): Promise<void> {
    const host = await this.commands.pickHost(DEFAULT_HOST_PLACEHOLDER);
    if (host) await this.store.registry.setDefault(host.id);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
