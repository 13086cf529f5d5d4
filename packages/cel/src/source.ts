// Source positions of CEL expressions: offsets to line/column, and the top-level clauses of && / || chains.

export interface SourceSpan {
  /** Offset of the first character (UTF-16 index into the source). */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
  /** 1-based line and column of `start`. */
  readonly line: number;
  readonly column: number;
}

export function spanOf(source: string, start: number, end: number): SourceSpan {
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i >= 0 && i < start; i = source.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { start, end, line, column: start - lineStart + 1 };
}

/**
 * Offsets of every `&&` or `||` (as given) outside strings, comments and brackets: where a
 * top-level chain splits into clauses. Knows CEL's quoting: '…', "…", '''…''', """…""", raw
 * strings (r prefix, no escapes) and `//` comments.
 */
export function findTopLevelOperators(source: string, operator: '&&' | '||'): number[] {
  const found: number[] = [];
  let depth = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (ch === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      i = skipString(source, i);
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (depth === 0 && source.startsWith(operator, i)) {
      found.push(i);
      i += 2;
      continue;
    }
    i++;
  }
  return found;
}

/** Returns the offset just past the string literal whose opening quote is at `at`. */
function skipString(source: string, at: number): number {
  const quote = source[at] as string;
  const raw = /[rR]/.test(source[at - 1] ?? '') || /[rR]/.test(source[at - 2] ?? '');
  const triple = source.startsWith(quote.repeat(3), at);
  const close = triple ? quote.repeat(3) : quote;
  let i = at + close.length;
  while (i < source.length) {
    if (!raw && source[i] === '\\') {
      i += 2;
      continue;
    }
    if (source.startsWith(close, i)) return i + close.length;
    if (!triple && source[i] === '\n') return i;
    i++;
  }
  return i;
}

/** Trims whitespace around [start, end) and returns the narrowed range. */
export function trimRange(source: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && /\s/.test(source[s] as string)) s++;
  while (e > s && /\s/.test(source[e - 1] as string)) e--;
  return [s, e];
}
