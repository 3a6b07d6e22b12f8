// One idle session per host, so a profile that reuses its shell gets the same
// shell on the next run. A host that is busy gets an extra session for the
// concurrent run (a session sends one request at a time, and a long-polling
// Receive would hold up the other run); extras are closed after their run.
// State that lives in a session (powerhell/exchange loops) is kept with the
// host's kept session only.

export interface Closable {
  close(): Promise<void>;
}

export interface Lease<T> {
  readonly resource: T;
  /** Give the session back. `discard` closes it (after a cancel, a failure, or a settings change). */
  release(discard?: boolean): Promise<void>;
}

interface Slot<T> {
  resource: T;
  /** Settings the session was built from; a change means it must not be reused. */
  fingerprint: string;
  busy: boolean;
}

export interface SessionPoolOptions<T> {
  /** How a session is closed (default `close()`); e.g. end its PowerShell loops first. */
  close?: (resource: T) => Promise<void>;
}

export class SessionPool<T extends Closable> {
  private readonly idle = new Map<string, Slot<T>>();
  private readonly leased = new Set<Slot<T>>();
  private closed = false;
  private readonly closeResource: (resource: T) => Promise<void>;

  constructor(options: SessionPoolOptions<T> = {}) {
    this.closeResource = options.close ?? ((r) => r.close());
  }

  private dispose(resource: T): Promise<void> {
    return this.closeResource(resource).catch(() => undefined);
  }

  /** The session kept for the host (idle, or leased to a run now), if any. */
  kept(hostId: string): { resource: T; busy: boolean } | undefined {
    const slot = this.idle.get(hostId);
    return slot ? { resource: slot.resource, busy: slot.busy } : undefined;
  }

  /** Host ids with a kept session. */
  keptHosts(): string[] {
    return [...this.idle.keys()];
  }

  /** `fingerprint` identifies the settings (and password) the session was made with. */
  acquire(hostId: string, fingerprint: string, create: () => T): Lease<T> {
    if (this.closed) throw new Error('The session pool is closed.');
    const existing = this.idle.get(hostId);
    let slot: Slot<T>;
    if (existing && !existing.busy && existing.fingerprint === fingerprint) {
      slot = existing;
    } else {
      if (existing && !existing.busy) {
        // Stale settings: close it now, nobody is using it.
        this.idle.delete(hostId);
        void this.dispose(existing.resource);
      }
      slot = { resource: create(), fingerprint, busy: false };
      if (!this.idle.has(hostId)) this.idle.set(hostId, slot);
    }
    slot.busy = true;
    this.leased.add(slot);
    let released = false;
    return {
      resource: slot.resource,
      release: async (discard = false) => {
        if (released) return;
        released = true;
        slot.busy = false;
        this.leased.delete(slot);
        const kept = this.idle.get(hostId) === slot;
        if (discard || !kept || this.closed) {
          if (kept) this.idle.delete(hostId);
          await this.dispose(slot.resource);
        }
      },
    };
  }

  /** Sessions currently kept for reuse or in use. */
  get size(): number {
    const all = new Set<Slot<T>>([...this.idle.values(), ...this.leased]);
    return all.size;
  }

  /** Close the host's idle session (settings changed, host removed); a leased one closes when released. */
  async closeHost(hostId: string): Promise<void> {
    const slot = this.idle.get(hostId);
    if (!slot) return;
    this.idle.delete(hostId);
    if (!slot.busy) await this.dispose(slot.resource);
  }

  /** Close everything idle now; leased sessions close as their runs release them. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const idle = [...this.idle.values()].filter((s) => !s.busy);
    this.idle.clear();
    await Promise.all(idle.map((s) => this.dispose(s.resource)));
  }
}
