// A fallback for file watching: the editor's watcher rests on inotify, which a machine can run
// out of (the per-user instance limit is shared by every container of that user on a host), and
// then a team file written by `git pull` or another tool is never noticed. Comparing a file's
// size and modification time every few seconds costs one stat and notices it anyway.

/** What a stat says of a file that matters here; undefined when the file does not exist. */
export interface FileSignature {
  mtimeMs: number;
  size: number;
}

export interface ChangePollerOptions {
  /** The files to compare (read on each check, so added workspace folders are included). */
  keys: () => string[];
  /** Stats one file; resolves undefined (or rejects) when it does not exist. */
  stat: (key: string) => Promise<FileSignature | undefined>;
  /** Called once per check that found at least one file changed, appeared or disappeared. */
  onChange: () => void | Promise<void>;
  intervalMs: number;
}

function same(a: FileSignature | undefined, b: FileSignature | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.mtimeMs === b.mtimeMs && a.size === b.size);
}

export class ChangePoller {
  private readonly seen = new Map<string, FileSignature | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;

  constructor(private readonly opts: ChangePollerOptions) {}

  /**
   * Compares each file with what the previous check saw and calls onChange when one differs.
   * The first sight of a file only records it (the caller has read the files at start).
   */
  check(): Promise<boolean> {
    // One check at a time: a slow file system must not pile up stats.
    this.checking ??= this.compare().finally(() => { this.checking = undefined; });
    return this.checking;
  }

  private async compare(): Promise<boolean> {
    const keys = this.opts.keys();
    let changed = false;
    for (const key of keys) {
      const now = await this.opts.stat(key).catch(() => undefined);
      if (this.seen.has(key) && !same(this.seen.get(key), now)) changed = true;
      this.seen.set(key, now);
    }
    for (const key of [...this.seen.keys()]) if (!keys.includes(key)) this.seen.delete(key);
    if (changed) await this.opts.onChange();
    return changed;
  }

  /** Checks every intervalMs until stop(); the timer does not keep a process alive. */
  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check().catch(() => undefined), this.opts.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
