// An upper bound on the size of the program RE2 compiles a pattern into, read from the pattern text.

/**
 * RE2 expands counted repetition (`x{n,m}` becomes up to m copies of x), so a short pattern can
 * compile to a huge program: `(a|b|c){1000}` is 13 characters and thousands of instructions, and
 * compiling or matching it takes time proportional to that size. This counts every character as
 * one instruction (a class `[a-z]` as its full text) and multiplies by the repeat counts around it,
 * so it never undercounts. RE2 refuses nested repeats whose counts multiply past 1000, so no
 * pattern it compiles exceeds 1000 instructions per character; the bound is capped there.
 */
export function regexProgramSize(pattern: string): number {
  const scanner = { text: pattern, at: 0 };
  let total = 0;
  while (scanner.at < pattern.length) {
    // A `)` with no `(` is an error for RE2; count it and go on.
    total += alternation(scanner);
    if (scanner.at < pattern.length) scanner.at++;
  }
  return Math.min(Math.max(1, total + 1), MAX_INSTRUCTIONS_PER_CHARACTER * (pattern.length + 1));
}

export const MAX_INSTRUCTIONS_PER_CHARACTER = 1000;

interface Scanner {
  readonly text: string;
  at: number;
}

/** alternatives separated by `|`, up to a closing `)` or the end. */
function alternation(s: Scanner): number {
  let size = sequence(s);
  while (s.text[s.at] === '|') {
    s.at++;
    size += sequence(s) + 1;
  }
  return size;
}

function sequence(s: Scanner): number {
  let size = 0;
  while (s.at < s.text.length && s.text[s.at] !== '|' && s.text[s.at] !== ')') {
    const atomSize = atom(s);
    size += repeat(s, atomSize);
  }
  return size;
}

function atom(s: Scanner): number {
  const ch = s.text[s.at];
  if (ch === '(') {
    s.at++;
    const inner = alternation(s);
    if (s.text[s.at] === ')') s.at++;
    return inner + 2;
  }
  if (ch === '[') return charClass(s);
  if (ch === '\\') return escaped(s);
  s.at++;
  return 1;
}

function escaped(s: Scanner): number {
  const start = s.at;
  const next = s.text[s.at + 1];
  if (next === 'Q') {
    const end = s.text.indexOf('\\E', s.at + 2);
    s.at = end < 0 ? s.text.length : end + 2;
    return Math.max(1, s.at - start);
  }
  s.at += 2;
  if ((next === 'p' || next === 'P' || next === 'x') && s.text[s.at] === '{') {
    const end = s.text.indexOf('}', s.at);
    s.at = end < 0 ? s.text.length : end + 1;
  }
  return s.at - start;
}

function charClass(s: Scanner): number {
  const start = s.at;
  s.at++;
  if (s.text[s.at] === '^') s.at++;
  if (s.text[s.at] === ']') s.at++;
  while (s.at < s.text.length && s.text[s.at] !== ']') {
    if (s.text[s.at] === '\\') s.at += 2;
    else if (s.text.startsWith('[:', s.at)) {
      const end = s.text.indexOf(':]', s.at + 2);
      s.at = end < 0 ? s.at + 1 : end + 2;
    } else s.at++;
  }
  if (s.at < s.text.length) s.at++;
  return s.at - start;
}

/** Applies a quantifier after an atom of `size` instructions, if there is one. */
function repeat(s: Scanner, size: number): number {
  const ch = s.text[s.at];
  if (ch === '*' || ch === '+' || ch === '?') {
    s.at++;
    if (s.text[s.at] === '?') s.at++;
    return repeat(s, size + 1);
  }
  if (ch !== '{') return size;
  const counted = /^\{(\d+)(,(\d*))?\}\??/.exec(s.text.slice(s.at, s.at + 24));
  if (!counted) return size;
  s.at += counted[0].length;
  const low = Number(counted[1]);
  const high = counted[3] === undefined ? low : counted[3] === '' ? low + 1 : Number(counted[3]);
  return repeat(s, size * Math.max(1, low, high) + 1);
}
