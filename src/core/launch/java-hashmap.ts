// The order in which midPoint's connector sees script arguments is the iteration
// order of a java.util.HashMap<String, Object>, so we reproduce that map exactly:
// String.hashCode, HashMap.hash() spreading, power-of-two tables that double at
// 0.75 load, chains kept in insertion order and split in order on resize, and —
// when one bucket collects more than 8 keys in a table of 64 or more — the
// red-black "tree bins" whose linked order depends on the tree's shape.
// The algorithms are those of OpenJDK 8..21 (java/util/HashMap.java, unchanged
// in these respects across those versions).
//
// How the map is built (public source):
// - midPoint ConnectorInstanceConnIdImpl.convertToScriptContext: `new HashMap<>()`
//   then `put(name, value)` for each argument in the order of the resource XML.
// - ConnId ScriptContext(String, String, Map): `SerializerUtil.cloneObject(map)`;
//   the "Map" serialization handler writes the entries in `map.forEach` order and
//   reads them back into a fresh `new HashMap<>()` with `put` in that order.
// So: two default-capacity HashMaps, the second filled in the first's order.

const DEFAULT_CAPACITY = 16;
const LOAD_FACTOR = 0.75;
const TREEIFY_THRESHOLD = 8;
const UNTREEIFY_THRESHOLD = 6;
const MIN_TREEIFY_CAPACITY = 64;

/** java.lang.String.hashCode(): s[0]*31^(n-1) + ... over UTF-16 code units, in int32. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** HashMap.hash(): folds the high half into the low half before masking. */
export function javaHashMapHash(key: string): number {
  const h = javaStringHashCode(key);
  return (h ^ (h >>> 16)) | 0;
}

/** String.compareTo, by sign: lexicographic over UTF-16 code units, then by length. */
function compareJavaStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

interface MapNode<V> {
  hash: number;
  key: string;
  value: V;
  next: MapNode<V> | null;
  // Present only while the node is part of a tree bin.
  tree?: TreeLinks<V>;
}

interface TreeLinks<V> {
  parent: MapNode<V> | null;
  left: MapNode<V> | null;
  right: MapNode<V> | null;
  prev: MapNode<V> | null;
  red: boolean;
}

function links<V>(n: MapNode<V>): TreeLinks<V> {
  return n.tree!;
}

/** A faithful model of java.util.HashMap<String, V> for put and iteration. */
export class JavaHashMap<V> {
  private table: (MapNode<V> | null)[] | null = null;
  private threshold = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The table length (0 before the first put), for tests and diagnostics. */
  get capacity(): number {
    return this.table?.length ?? 0;
  }

  put(key: string, value: V): void {
    const hash = javaHashMapHash(key);
    let tab = this.table;
    if (tab === null) tab = this.resize();
    const n = tab.length;
    const i = (n - 1) & hash;
    const first = tab[i];
    if (first === null) {
      tab[i] = { hash, key, value, next: null };
    } else if (first.hash === hash && first.key === key) {
      first.value = value;
      return;
    } else if (first.tree) {
      const existing = this.putTreeVal(tab, first, hash, key, value);
      if (existing) {
        existing.value = value;
        return;
      }
    } else {
      let p = first;
      for (let binCount = 0; ; binCount++) {
        const e = p.next;
        if (e === null) {
          p.next = { hash, key, value, next: null };
          if (binCount >= TREEIFY_THRESHOLD - 1) this.treeifyBin(tab, hash);
          break;
        }
        if (e.hash === hash && e.key === key) {
          e.value = value;
          return;
        }
        p = e;
      }
    }
    if (++this.count > this.threshold) this.resize();
  }

  /** Keys in iteration order (entrySet / keySet / forEach). */
  keys(): string[] {
    return this.entries().map(([k]) => k);
  }

  entries(): [string, V][] {
    const out: [string, V][] = [];
    for (const head of this.table ?? []) {
      for (let e = head; e !== null; e = e.next) out.push([e.key, e.value]);
    }
    return out;
  }

  private resize(): (MapNode<V> | null)[] {
    const old = this.table;
    const oldCap = old?.length ?? 0;
    let newCap: number;
    if (oldCap > 0) {
      newCap = oldCap << 1;
      this.threshold = this.threshold << 1;
    } else {
      newCap = DEFAULT_CAPACITY;
      this.threshold = Math.floor(DEFAULT_CAPACITY * LOAD_FACTOR);
    }
    const tab: (MapNode<V> | null)[] = new Array(newCap).fill(null);
    this.table = tab;
    if (old === null) return tab;
    for (let j = 0; j < oldCap; j++) {
      const e = old[j];
      if (e === null) continue;
      if (e.next === null) {
        tab[e.hash & (newCap - 1)] = e;
      } else if (e.tree) {
        this.split(tab, e, j, oldCap);
      } else {
        // Split the chain into the two halves, each keeping its relative order.
        let loHead: MapNode<V> | null = null, loTail: MapNode<V> | null = null;
        let hiHead: MapNode<V> | null = null, hiTail: MapNode<V> | null = null;
        for (let p: MapNode<V> | null = e; p !== null; ) {
          const next: MapNode<V> | null = p.next;
          if ((p.hash & oldCap) === 0) {
            if (loTail === null) loHead = p; else loTail.next = p;
            loTail = p;
          } else {
            if (hiTail === null) hiHead = p; else hiTail.next = p;
            hiTail = p;
          }
          p = next;
        }
        if (loTail !== null) { loTail.next = null; tab[j] = loHead; }
        if (hiTail !== null) { hiTail.next = null; tab[j + oldCap] = hiHead; }
      }
    }
    return tab;
  }

  private treeifyBin(tab: (MapNode<V> | null)[], hash: number): void {
    const n = tab.length;
    if (n < MIN_TREEIFY_CAPACITY) {
      // A long chain in a small table makes HashMap grow instead.
      this.resize();
      return;
    }
    const index = (n - 1) & hash;
    let prev: MapNode<V> | null = null;
    for (let e = tab[index]; e !== null; e = e.next) {
      e.tree = { parent: null, left: null, right: null, prev, red: false };
      prev = e;
    }
    const hd = tab[index];
    if (hd !== null) this.treeify(tab, hd);
  }

  /** TreeNode.treeify: builds the tree in `next` order, then moves the root to the front. */
  private treeify(tab: (MapNode<V> | null)[], head: MapNode<V>): void {
    let root: MapNode<V> | null = null;
    for (let x: MapNode<V> | null = head; x !== null; x = x.next) {
      const xl = links(x);
      xl.left = xl.right = null;
      if (root === null) {
        xl.parent = null;
        xl.red = false;
        root = x;
        continue;
      }
      for (let p: MapNode<V> = root; ;) {
        const dir = p.hash > x.hash ? -1 : p.hash < x.hash ? 1 : compareJavaStrings(x.key, p.key);
        const pl = links(p);
        const child = dir <= 0 ? pl.left : pl.right;
        if (child === null) {
          xl.parent = p;
          if (dir <= 0) pl.left = x; else pl.right = x;
          root = balanceInsertion(root, x);
          break;
        }
        p = child;
      }
    }
    moveRootToFront(tab, root!);
  }

  /** TreeNode.putTreeVal: a new node goes into the linked order right after its tree parent. */
  private putTreeVal(tab: (MapNode<V> | null)[], first: MapNode<V>, hash: number, key: string, value: V): MapNode<V> | null {
    let root = first;
    while (links(root).parent !== null) root = links(root).parent!;
    for (let p = root; ;) {
      let dir: number;
      if (p.hash > hash) dir = -1;
      else if (p.hash < hash) dir = 1;
      else if (p.key === key) return p;
      else dir = compareJavaStrings(key, p.key); // distinct Strings never compare equal
      const pl = links(p);
      const child = dir <= 0 ? pl.left : pl.right;
      if (child === null) {
        const xpn = p.next;
        const x: MapNode<V> = { hash, key, value, next: xpn, tree: { parent: p, left: null, right: null, prev: p, red: false } };
        if (dir <= 0) pl.left = x; else pl.right = x;
        p.next = x;
        if (xpn !== null) links(xpn).prev = x;
        moveRootToFront(tab, balanceInsertion(root, x));
        return null;
      }
      p = child;
    }
  }

  /** TreeNode.split on resize: halves keep `next` order; small halves become plain chains. */
  private split(tab: (MapNode<V> | null)[], head: MapNode<V>, index: number, bit: number): void {
    let loHead: MapNode<V> | null = null, loTail: MapNode<V> | null = null;
    let hiHead: MapNode<V> | null = null, hiTail: MapNode<V> | null = null;
    let lc = 0, hc = 0;
    for (let e: MapNode<V> | null = head; e !== null; ) {
      const next: MapNode<V> | null = e.next;
      e.next = null;
      if ((e.hash & bit) === 0) {
        links(e).prev = loTail;
        if (loTail === null) loHead = e; else loTail.next = e;
        loTail = e;
        lc++;
      } else {
        links(e).prev = hiTail;
        if (hiTail === null) hiHead = e; else hiTail.next = e;
        hiTail = e;
        hc++;
      }
      e = next;
    }
    if (loHead !== null) {
      if (lc <= UNTREEIFY_THRESHOLD) tab[index] = untreeify(loHead);
      else {
        tab[index] = loHead;
        if (hiHead !== null) this.treeify(tab, loHead);
      }
    }
    if (hiHead !== null) {
      if (hc <= UNTREEIFY_THRESHOLD) tab[index + bit] = untreeify(hiHead);
      else {
        tab[index + bit] = hiHead;
        if (loHead !== null) this.treeify(tab, hiHead);
      }
    }
  }
}

function untreeify<V>(head: MapNode<V>): MapNode<V> {
  for (let e: MapNode<V> | null = head; e !== null; e = e.next) delete e.tree;
  return head;
}

function moveRootToFront<V>(tab: (MapNode<V> | null)[], root: MapNode<V>): void {
  const index = (tab.length - 1) & root.hash;
  const first = tab[index];
  if (root === first) return;
  tab[index] = root;
  const rl = links(root);
  const rp = rl.prev;
  const rn = root.next;
  if (rn !== null) links(rn).prev = rp;
  if (rp !== null) rp.next = rn;
  if (first !== null) links(first).prev = root;
  root.next = first;
  rl.prev = null;
}

function rotateLeft<V>(root: MapNode<V>, p: MapNode<V>): MapNode<V> {
  const pl = links(p);
  const r = pl.right;
  if (r === null) return root;
  const rlinks = links(r);
  const rl = (pl.right = rlinks.left);
  if (rl !== null) links(rl).parent = p;
  const pp = (rlinks.parent = pl.parent);
  if (pp === null) {
    root = r;
    rlinks.red = false;
  } else if (links(pp).left === p) links(pp).left = r;
  else links(pp).right = r;
  rlinks.left = p;
  pl.parent = r;
  return root;
}

function rotateRight<V>(root: MapNode<V>, p: MapNode<V>): MapNode<V> {
  const pl = links(p);
  const l = pl.left;
  if (l === null) return root;
  const llinks = links(l);
  const lr = (pl.left = llinks.right);
  if (lr !== null) links(lr).parent = p;
  const pp = (llinks.parent = pl.parent);
  if (pp === null) {
    root = l;
    llinks.red = false;
  } else if (links(pp).right === p) links(pp).right = l;
  else links(pp).left = l;
  llinks.right = p;
  pl.parent = l;
  return root;
}

function balanceInsertion<V>(root: MapNode<V>, x: MapNode<V>): MapNode<V> {
  links(x).red = true;
  for (;;) {
    let xp = links(x).parent;
    if (xp === null) {
      links(x).red = false;
      return x;
    }
    let xpp = links(xp).parent;
    if (!links(xp).red || xpp === null) return root;
    const xppl = links(xpp).left;
    if (xp === xppl) {
      const xppr = links(xpp).right;
      if (xppr !== null && links(xppr).red) {
        links(xppr).red = false;
        links(xp).red = false;
        links(xpp).red = true;
        x = xpp;
      } else {
        if (x === links(xp).right) {
          x = xp;
          root = rotateLeft(root, x);
          xp = links(x).parent;
          xpp = xp === null ? null : links(xp).parent;
        }
        if (xp !== null) {
          links(xp).red = false;
          if (xpp !== null) {
            links(xpp).red = true;
            root = rotateRight(root, xpp);
          }
        }
      }
    } else {
      if (xppl !== null && links(xppl).red) {
        links(xppl).red = false;
        links(xp).red = false;
        links(xpp).red = true;
        x = xpp;
      } else {
        if (x === links(xp).left) {
          x = xp;
          root = rotateRight(root, x);
          xp = links(x).parent;
          xpp = xp === null ? null : links(xp).parent;
        }
        if (xp !== null) {
          links(xp).red = false;
          if (xpp !== null) {
            links(xpp).red = true;
            root = rotateLeft(root, xpp);
          }
        }
      }
    }
  }
}

/**
 * The order in which the connector iterates midPoint's script arguments: a HashMap
 * filled in the resource's order, copied once more into a new HashMap by ConnId's
 * ScriptContext (pass `copies: 2` for a remote connector server, which serializes
 * the context again). A name given twice keeps its first place and its last value.
 */
export function connectorArgumentOrder<V>(args: readonly (readonly [string, V])[], options: { copies?: number } = {}): [string, V][] {
  let entries: [string, V][] = args.map(([k, v]) => [k, v]);
  const maps = 1 + (options.copies ?? 1);
  for (let i = 0; i < maps; i++) {
    const map = new JavaHashMap<V>();
    for (const [k, v] of entries) map.put(k, v);
    entries = map.entries();
  }
  return entries;
}
