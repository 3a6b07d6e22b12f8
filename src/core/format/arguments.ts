// Script arguments as the editor shows and remembers them. A value is a string,
// null (the connector passes the name without a value) or a list (the connector
// passes a Java collection, which prints as `[a, b]`).
import { WinrmError } from '../errors';
import { parseArgumentAssignment } from '../launch/arguments';
import type { ArgumentValue, ScriptArgument } from '../launch/types';

export type { ArgumentValue };
/** The launch layer's argument, under the name the editor code uses. */
export type NamedArgument = ScriptArgument;

/** PowerShell parameter / variable names: letters, digits, `_`, and `-` after the first character. */
export function validateArgumentName(name: string): string | undefined {
  if (!name) return 'The argument needs a name before "=".';
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) return `"${name}" is not a usable argument name (letters, digits, _ and -, not starting with a digit or -).`;
  return undefined;
}

/**
 * `name=value` as typed in the prompt, by the same rules as the CLI's --arg:
 * the value is everything after the first `=`, kept exactly (spaces, quotes
 * and further `=` included); `name` alone is null; `name[]=item` is a list item.
 */
export function parseAssignment(text: string): { argument?: NamedArgument; error?: string } {
  try {
    const argument = parseArgumentAssignment(text.replace(/^\s+/, ''));
    const problem = validateArgumentName(argument.name);
    return problem ? { error: problem } : { argument };
  } catch (err) {
    return { error: err instanceof WinrmError ? err.message : String(err) };
  }
}

/** Adds or replaces by name (names are case-insensitive in PowerShell), keeping the first position. */
export function upsertArgument(list: readonly NamedArgument[], argument: NamedArgument): NamedArgument[] {
  const index = list.findIndex((a) => a.name.toLowerCase() === argument.name.toLowerCase());
  if (index < 0) return [...list, argument];
  const copy = [...list];
  const previous = copy[index].value;
  // `name[]=b` after `name[]=a` adds an item, as the CLI's repeated --arg does.
  copy[index] = Array.isArray(previous) && Array.isArray(argument.value) && argument.value.length > 0
    ? { name: argument.name, value: [...previous, ...argument.value] }
    : argument;
  return copy;
}

/**
 * The prompt's row for a typed assignment, saying what Enter will do to the
 * list (as upsertArgument does it): add a new name, add items to a list, or
 * replace a value.
 */
export function describeAssignment(list: readonly NamedArgument[], argument: NamedArgument): string {
  const existing = list.find((a) => a.name.toLowerCase() === argument.name.toLowerCase());
  if (!existing) return `Add ${argument.name} = ${describeValue(argument.value)}`;
  if (Array.isArray(existing.value) && Array.isArray(argument.value) && argument.value.length > 0) {
    return `Add to ${existing.name}: ${argument.value.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `Set ${argument.name} = ${describeValue(argument.value)}`;
}

/** How the prompt lists a value: quoted so that spaces at the ends are visible. */
export function describeValue(value: ArgumentValue): string {
  if (value === null) return '(null)';
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  return JSON.stringify(value);
}

/** The text that puts the argument back in the prompt for editing. */
export function formatAssignment(argument: NamedArgument): string {
  if (argument.value === null) return argument.name;
  if (Array.isArray(argument.value)) return argument.value.length ? argument.value.map((v) => `${argument.name}[]=${v}`).join(' ') : `${argument.name}[]`;
  return `${argument.name}=${argument.value}`;
}

export function summarizeArguments(list: readonly NamedArgument[], max = 60): string {
  if (list.length === 0) return 'no arguments';
  const text = list.map((a) => `${a.name}=${a.value === null ? '(null)' : Array.isArray(a.value) ? `[${a.value.join(', ')}]` : a.value}`).join(' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function readArguments(raw: unknown): NamedArgument[] {
  if (!Array.isArray(raw)) return [];
  const out: NamedArgument[] = [];
  for (const item of raw) {
    if (!item || typeof item !== 'object') continue;
    const { name, value } = item as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || validateArgumentName(name)) continue;
    if (value === null || typeof value === 'string') out.push({ name, value });
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out.push({ name, value: [...value] });
  }
  return out;
}

/** What a run of one file used, remembered so the next run and Re-run Last repeat it. */
export interface RememberedRun {
  args: NamedArgument[];
  language?: string;
  style?: string;
  profile?: string;
  hostId?: string;
  /** ms since the epoch; the oldest entries are dropped first. */
  usedAt: number;
}

export type RunMemory = Record<string, RememberedRun>;

export const RUN_MEMORY_LIMIT = 200;

export function recallRun(memory: unknown, fileKey: string): RememberedRun | undefined {
  if (!memory || typeof memory !== 'object') return undefined;
  const raw = (memory as Record<string, unknown>)[fileKey];
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    args: readArguments(r.args),
    language: str(r.language),
    style: str(r.style),
    profile: str(r.profile),
    hostId: str(r.hostId),
    usedAt: typeof r.usedAt === 'number' ? r.usedAt : 0,
  };
}

/** A new memory with `entry` for `fileKey`, keeping at most `limit` files (most recently used). */
export function rememberRun(memory: unknown, fileKey: string, entry: RememberedRun, limit = RUN_MEMORY_LIMIT): RunMemory {
  const current: RunMemory = {};
  if (memory && typeof memory === 'object') {
    for (const key of Object.keys(memory as object)) {
      const r = recallRun(memory, key);
      if (r) current[key] = compact(r);
    }
  }
  current[fileKey] = compact(entry);
  const keys = Object.keys(current).sort((a, b) => current[b].usedAt - current[a].usedAt);
  const kept: RunMemory = {};
  for (const key of keys.slice(0, limit)) kept[key] = current[key];
  return kept;
}

/** Only the keys that have values (what JSON storage keeps anyway). */
function compact(entry: RememberedRun): RememberedRun {
  const clean: RememberedRun = { args: readArguments(entry.args), usedAt: entry.usedAt };
  if (entry.language) clean.language = entry.language;
  if (entry.style) clean.style = entry.style;
  if (entry.profile) clean.profile = entry.profile;
  if (entry.hostId) clean.hostId = entry.hostId;
  return clean;
}
