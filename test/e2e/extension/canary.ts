// The canary password of issue 9: one unique password per test run, used for the real
// account on the test host, then searched for, byte for byte and in the encodings a leak would
// take (UTF-16 as in NTLM/CredSSP messages, base64 as in a Basic header), in every file
// code-server wrote, the workspace, the browser's storage and the texts the tests read.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '../harness/playwright-types';

export function makeCanary(label = 'canary'): string {
  // Letters and digits only: no encoding (JSON, URL, XML) changes it, so one byte string finds it.
  return `${label}${randomBytes(9).toString('hex')}Zq`;
}

export interface CanaryForm {
  name: string;
  bytes: Buffer;
}

export function canaryForms(secret: string, user: string): CanaryForm[] {
  return [
    { name: 'UTF-8', bytes: Buffer.from(secret, 'utf8') },
    { name: 'UTF-16LE', bytes: Buffer.from(secret, 'utf16le') },
    { name: `base64("${user}:…") as in a Basic header`, bytes: Buffer.from(Buffer.from(`${user}:${secret}`).toString('base64')) },
    { name: 'base64', bytes: Buffer.from(Buffer.from(secret).toString('base64')) },
  ];
}

export interface Hit {
  where: string;
  form: string;
}

export function scanBuffer(where: string, data: Buffer, forms: CanaryForm[]): Hit[] {
  return forms.filter((f) => data.includes(f.bytes)).map((f) => ({ where, form: f.name }));
}

export function scanText(where: string, text: string, forms: CanaryForm[]): Hit[] {
  return scanBuffer(where, Buffer.from(text, 'utf8'), forms);
}

export interface TreeScan {
  hits: Hit[];
  files: string[];
  bytes: number;
}

/** Every regular file under `dir` (symlinks not followed; sockets and pipes skipped). */
export function scanTree(dir: string, forms: CanaryForm[]): TreeScan {
  const result: TreeScan = { hits: [], files: [], bytes: 0 };
  const walk = (d: string) => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const name of names) {
      const p = join(d, name);
      let st;
      try { st = lstatSync(p); } catch { continue; }
      if (st.isSymbolicLink()) {
        try { result.hits.push(...scanText(`${p} (link target)`, readlinkSync(p), forms)); } catch { /* gone */ }
      } else if (st.isDirectory()) {
        walk(p);
      } else if (st.isFile()) {
        let data: Buffer;
        try { data = readFileSync(p); } catch { continue; }
        result.files.push(p);
        result.bytes += data.length;
        result.hits.push(...scanBuffer(p, data, forms));
      }
    }
  };
  walk(dir);
  return result;
}

export interface BrowserStorage {
  localStorage: Record<string, string>;
  /** Every IndexedDB record of the origin as text (values that are bytes decoded as UTF-8). */
  indexedDb: string;
  databases: string[];
}

/**
 * The origin's browser storage, read in a page of that origin: VS Code in a browser keeps its
 * state (globalState, workspaceState) in IndexedDB and SecretStorage in localStorage
 * ("secrets.provider", AES-GCM with a key minted by the server), not on the server.
 */
export async function readBrowserStorage(page: Page): Promise<BrowserStorage> {
  return page.evaluate(async () => {
    const g: any = globalThis;
    const ls: Record<string, string> = {};
    for (let i = 0; i < g.localStorage.length; i++) {
      const k = g.localStorage.key(i);
      ls[k] = g.localStorage.getItem(k);
    }
    const decoder = new g.TextDecoder();
    const show = (v: any): string => {
      if (v instanceof g.Uint8Array) return decoder.decode(v);
      if (v instanceof g.ArrayBuffer) return decoder.decode(new g.Uint8Array(v));
      if (typeof v === 'string') return v;
      try { return JSON.stringify(v); } catch { return String(v); }
    };
    const parts: string[] = [];
    const dbs: { name: string }[] = await g.indexedDB.databases();
    for (const { name } of dbs) {
      const db: any = await new Promise((resolve, reject) => {
        const req = g.indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      for (const store of Array.from(db.objectStoreNames as ArrayLike<string>)) {
        const tx = db.transaction(store, 'readonly');
        const os = tx.objectStore(store);
        const [keys, values]: [any[], any[]] = await Promise.all([
          new Promise<any[]>((resolve) => { const r = os.getAllKeys(); r.onsuccess = () => resolve(r.result); r.onerror = () => resolve([]); }),
          new Promise<any[]>((resolve) => { const r = os.getAll(); r.onsuccess = () => resolve(r.result); r.onerror = () => resolve([]); }),
        ]);
        keys.forEach((k, i) => parts.push(`${name}/${store}/${show(k)} = ${show(values[i])}`));
      }
      db.close();
    }
    return { localStorage: ls, indexedDb: parts.join('\n'), databases: dbs.map((d) => d.name) };
  });
}

/**
 * Chromium's profile folders of browsers this process started (playwright gives each launch a
 * temporary --user-data-dir): where the origin's localStorage and IndexedDB live on disk.
 */
export function chromiumProfileDirs(): string[] {
  const dirs = new Set<string>();
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      for (const arg of readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')) {
        if (arg.startsWith('--user-data-dir=')) dirs.add(arg.slice('--user-data-dir='.length));
      }
    } catch { /* exited meanwhile */ }
  }
  return [...dirs];
}

export function formatHits(hits: Hit[]): string {
  return hits.map((h) => `  ${h.where} (${h.form})`).join('\n');
}
