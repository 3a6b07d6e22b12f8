// How values become text: Java's toString() as the connector does it, PowerShell
// literals for the safe profile, and cmd.exe quoting.
import type { ArgumentValue } from './types';

/**
 * The connector's `value.toString()`: strings as they are, collections as
 * AbstractCollection.toString() does it (`[a, b]`), and `null` as Java prints it
 * (only where the connector concatenates a null, i.e. connector 1.4 dashed).
 */
export function javaToString(value: ArgumentValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  return value;
}

/** Characters PowerShell accepts as a single quote: ' and the typographic ‘ ’ ‚ ‛. */
const PS_SINGLE_QUOTES = /['\u2018\u2019\u201a\u201b]/g;

/**
 * A PowerShell single-quoted literal that yields exactly `s`. Every single-quote
 * character, including the typographic ones PowerShell also treats as quotes, is
 * doubled; nothing else is special inside single quotes (newlines included).
 */
export function psSingleQuoted(s: string): string {
  return `'${s.replace(PS_SINGLE_QUOTES, (q) => q + q)}'`;
}

/** The connector's variables-style quoting: only the ASCII quote is doubled. */
export function connectorSingleQuoted(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function hasTypographicSingleQuote(s: string): boolean {
  return /[\u2018\u2019\u201a\u201b]/.test(s);
}

/** A PowerShell literal for the safe profile: string, array of strings, or $null. */
export function psLiteral(value: ArgumentValue): string {
  if (value === null) return '$null';
  if (Array.isArray(value)) return `@(${value.map(psSingleQuoted).join(',')})`;
  return psSingleQuoted(value);
}

/** A name usable both as `$name` and as `-name` without braces or quoting. */
export function isPowerShellIdentifier(name: string): boolean {
  return /^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name);
}

/** A name cmd.exe passes through as one plain token after `-` or `/`. */
export function isCmdArgumentName(name: string): boolean {
  return /^[\p{L}_][\p{L}\p{Nd}_.-]*$/u.test(name);
}

/**
 * Why PowerShell, in argument mode, will not receive `text` as one plain string
 * when it is appended raw after `-name ` (connector dashed style), or undefined.
 */
export function dashedMisparseReason(value: ArgumentValue): string | undefined {
  if (value === null) return undefined;
  const text = javaToString(value);
  if (Array.isArray(value)) return 'a list arrives as the text "[a, b]", which PowerShell splits at the comma into an array';
  if (text === '') return 'an empty value disappears, so the next token becomes this parameter\'s value';
  const found: string[] = [];
  if (/[ \t]/.test(text)) found.push('spaces (split into several arguments)');
  if (/[\r\n]/.test(text)) found.push('line breaks (the rest runs as a new command)');
  if (/[;]/.test(text)) found.push('";" (the rest runs as a new command)');
  if (/['"\u2018-\u201e]/.test(text)) found.push('quotes (parsed as string delimiters)');
  if (/\$/.test(text)) found.push('"$" (variable expansion)');
  if (/`/.test(text)) found.push('backticks (escape characters)');
  if (/[(){}]/.test(text)) found.push('parentheses or braces (expressions, script blocks)');
  if (/@/.test(text)) found.push('"@" (splatting, arrays)');
  if (/,/.test(text)) found.push('"," (array separator)');
  if (/^#|\s#/.test(text)) found.push('"#" (a comment)');
  if (/[|&<>]/.test(text)) found.push('"|", "&", "<" or ">" (pipeline, call and redirection operators)');
  if (/^[-\u2013\u2014\u2015]/.test(text)) found.push('a leading dash (read as a parameter name)');
  return found.length ? found.join(', ') : undefined;
}

/**
 * A value that argument mode reads as a number literal whose text differs from
 * the value (`007` → 7, `1e3` → 1000, `0x10` → 16, `1kb` → 1024), or undefined.
 */
export function dashedNumberReason(text: string): string | undefined {
  const numberLiteral = /^[+-]?(0x[0-9a-f]+|0b[01]+|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)(u?[lsyn]|u|d)?(kb|mb|gb|tb|pb)?$/i;
  if (!numberLiteral.test(text)) return undefined;
  if (/^-?(0|[1-9]\d*)$/.test(text)) return undefined; // a plain integer reads back the same
  return `"${text}" is read as a number literal, so a [string] parameter may receive a different text`;
}

/** cmd.exe characters that act outside double quotes. */
const CMD_SPECIAL = /[&|<>^()]/;

/**
 * Quotes a value for cmd.exe (safe profile): wrapped in double quotes when it is
 * empty or contains whitespace, `&|<>^()`, `,;=` (cmd's delimiters); inside quotes
 * those are literal. Returns undefined for what cmd cannot pass reliably: `"`
 * (quotes cannot be escaped for cmd itself), line breaks and NUL.
 */
export function cmdQuoted(text: string): string | undefined {
  if (/["\r\n\0]/.test(text)) return undefined;
  if (text === '' || /[\s,;=]/.test(text) || CMD_SPECIAL.test(text)) return `"${text}"`;
  return text;
}

/** Why a raw value (connector cmd) will not reach the program as one plain token. */
export function cmdRawReason(text: string): string | undefined {
  const found: string[] = [];
  if (text === '') found.push('an empty value disappears');
  if (/[ \t,;=]/.test(text)) found.push('spaces or delimiters (split into several tokens)');
  if (CMD_SPECIAL.test(text)) found.push('&, |, <, >, ^ or parentheses (cmd operators)');
  if (/%/.test(text)) found.push('% (variable expansion)');
  if (/"/.test(text)) found.push('double quotes');
  if (/[\r\n]/.test(text)) found.push('line breaks (cut the command line)');
  return found.length ? found.join(', ') : undefined;
}

/** UTF-16LE then base64, as -EncodedCommand expects (and Java's getBytes("UTF-16LE") gives). */
export function encodePowerShellCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

export function decodePowerShellCommand(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf16le');
}

export function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}
