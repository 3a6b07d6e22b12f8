// PowerShell (powershell.exe with redirected stderr) writes its error, warning,
// verbose and progress records to stderr as serialized CLIXML:
//   #< CLIXML\r\n<Objs ...><Obj S="progress">...</Obj><S S="Error">text_x000D__x000A_</S></Objs>
// This converter turns such blocks into the text a console would show, dropping
// progress records, while any other stderr text passes through unchanged.

export const CLIXML_MARKER = '#< CLIXML';
const OBJS_END = '</Objs>';
/** A block larger than this is not what PowerShell writes; give it back as raw text. */
const DEFAULT_MAX_BLOCK_CHARS = 8 * 1024 * 1024;

export interface ClixmlConverter {
  /** Feeds decoded stderr text; returns the text that is ready to show. */
  write(text: string): string;
  /** Returns whatever is still held back (an unfinished block comes back raw). */
  end(): string;
}

/** Prefixes that the PowerShell console host puts before each stream's messages. */
const STREAM_PREFIX: Record<string, string> = {
  error: '',
  warning: 'WARNING: ',
  verbose: 'VERBOSE: ',
  debug: 'DEBUG: ',
  information: '',
};

export function createClixmlConverter(options: { maxBlockChars?: number } = {}): ClixmlConverter {
  const maxBlock = options.maxBlockChars ?? DEFAULT_MAX_BLOCK_CHARS;
  let mode: 'text' | 'block' = 'text';
  // Text mode: a held-back tail that may be the start of a marker.
  // Block mode: everything since the marker.
  let pending = '';
  // Whether position 0 of `pending` + next chunk is a place where a marker may start.
  let atBoundary = true;
  let searchFrom = 0;

  function processText(input: string): string {
    let out = '';
    let text = input;
    for (;;) {
      const at = findMarker(text, atBoundary);
      if (at < 0) {
        const keep = partialMarkerTail(text, atBoundary);
        out += text.slice(0, text.length - keep);
        const emitted = text.slice(0, text.length - keep);
        if (emitted.length > 0) atBoundary = emitted.endsWith('\n');
        pending = text.slice(text.length - keep);
        return out;
      }
      out += text.slice(0, at);
      mode = 'block';
      pending = '';
      searchFrom = 0;
      const rest = text.slice(at);
      const fromBlock = processBlock(rest);
      out += fromBlock.out;
      if (fromBlock.rest === undefined) return out;
      text = fromBlock.rest;
    }
  }

  /** Appends to the block buffer; when the block completes returns its text and what follows. */
  function processBlock(input: string): { out: string; rest?: string } {
    pending += input;
    // Reject early what is clearly not a CLIXML block, so plain text is not held back.
    const afterMarker = pending.slice(CLIXML_MARKER.length).replace(/^\s+/, '');
    if (afterMarker.length >= 5 && !afterMarker.startsWith('<Objs')) {
      return giveBackRaw();
    }
    const end = pending.indexOf(OBJS_END, Math.max(0, searchFrom - OBJS_END.length));
    if (end < 0) {
      searchFrom = pending.length;
      if (pending.length > maxBlock) return giveBackRaw();
      return { out: '' };
    }
    const blockEnd = end + OBJS_END.length;
    const block = pending.slice(0, blockEnd);
    const rest = pending.slice(blockEnd);
    mode = 'text';
    pending = '';
    atBoundary = true;
    return { out: renderClixmlBlock(block), rest };
  }

  function giveBackRaw(): { out: string; rest?: string } {
    // The marker itself is shown; the text after it is scanned again as normal text.
    const raw = pending;
    mode = 'text';
    pending = '';
    atBoundary = false;
    return { out: raw.slice(0, CLIXML_MARKER.length), rest: raw.slice(CLIXML_MARKER.length) };
  }

  return {
    write(text: string): string {
      if (text.length === 0) return '';
      if (mode === 'block') {
        const r = processBlock(text);
        return r.rest === undefined ? r.out : r.out + processText(r.rest);
      }
      const input = pending + text;
      pending = '';
      return processText(input);
    },
    end(): string {
      const rest = pending;
      pending = '';
      mode = 'text';
      atBoundary = true;
      return rest;
    },
  };
}

/** Index of a marker at an allowed place (stream start / after a block, or a line start), or -1. */
function findMarker(text: string, atBoundary: boolean): number {
  let from = 0;
  for (;;) {
    const at = text.indexOf(CLIXML_MARKER, from);
    if (at < 0) return -1;
    if ((at === 0 && atBoundary) || (at > 0 && text.charCodeAt(at - 1) === 10)) return at;
    from = at + 1;
  }
}

/** How many trailing characters could be the beginning of a marker at an allowed place. */
function partialMarkerTail(text: string, atBoundary: boolean): number {
  const lineStart = text.lastIndexOf('\n') + 1;
  if (lineStart === 0 && !atBoundary) return 0;
  const tail = text.length - lineStart;
  if (tail === 0 || tail >= CLIXML_MARKER.length) return 0;
  return CLIXML_MARKER.startsWith(text.slice(lineStart)) ? tail : 0;
}

/**
 * Renders one complete `#< CLIXML ... </Objs>` block: the top-level `<S S="Error">` (and
 * warning/verbose/debug/information) strings in order; `<Obj>` records such as progress
 * are dropped.
 */
export function renderClixmlBlock(block: string): string {
  const tag = /<(\/?)(Obj|S)\b([^>]*?)(\/?)>/g;
  let objDepth = 0;
  let out = '';
  let m: RegExpExecArray | null;
  while ((m = tag.exec(block)) !== null) {
    const [, closing, name, attrs, selfClosing] = m;
    if (name === 'Obj') {
      if (selfClosing) continue;
      objDepth += closing ? -1 : 1;
      continue;
    }
    if (closing || objDepth > 0) continue;
    const stream = /\bS="([^"]*)"/.exec(attrs)?.[1]?.toLowerCase();
    if (stream === undefined) continue;
    const prefix = STREAM_PREFIX[stream];
    if (selfClosing) continue;
    const close = block.indexOf('</S>', tag.lastIndex);
    if (close < 0) break;
    const text = decodeClixmlString(block.slice(tag.lastIndex, close));
    tag.lastIndex = close + 4;
    if (prefix === undefined) continue;
    if (stream === 'error') out += text;
    else out += prefix + text + (text.endsWith('\n') ? '' : '\r\n');
  }
  return out;
}

/** Converts a whole stderr text at once (for small, complete outputs). */
export function clixmlToText(stderr: string): string {
  const c = createClixmlConverter();
  return c.write(stderr) + c.end();
}

/** XML character entities, then PowerShell's `_xHHHH_` escapes (`_x005F_` is a literal `_`). */
export function decodeClixmlString(raw: string): string {
  const unescaped = raw.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return String.fromCodePoint(code);
  });
  return unescaped.replace(/_x([0-9a-fA-F]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
