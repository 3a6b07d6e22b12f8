// "WinRM: Reset Session": ends the powerhell/exchange loops kept for a host, so
// the next run starts a new loop without earlier variables. The context key
// winrm.hasLoops shows it in the palette; hosts with a loop carry ".loops" in
// their tree item's context value.
import * as vscode from 'vscode';
import type { HostEntry } from '../core/hosts';
import type { HostStore } from './host-store';
import { hostFrom } from './run-commands';
import type { Runner } from './runner';

export const RESET_PICK_PLACEHOLDER = 'Reset the PowerShell session of which host?';
export const HAS_LOOPS_CONTEXT = 'winrm.hasLoops';
export const STOP_RUN_ACTION = 'Stop Run';

export class ResetSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private hasLoops: boolean | undefined;

  constructor(private readonly store: HostStore, private readonly runner: Runner) {
    this.disposables.push(
      vscode.commands.registerCommand('winrm.resetSession', (arg) => this.reset(arg)),
      runner.onDidChange(() => this.update()),
    );
    this.update();
  }

  private update(): void {
    const has = this.runner.hostsWithLoops().size > 0;
    if (has === this.hasLoops) return;
    this.hasLoops = has;
    void vscode.commands.executeCommand('setContext', HAS_LOOPS_CONTEXT, has);
  }

  /** The host from the tree item or argument; else the one host with loops; else a pick among them. */
  private async chooseHost(arg: unknown): Promise<HostEntry | undefined> {
    const given = hostFrom(arg, this.store);
    if (given) return given;
    const withLoops = this.runner.hostsWithLoops();
    const hosts = this.store.registry.all().filter((h) => withLoops.has(h.id));
    if (hosts.length === 0) {
      void vscode.window.showInformationMessage('No powerhell or exchange loop is running: there is no session to reset.');
      return undefined;
    }
    if (hosts.length === 1) return hosts[0];
    const picked = await vscode.window.showQuickPick(hosts.map((h) => ({ label: h.name, description: loopSummary(this.runner, h.id), id: h.id })), { placeHolder: RESET_PICK_PLACEHOLDER });
    return picked ? this.store.registry.get(picked.id) : undefined;
  }

  async reset(arg?: unknown): Promise<number | undefined> {
    const host = await this.chooseHost(arg);
    if (!host) return undefined;
    const result = await this.runner.resetSession(host.id);
    if ('busy' in result) {
      const run = result.busy[0];
      const choice = await vscode.window.showWarningMessage(`${run ? `Run #${run.id}` : 'A run'} is using the session of "${host.name}"; stop it or let it finish, then reset.`, STOP_RUN_ACTION);
      if (choice === STOP_RUN_ACTION && run) void vscode.commands.executeCommand('winrm.stop', run.id);
      return undefined;
    }
    if (result.reset === 0) {
      void vscode.window.showInformationMessage(`No PowerShell loop was running on "${host.name}"; the next powerhell or exchange run starts a new one.`);
    } else {
      void vscode.window.showInformationMessage(`Reset Session on "${host.name}": ${result.reset} PowerShell loop(s) ended. The next powerhell or exchange run starts a new loop; earlier variables are gone.`);
    }
    this.update();
    return result.reset;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function loopSummary(runner: Runner, hostId: string): string {
  return runner.loops().filter((l) => l.hostId === hostId && l.state !== 'stopped').map((l) => `${l.language} (${l.profile ?? 'safe'})`).join(', ');
}
