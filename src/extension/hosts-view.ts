// The Hosts tree in the WinRM view container, and the host commands: Add,
// Edit, Duplicate, Remove, Set as Default, Test Connection, Copy Address,
// Forget Password, Refresh.
import * as vscode from 'vscode';
import { describeAddress, describeAuth, describeEncryption, hostCredSsp, sessionOptionsFor, testConnection, type HostEntry } from '../core/hosts';
import type { Credentials } from './credentials';
import { hostWizard } from './host-wizard';
import type { HostStore } from './host-store';
import type { Runner } from './runner';
import { WORKSPACE_HOSTS_FILE } from './host-store';

export const HOSTS_VIEW_ID = 'winrm.hosts';
export const REMOVE_CONFIRM = 'Remove';
export const REENTER_PASSWORD = 'Re-enter Password';
export const EDIT_HOST = 'Edit Host';
/** Diagnosis titles whose fix is in the host's settings. */
const SETTINGS_CAUSES = ['The host refuses unencrypted traffic', 'The host refused message encryption', 'CredSSP needs a domain'];

export interface HostTreeItem {
  kind: 'host';
  hostId: string;
}
interface NoticeItem {
  kind: 'untrusted';
  count: number;
}
type Node = HostTreeItem | NoticeItem;

export class HostsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly testing = new Set<string>();
  private loopHosts = new Set<string>();

  constructor(private readonly store: HostStore, private readonly credentials: Credentials, private readonly runner: Runner) {
    const reg = (id: string, fn: (...args: unknown[]) => unknown) => this.disposables.push(vscode.commands.registerCommand(id, fn));
    this.disposables.push(
      vscode.window.registerTreeDataProvider(HOSTS_VIEW_ID, this),
      this.store.registry.onDidChange(() => this.changed.fire(undefined)),
      // Runs start and end PowerShell loops: the ".loops" context value enables Reset Session.
      this.runner.onDidChange(() => this.refreshLoops()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire(undefined)),
      this.changed,
    );
    reg('winrm.hosts.add', () => this.add());
    reg('winrm.hosts.edit', (n) => this.edit(n));
    reg('winrm.hosts.duplicate', (n) => this.duplicate(n));
    reg('winrm.hosts.remove', (n) => this.remove(n));
    reg('winrm.hosts.setDefault', (n) => this.setDefault(n));
    reg('winrm.hosts.testConnection', (n) => this.test(n));
    reg('winrm.hosts.copyAddress', (n) => this.copyAddress(n));
    reg('winrm.hosts.forgetPassword', (n) => this.forgetPassword(n));
    reg('winrm.hosts.refresh', () => this.refresh());
    reg('winrm.hosts.openWorkspaceFile', (n) => this.openWorkspaceFile(n));
  }

  private refreshLoops(): void {
    const now = this.runner.hostsWithLoops();
    if (now.size === this.loopHosts.size && [...now].every((id) => this.loopHosts.has(id))) return;
    this.loopHosts = now;
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (node) return [];
    const nodes: Node[] = this.store.registry.all().map((h) => ({ kind: 'host', hostId: h.id }));
    const hidden = this.store.registry.untrustedWorkspaceHostCount;
    // Only with other hosts: an empty tree shows the welcome view instead.
    if (hidden && nodes.length) nodes.push({ kind: 'untrusted', count: hidden });
    return nodes;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'untrusted') {
      const item = new vscode.TreeItem(`${node.count} team host(s) hidden`);
      item.description = 'trust the workspace to use them';
      item.iconPath = new vscode.ThemeIcon('shield');
      item.command = { command: 'workbench.trust.manage', title: 'Manage Workspace Trust' };
      return item;
    }
    const host = this.store.registry.get(node.hostId);
    if (!host) return new vscode.TreeItem('(removed)');
    const isDefault = this.store.registry.defaultHostId() === host.id;
    const item = new vscode.TreeItem(host.name);
    item.id = host.id;
    const loops = this.loopHosts.has(host.id);
    item.description = `${describeAddress(host.url)} · ${describeAuth(host)}${isDefault ? ' · default' : ''}${host.source === 'workspace' ? ' · team' : ''}${loops ? ' · loop' : ''}`;
    item.iconPath = new vscode.ThemeIcon(this.testing.has(host.id) ? 'loading~spin' : isDefault ? 'star-full' : host.source === 'workspace' ? 'organization' : 'vm');
    // ".default" stays last: menus test it with /\.default$/.
    item.contextValue = `host.${host.source}${loops ? '.loops' : ''}${isDefault ? '.default' : ''}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**${escapeMd(host.name)}**${isDefault ? ' (default)' : ''}\n\n`);
    const encryption = describeEncryption(host);
    tooltip.appendMarkdown(`- Address: \`${host.url}\`\n- Authentication: ${host.auth}${encryption ? `\n- Message encryption: ${encryption}` : ''}\n- User: \`${host.user}\`${host.domain ? `\n- Domain: \`${host.domain}\`` : ''}\n`);
    if (loops) tooltip.appendMarkdown('- A powerhell/exchange loop is kept (its variables persist); **Reset Session** ends it\n');
    tooltip.appendMarkdown(`- Style: ${host.style} · Profile: ${host.profile}${host.codepage ? ` · Code page ${host.codepage}` : ''}\n`);
    if (host.tls?.caFile) tooltip.appendMarkdown(`- CA file: \`${host.tls.caFile}\`\n`);
    if (host.tls?.serverName) tooltip.appendMarkdown(`- Certificate name: \`${host.tls.serverName}\`\n`);
    if (host.tls?.insecureSkipVerify) tooltip.appendMarkdown('- $(warning) Certificate verification is **off**\n');
    const credssp = hostCredSsp(host);
    if (credssp?.rawNtlm) tooltip.appendMarkdown('- CredSSP: raw NTLM (not SPNEGO)\n');
    if (credssp?.allowOldVersions) tooltip.appendMarkdown('- $(warning) CredSSP versions 2-4 **allowed** (no CVE-2018-0886 fix: a man in the middle can take the delegated password)\n');
    if (host.source === 'workspace') tooltip.appendMarkdown(`\nFrom \`${WORKSPACE_HOSTS_FILE}\`.`);
    item.tooltip = tooltip;
    return item;
  }

  refresh(): Promise<void> {
    return this.store.reloadWorkspaceHosts().then(() => this.changed.fire(undefined));
  }

  private host(node: unknown): HostEntry | undefined {
    if (node && typeof node === 'object' && typeof (node as HostTreeItem).hostId === 'string') return this.store.registry.get((node as HostTreeItem).hostId);
    if (typeof node === 'string') return this.store.registry.get(node);
    return undefined;
  }

  /** A host from the tree item, else the user picks one. */
  private async resolve(node: unknown, placeholder: string, filter: (h: HostEntry) => boolean = () => true): Promise<HostEntry | undefined> {
    const direct = this.host(node);
    if (direct) return direct;
    const hosts = this.store.registry.all().filter(filter);
    if (hosts.length === 0) {
      void vscode.window.showInformationMessage('No matching WinRM host.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(hosts.map((h) => ({ label: h.name, description: describeAddress(h.url), id: h.id })), { placeHolder: placeholder });
    return picked ? this.store.registry.get(picked.id) : undefined;
  }

  async add(): Promise<HostEntry | undefined> {
    const result = await hostWizard({ hosts: this.store.registry.all() });
    if (!result) return undefined;
    const host = await this.store.registry.add(result.draft);
    if (result.password !== undefined) await this.credentials.save(host.id, result.password);
    void vscode.window.showInformationMessage(`Host "${host.name}" added.`, 'Test Connection').then((c) => c && this.test({ kind: 'host', hostId: host.id }));
    return this.store.registry.get(host.id);
  }

  async edit(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Edit which host?');
    if (!host) return;
    if (host.source === 'workspace') return this.openWorkspaceFile(host.id);
    const result = await hostWizard({ hosts: this.store.registry.all(), editing: host });
    if (!result) return;
    await this.store.registry.update({ ...result.draft, id: host.id });
    if (result.password !== undefined) await this.credentials.save(host.id, result.password);
    await this.runner.forgetHost(host.id);
  }

  async duplicate(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Duplicate which host?');
    if (!host) return;
    const copy = await this.store.registry.duplicate(host.id);
    // A team host's relative CA file is relative to its folder; the copy is a user host, which has none.
    const ca = this.store.caFileUri(host);
    if (copy.tls?.caFile && ca && ca.fsPath !== copy.tls.caFile) await this.store.registry.update({ ...copy, tls: { ...copy.tls, caFile: ca.fsPath } });
    void vscode.window.showInformationMessage(`Host "${copy.name}" added as a copy of "${host.name}".`);
  }

  async remove(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Remove which host?', (h) => h.source === 'user');
    if (!host) return;
    if (host.source === 'workspace') {
      void vscode.window.showInformationMessage(`"${host.name}" comes from ${WORKSPACE_HOSTS_FILE}; edit that file to remove it.`);
      return;
    }
    const sure = await vscode.window.showWarningMessage(`Remove host "${host.name}"?`, { modal: true, detail: 'Its settings and its saved password are deleted.' }, REMOVE_CONFIRM);
    if (sure !== REMOVE_CONFIRM) return;
    await this.runner.forgetHost(host.id);
    await this.credentials.forget(host.id);
    await this.store.registry.remove(host.id);
  }

  async setDefault(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Default host');
    if (host) await this.store.registry.setDefault(host.id);
  }

  async copyAddress(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Copy the address of which host?');
    if (!host) return;
    await vscode.env.clipboard.writeText(host.url);
    vscode.window.setStatusBarMessage(`Copied ${host.url}`, 3000);
  }

  async forgetPassword(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Forget the password of which host?');
    if (!host) return;
    await this.credentials.forget(host.id);
    await this.runner.forgetHost(host.id);
    void vscode.window.showInformationMessage(`The saved password of "${host.name}" was deleted.`);
  }

  /** Runs `hostname` on the host and reports the answer or a diagnosis. */
  async test(node: unknown): Promise<void> {
    const host = await this.resolve(node, 'Test the connection to which host?');
    if (!host) return;
    if (!(await this.credentials.confirmTransport(host))) return;
    const password = await this.credentials.password(host);
    if (password === undefined) return;
    let caPem: string | undefined;
    try {
      caPem = await this.store.readCaPem(host);
    } catch (err) {
      void vscode.window.showErrorMessage((err as Error).message);
      return;
    }
    this.testing.add(host.id);
    this.changed.fire(undefined);
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Testing the connection to ${host.name}…`, cancellable: true },
        (_progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return testConnection(sessionOptionsFor(host, password, { caPem, trace: this.runner.traceSink() }), { signal: abort.signal, timeoutMs: 30_000 });
        },
      );
      if (report.ok) {
        void vscode.window.showInformationMessage(`Connected to ${host.name}: hostname is "${report.hostname}" (${report.elapsedMs} ms).`);
      } else {
        const d = report.diagnosis;
        const actions = d.title === 'Wrong user name or password' ? [REENTER_PASSWORD] : [];
        // Causes fixed in the host's settings (encryption mode, domain) offer the editor.
        if (SETTINGS_CAUSES.includes(d.title)) actions.push(EDIT_HOST);
        this.runner.logLine(`Test Connection to ${host.name} failed: ${d.title}: ${d.detail} Hint: ${d.hint}`);
        const choice = await vscode.window.showErrorMessage(`${host.name}: ${d.title}. ${d.detail}`, { modal: false, detail: d.hint }, ...actions, 'Show Log');
        if (choice === REENTER_PASSWORD) {
          await this.credentials.forget(host.id);
          await this.credentials.prompt(host, 'The host rejected the last password.');
        } else if (choice === EDIT_HOST) {
          await this.edit(host.id);
        } else if (choice === 'Show Log') {
          void vscode.commands.executeCommand('winrm.showLog');
        }
      }
    } finally {
      this.testing.delete(host.id);
      this.changed.fire(undefined);
    }
  }

  async openWorkspaceFile(node?: unknown): Promise<void> {
    const id = this.host(node)?.id;
    const uri = this.store.workspaceFileUri(id);
    if (!uri) {
      void vscode.window.showInformationMessage('Open a folder to keep team hosts in .vscode/winrm-hosts.json.');
      return;
    }
    try {
      await vscode.workspace.fs.stat(uri);
    } catch {
      const example = { hosts: [{ id: 'lab-dc', name: 'Lab DC', url: 'https://dc01.lab.example:5986/wsman', auth: 'basic', user: 'LAB\\svc-idm', style: 'dashed', profile: 'connector-1.5' }] };
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(`// Team hosts for WinRM Script Runner. No passwords here: each user's is kept in VS Code secret storage.\n${JSON.stringify(example, null, 2)}\n`));
    }
    await vscode.window.showTextDocument(uri);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
