// Passwords and the confirmations a run needs before it may send them:
// SecretStorage first, else a prompt with the choice to remember; Basic over
// plain HTTP once per host; a warning for hosts that skip certificate checks.
import * as vscode from 'vscode';
import { needsBasicOverHttpConfirmation, type HostEntry } from '../core/hosts';
import type { HostRegistry } from '../core/hosts';
import type { KnownSecrets } from './log';

export const PASSWORD_PROMPT_TITLE = 'WinRM Password';
export const REMEMBER_PLACEHOLDER = 'Remember this password?';
export const REMEMBER_CHOICES = { remember: 'Remember in the OS keychain (VS Code secret storage)', session: 'Use it until VS Code closes' } as const;
export const BASIC_HTTP_CONFIRM = 'Send Password over HTTP';

export class Credentials {
  /** Passwords entered but not remembered: kept in memory for this window only. */
  private readonly sessionOnly = new Map<string, string>();

  constructor(private readonly registry: HostRegistry, private readonly known: KnownSecrets) {}

  /** The host's password: secret storage, this window's memory, or a prompt. undefined when the user cancels. */
  async password(host: HostEntry, reason?: string): Promise<string | undefined> {
    const stored = this.sessionOnly.get(host.id) ?? (await this.registry.getPassword(host.id));
    if (stored !== undefined) {
      this.known.set(host.id, stored);
      return stored;
    }
    return this.prompt(host, reason);
  }

  /** Ask for the password and offer to remember it. */
  async prompt(host: HostEntry, reason?: string): Promise<string | undefined> {
    const entered = await vscode.window.showInputBox({
      title: `${PASSWORD_PROMPT_TITLE}: ${host.name}`,
      prompt: `${reason ? `${reason} ` : ''}Password of ${host.user} on ${host.name}.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v ? undefined : 'The password cannot be empty.'),
    });
    if (entered === undefined) return undefined;
    this.known.set(host.id, entered);
    const choice = await vscode.window.showQuickPick([REMEMBER_CHOICES.remember, REMEMBER_CHOICES.session], {
      title: `${PASSWORD_PROMPT_TITLE}: ${host.name}`,
      placeHolder: REMEMBER_PLACEHOLDER,
      ignoreFocusOut: true,
    });
    if (choice === REMEMBER_CHOICES.remember) {
      await this.registry.storePassword(host.id, entered);
      this.sessionOnly.delete(host.id);
    } else {
      this.sessionOnly.set(host.id, entered);
    }
    return entered;
  }

  /** Store a password given in the Add/Edit wizard. */
  async save(hostId: string, password: string): Promise<void> {
    this.known.set(hostId, password);
    this.sessionOnly.delete(hostId);
    await this.registry.storePassword(hostId, password);
  }

  /** Forget it everywhere (wrong password, host removed, user asked). */
  async forget(hostId: string): Promise<void> {
    this.sessionOnly.delete(hostId);
    await this.registry.forgetPassword(hostId);
  }

  /** Basic over HTTP: ask once per host; false when the user declines. */
  async confirmTransport(host: HostEntry): Promise<boolean> {
    if (!needsBasicOverHttpConfirmation(host) || this.registry.isBasicOverHttpConfirmed(host.id)) return true;
    const answer = await vscode.window.showWarningMessage(
      `"${host.name}" uses Basic authentication over plain HTTP: the password travels base64-encoded, readable by anyone on the network path.`,
      { modal: true, detail: 'Prefer HTTPS (port 5986). The host must also allow unencrypted traffic (AllowUnencrypted=true). You are asked once per host.' },
      BASIC_HTTP_CONFIRM,
    );
    if (answer !== BASIC_HTTP_CONFIRM) return false;
    await this.registry.setBasicOverHttpConfirmed(host.id, true);
    return true;
  }
}
