// Host storage in the editor: the user's hosts in global state, passwords in
// SecretStorage, and the team file `.vscode/winrm-hosts.json`, which is read
// only while the workspace is trusted and the setting allows it.
import * as vscode from 'vscode';
import { ChangePoller, HostRegistry, parseWorkspaceHostsFile, type HostEntry, type HostSettings } from '../core/hosts';
import type { Log } from './log';

export const WORKSPACE_HOSTS_FILE = '.vscode/winrm-hosts.json';
/** How often the team files are compared by size and time, in case file watching is unavailable. */
const TEAM_FILE_POLL_MS = 2000;

export class HostStore implements vscode.Disposable {
  readonly registry: HostRegistry;
  private readonly disposables: vscode.Disposable[] = [];
  /** Folder each team host came from, for resolving a relative CA file. */
  private readonly origin = new Map<string, vscode.Uri>();
  /** Reloads run one after another: a watcher event and a poll may arrive together. */
  private reloading: Promise<void> = Promise.resolve();

  constructor(context: vscode.ExtensionContext, private readonly log: Log) {
    this.registry = new HostRegistry(context.globalState, context.secrets);
    const watcher = vscode.workspace.createFileSystemWatcher(`**/${WORKSPACE_HOSTS_FILE}`);
    // The watcher needs inotify, which a machine can run out of; saving in the editor and a
    // cheap stat poll notice the file without it.
    const poller = new ChangePoller({
      keys: () => (vscode.workspace.workspaceFolders ?? []).map((f) => vscode.Uri.joinPath(f.uri, WORKSPACE_HOSTS_FILE).toString()),
      stat: async (key) => {
        const s = await vscode.workspace.fs.stat(vscode.Uri.parse(key));
        return { mtimeMs: s.mtime, size: s.size };
      },
      onChange: () => this.reloadWorkspaceHosts(),
      intervalMs: TEAM_FILE_POLL_MS,
    });
    poller.start();
    this.disposables.push(
      { dispose: () => poller.stop() },
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (doc.uri.path.endsWith(`/${WORKSPACE_HOSTS_FILE}`)) void this.reloadWorkspaceHosts();
      }),
      watcher,
      watcher.onDidChange(() => void this.reloadWorkspaceHosts()),
      watcher.onDidCreate(() => void this.reloadWorkspaceHosts()),
      watcher.onDidDelete(() => void this.reloadWorkspaceHosts()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.reloadWorkspaceHosts()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.reloadWorkspaceHosts()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('winrm.hosts.useWorkspaceFile')) void this.reloadWorkspaceHosts();
      }),
    );
    for (const problem of this.registry.problems) log.warn(problem);
  }

  /** Reads every folder's team file; hosts are offered only in a trusted workspace. */
  reloadWorkspaceHosts(): Promise<void> {
    const next = this.reloading.then(() => this.readWorkspaceHosts());
    this.reloading = next.catch((err: Error) => this.log.warn(`Reading ${WORKSPACE_HOSTS_FILE} failed: ${err.message}`));
    return next;
  }

  private async readWorkspaceHosts(): Promise<void> {
    const enabled = vscode.workspace.getConfiguration('winrm').get<boolean>('hosts.useWorkspaceFile', true);
    const hosts: HostSettings[] = [];
    // Per folder, the ids its team file names (none when it has no file); left out while the setting is off, so no password is deleted then.
    const listing = enabled ? new Map<string, string[] | undefined>() : undefined;
    this.origin.clear();
    if (enabled) {
      for (const folder of vscode.workspace.workspaceFolders ?? []) {
        const uri = vscode.Uri.joinPath(folder.uri, WORKSPACE_HOSTS_FILE);
        let text: string;
        try {
          text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
        } catch {
          listing?.set(folder.uri.toString(), []);
          continue;
        }
        const parsed = parseWorkspaceHostsFile(text);
        for (const p of parsed.problems) this.log.warn(`${uri.fsPath}: ${p}`);
        listing?.set(folder.uri.toString(), parsed.listedIds);
        for (const h of parsed.hosts) {
          if (hosts.some((o) => o.id === h.id)) continue;
          hosts.push(h);
          this.origin.set(h.id, folder.uri);
        }
      }
    }
    const trusted = vscode.workspace.isTrusted;
    if (!trusted && hosts.length) this.log.info(`${hosts.length} host(s) in ${WORKSPACE_HOSTS_FILE} are not used until the workspace is trusted.`);
    const gone = await this.registry.setWorkspaceHosts(hosts, trusted, listing);
    if (gone.length) this.log.info(`${gone.length} host(s) removed from ${WORKSPACE_HOSTS_FILE}: their saved passwords were deleted.`);
  }

  /** The team file of the first workspace folder (to open or create it). */
  workspaceFileUri(hostId?: string): vscode.Uri | undefined {
    const folder = (hostId && this.origin.get(hostId)) || vscode.workspace.workspaceFolders?.[0]?.uri;
    return folder ? vscode.Uri.joinPath(folder, WORKSPACE_HOSTS_FILE) : undefined;
  }

  /** The host's CA file (relative paths of team hosts are relative to their folder). */
  caFileUri(host: HostEntry): vscode.Uri | undefined {
    const file = host.tls?.caFile;
    if (!file) return undefined;
    const base = host.source === 'workspace' ? this.origin.get(host.id) : undefined;
    const isAbsolute = /^([a-zA-Z]:[\\/]|[\\/])/.test(file);
    return isAbsolute || !base ? vscode.Uri.file(file) : vscode.Uri.joinPath(base, file);
  }

  /** Reads the host's CA file (see caFileUri). */
  async readCaPem(host: HostEntry): Promise<string | undefined> {
    const uri = this.caFileUri(host);
    if (!uri) return undefined;
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (err) {
      throw new Error(`Cannot read the CA file ${uri.fsPath} of host "${host.name}": ${(err as Error).message}`);
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
