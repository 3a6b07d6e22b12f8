// Argument text as typed in the CLI (`--arg name=value`) or an editor.
//   name=value     the value is everything after the first "=" (spaces, quotes, "=" kept)
//   name=          an empty string
//   name           no value (null): the connector's switch form
//   name[]=value   one item of a list; repeat it for more items (they are merged in order)
//   name[]         an empty list
import { ConfigError } from '../errors';
import type { ScriptArgument } from './types';

export function parseArgumentAssignment(text: string): ScriptArgument {
  if (typeof text !== 'string' || text === '') {
    throw new ConfigError('An empty argument was given.', 'Write arguments as name=value, name (no value) or name[]=item.');
  }
  const eq = text.indexOf('=');
  let name = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? null : text.slice(eq + 1);
  let list = false;
  if (name.endsWith('[]')) {
    list = true;
    name = name.slice(0, -2);
  }
  if (name === '') {
    throw new ConfigError(`Argument '${text}' has no name before "=".`, 'Write arguments as name=value.');
  }
  if (/\s/.test(name)) {
    throw new ConfigError(`Argument name '${name}' contains whitespace.`, 'Names cannot contain spaces; the value after "=" can.');
  }
  if (/[\[\]]/.test(name)) {
    throw new ConfigError(`Argument name '${name}' contains brackets.`, 'Use name[]=item for list items; other names cannot contain [ or ].');
  }
  if (list) return { name, value: value === null ? [] : [value] };
  return { name, value };
}

/** Parses several assignments and merges list items given one by one (name[]=a name[]=b). */
export function parseArgumentAssignments(texts: readonly string[]): ScriptArgument[] {
  const out: ScriptArgument[] = [];
  for (const text of texts) {
    const arg = parseArgumentAssignment(text);
    const previous = out.find((a) => a.name === arg.name);
    if (previous && Array.isArray(previous.value) && Array.isArray(arg.value)) previous.value.push(...arg.value);
    else out.push(arg);
  }
  return out;
}
