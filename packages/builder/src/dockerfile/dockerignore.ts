// `.dockerignore` patterns with the engine's semantics (moby patternmatcher): Go `filepath.Match` globs
// plus `**`, `!` exceptions, the last matching pattern wins, and a pattern matching a directory matches its contents.
import { BuilderError } from '../errors.ts';

interface Pattern {
  readonly exclusion: boolean;
  readonly regex: RegExp;
  readonly text: string;
}

export interface IgnoreMatcher {
  /** True when `path` (context-relative, `/`-separated) is left out of the context. */
  ignores(path: string): boolean;
  /** True when some `!` pattern could bring back a path under `dir` (so the walk must enter it). */
  mayReinclude(dir: string): boolean;
}

const SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

function cleanPath(text: string): string {
  const parts: string[] = [];
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function compile(text: string, line: number): RegExp {
  let source = '^';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '*') {
      if (text[i + 1] === '*') {
        i += 1;
        if (text[i + 1] === '/') i += 1;
        source += i + 1 >= text.length ? '.*' : '(.*/)?';
      } else source += '[^/]*';
    } else if (ch === '?') source += '[^/]';
    else if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined)
        throw new BuilderError('ERR_BUILDER_CONTEXT', `.dockerignore line ${line}: trailing '\\'.`);
      source += `\\${next}`;
      i += 1;
    } else if (ch === '[') {
      const close = text.indexOf(']', i + 2);
      if (close < 0) throw new BuilderError('ERR_BUILDER_CONTEXT', `.dockerignore line ${line}: unclosed '['.`);
      const body = text
        .slice(i + 1, close)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      source += `[${body}]`;
      i = close;
    } else source += SPECIAL.has(ch) ? `\\${ch}` : ch;
  }
  try {
    return new RegExp(`${source}$`, 'u');
  } catch {
    throw new BuilderError('ERR_BUILDER_CONTEXT', `.dockerignore line ${line}: invalid pattern.`);
  }
}

/** Parses `.dockerignore` text; an empty text ignores nothing. */
export function parseDockerignore(text: string): IgnoreMatcher {
  const patterns: Pattern[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    const cleaned = cleanPath(line);
    if (cleaned === '') continue;
    patterns.push({ exclusion, regex: compile(cleaned, index + 1), text: cleaned });
  }
  const matchesOrParent = (pattern: Pattern, path: string): boolean => {
    if (pattern.regex.test(path)) return true;
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) if (pattern.regex.test(parts.slice(0, i).join('/'))) return true;
    return false;
  };
  return {
    ignores(path) {
      let matched = false;
      for (const pattern of patterns) {
        if (pattern.exclusion !== matched) continue;
        if (matchesOrParent(pattern, path)) matched = !pattern.exclusion;
      }
      return matched;
    },
    mayReinclude(dir) {
      return patterns.some((p) => {
        if (!p.exclusion) return false;
        // The exception's fixed leading components (before any `**`, and not its last one) must agree
        // with `dir` component by component; wildcards in them agree with what they match.
        const want = p.text.split('/');
        const globstar = want.findIndex((part) => part.includes('**'));
        const fixed = globstar < 0 ? want.slice(0, -1) : want.slice(0, globstar);
        return dir.split('/').every((part, i) => i >= fixed.length || compile(fixed[i] as string, 0).test(part));
      });
    },
  };
}
