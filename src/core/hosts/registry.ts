// The list of hosts: the user's own (in the editor's global state) and a team's
// (from the workspace file, only once the workspace is trusted). Passwords go
// to a separate secret store under the host id and nowhere else.
import { randomUUID } from 'node:crypto';
import { type HostEntry, type HostSettings, readHost, toStoredHost } from './model';

/** The part of vscode.Memento the registry uses. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void> | Promise<void>;
}

/** The part of vscode.SecretStorage the registry uses. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined> | Promise<string | undefined>;
  store(key: string, value: string): PromiseLike<void> | Promise<void>;
  delete(key: string): PromiseLike<void> | Promise<void>;
}

export const STATE_KEYS = {
  hosts: 'winrm.hosts',
  defaultHost: 'winrm.defaultHost',
  basicOverHttpConfirmed: 'winrm.basicOverHttpConfirmed',
} as const;

export function passwordKey(hostId: string): string {
  return `winrm.password/${hostId}`;
}

export type HostDraft = Omit<HostSettings, 'id'>;

export class HostRegistry {
  private workspaceHosts: HostSettings[] = [];
  private workspaceTrusted = false;
  /** Per team file, the ids its entries had when it was last read. */
  private readonly teamListing = new Map<string, Set<string>>();
  private readonly listeners = new Set<() => void>();
  /** Problems found reading stored hosts (shown in the log, never fatal). */
  readonly problems: string[] = [];

  constructor(
    private readonly state: KeyValueStore,
    private readonly secrets: SecretStore,
    private readonly newId: () => string = randomUUID,
  ) {}

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** The user's hosts, re-read and re-validated from state each time. */
  userHosts(): HostSettings[] {
    const raw = this.state.get<unknown[]>(STATE_KEYS.hosts);
    if (!Array.isArray(raw)) return [];
    const hosts: HostSettings[] = [];
    for (const item of raw) {
      const r = readHost(item);
      if (r.host) hosts.push(r.host);
    }
    return hosts;
  }

  /**
   * The team files' hosts and whether they may be used (workspace trust).
   * `listing`, when the files were read: per file (any key, e.g. its folder), the
   * ids of all its entries, or undefined when it could not be read as a host list
   * (a half-saved file: nothing is taken as removed from it). A host a file named
   * before and names no more was removed from it, so its saved password and HTTP
   * confirmation are deleted; resolves with those ids. A file no longer in the
   * listing (its folder left the workspace) deletes nothing.
   */
  async setWorkspaceHosts(hosts: readonly HostSettings[], trusted: boolean, listing?: ReadonlyMap<string, readonly string[] | undefined>): Promise<string[]> {
    this.workspaceHosts = hosts.map(toStoredHost);
    this.workspaceTrusted = trusted;
    this.changed();
    if (!listing) return [];
    const removed = new Set<string>();
    for (const [file, ids] of listing) {
      if (!ids) continue;
      for (const id of this.teamListing.get(file) ?? []) if (!ids.includes(id)) removed.add(id);
      this.teamListing.set(file, new Set(ids));
    }
    for (const file of [...this.teamListing.keys()]) if (!listing.has(file)) this.teamListing.delete(file);
    // Moved to another file, or still present: not removed.
    const stillListed = (id: string) => [...this.teamListing.values()].some((ids) => ids.has(id)) || this.workspaceHosts.some((h) => h.id === id);
    const gone = [...removed].filter((id) => !stillListed(id));
    for (const id of gone) {
      await this.secrets.delete(passwordKey(id));
      await this.setBasicOverHttpConfirmed(id, false);
    }
    return gone;
  }

  /** Hosts from the team file that are hidden because the workspace is not trusted. */
  get untrustedWorkspaceHostCount(): number {
    return this.workspaceTrusted ? 0 : this.workspaceHosts.length;
  }

  all(): HostEntry[] {
    const user = this.userHosts().map((h) => ({ ...h, source: 'user' as const }));
    const workspace = this.workspaceTrusted ? this.workspaceHosts.map((h) => ({ ...h, source: 'workspace' as const })) : [];
    return [...user, ...workspace];
  }

  get(id: string): HostEntry | undefined {
    return this.all().find((h) => h.id === id);
  }

  async add(draft: HostDraft): Promise<HostSettings> {
    const host = toStoredHost({ ...draft, id: this.newId() });
    await this.writeUserHosts([...this.userHosts(), host]);
    if (!this.defaultHostId()) await this.state.update(STATE_KEYS.defaultHost, host.id);
    this.changed();
    return host;
  }

  async update(host: HostSettings): Promise<void> {
    const hosts = this.userHosts();
    const index = hosts.findIndex((h) => h.id === host.id);
    if (index < 0) throw new Error(`No host with id ${host.id} in the user's hosts.`);
    const before = hosts[index];
    hosts[index] = toStoredHost(host);
    await this.writeUserHosts(hosts);
    // A confirmation given for one address does not carry over to another.
    if (before.url !== host.url || before.auth !== host.auth) await this.setBasicOverHttpConfirmed(host.id, false);
    this.changed();
  }

  /** Removes the host, its password and its confirmation; the default moves to the first host left. */
  async remove(id: string): Promise<void> {
    const wasDefault = this.state.get<string>(STATE_KEYS.defaultHost) === id;
    const hosts = this.userHosts().filter((h) => h.id !== id);
    await this.writeUserHosts(hosts);
    await this.secrets.delete(passwordKey(id));
    await this.setBasicOverHttpConfirmed(id, false);
    if (wasDefault) await this.state.update(STATE_KEYS.defaultHost, this.all()[0]?.id);
    this.changed();
  }

  /** A copy named "<name> (copy)" with a new id; the password is copied too. */
  async duplicate(id: string): Promise<HostSettings> {
    const source = this.get(id);
    if (!source) throw new Error(`No host with id ${id}.`);
    const names = new Set(this.all().map((h) => h.name.toLowerCase()));
    let name = `${source.name} (copy)`;
    for (let n = 2; names.has(name.toLowerCase()); n++) name = `${source.name} (copy ${n})`;
    const { source: _source, id: _id, ...draft } = source;
    const copy = await this.add({ ...draft, name });
    const password = await this.secrets.get(passwordKey(id));
    if (password !== undefined) await this.secrets.store(passwordKey(copy.id), password);
    return copy;
  }

  defaultHostId(): string | undefined {
    const id = this.state.get<string>(STATE_KEYS.defaultHost);
    return id && this.get(id) ? id : undefined;
  }

  defaultHost(): HostEntry | undefined {
    const id = this.defaultHostId();
    return id ? this.get(id) : undefined;
  }

  async setDefault(id: string | undefined): Promise<void> {
    await this.state.update(STATE_KEYS.defaultHost, id);
    this.changed();
  }

  getPassword(id: string): Promise<string | undefined> {
    return Promise.resolve(this.secrets.get(passwordKey(id)));
  }

  async storePassword(id: string, password: string): Promise<void> {
    await this.secrets.store(passwordKey(id), password);
  }

  async forgetPassword(id: string): Promise<void> {
    await this.secrets.delete(passwordKey(id));
  }

  isBasicOverHttpConfirmed(id: string): boolean {
    return (this.state.get<string[]>(STATE_KEYS.basicOverHttpConfirmed) ?? []).includes(id);
  }

  async setBasicOverHttpConfirmed(id: string, confirmed: boolean): Promise<void> {
    const ids = new Set(this.state.get<string[]>(STATE_KEYS.basicOverHttpConfirmed) ?? []);
    if (confirmed === ids.has(id)) return;
    if (confirmed) ids.add(id);
    else ids.delete(id);
    await this.state.update(STATE_KEYS.basicOverHttpConfirmed, [...ids]);
  }

  private async writeUserHosts(hosts: HostSettings[]): Promise<void> {
    await this.state.update(STATE_KEYS.hosts, hosts.map(toStoredHost));
  }
}
