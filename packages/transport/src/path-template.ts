// Google HTTP-rule path templates (google/api/http.proto) compiled to matchers.
import { CoreError } from '@sealroom/core';

export interface CompiledTemplate {
  readonly template: string;
  /** Number of literal characters; more literal templates are tried first. */
  readonly specificity: number;
  /**
   * The variables of `path`, or undefined when it does not match. A caller trying many templates on one path
   * passes `segments` (`path.split('/')`): a template then refuses a path whose segment count or fixed literal
   * segments differ without running its expression.
   */
  match(path: string, segments?: readonly string[]): Record<string, string> | undefined;
  /** Whether a path of `count` segments (`path.split('/').length`) can match at all. */
  fitsSegmentCount(count: number): boolean;
}

/**
 * Compiles `/v1/{name=projects/*\/locations/*}/keyRings`, `/v1/{resource=**}:getIamPolicy` or
 * `/v2/{name=**}/blobs/{digest}`. `*` matches one segment, `**` one or more; a bare `{var}` is `{var=*}`.
 */
export function compileTemplate(template: string): CompiledTemplate {
  if (!template.startsWith('/')) throw new CoreError('ERR_INTERNAL', `Route template must start with '/': ${template}`);
  const names: string[] = [];
  // The template with each variable replaced by its pattern: `/v1/projects/*/locations/*/keyRings/*`.
  let expanded = '';
  let regex = '^';
  let specificity = 0;
  let i = 0;
  while (i < template.length) {
    const ch = template[i] as string;
    if (ch === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new CoreError('ERR_INTERNAL', `Unclosed variable in route template: ${template}`);
      const body = template.slice(i + 1, end);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      const pattern = eq < 0 ? '*' : body.slice(eq + 1);
      names.push(name);
      expanded += pattern;
      regex += `(${patternToRegex(pattern)})`;
      specificity += pattern.replace(/\*+/g, '').length;
      i = end + 1;
    } else {
      expanded += ch;
      regex += escapeRegex(ch);
      specificity += 1;
      i += 1;
    }
  }
  regex += '$';
  const compiled = new RegExp(regex);
  const shape = shapeOf(expanded);
  return {
    template,
    specificity,
    fitsSegmentCount: (count) => fitsCount(shape, count),
    match(path, segments) {
      if (segments !== undefined && !fits(shape, segments)) return undefined;
      const m = compiled.exec(path);
      if (!m) return undefined;
      const out: Record<string, string> = {};
      for (let k = 0; k < names.length; k++) out[names[k] as string] = m[k + 1] as string;
      return out;
    },
  };
}

/** What every path a template matches has: a segment count and literal segments at fixed positions. */
interface Shape {
  /** Segments of the shortest path matched; `**` matches one or more, so a deep template takes longer ones. */
  readonly segments: number;
  readonly deep: boolean;
  /** Whole literal segments before the first `**` (where positions are still fixed): index and text. */
  readonly literals: readonly (readonly [number, string])[];
}

function shapeOf(expanded: string): Shape {
  const parts = expanded.split('/');
  const firstDeep = parts.findIndex((part) => part.includes('**'));
  const literals: [number, string][] = [];
  for (let i = 0; i < (firstDeep < 0 ? parts.length : firstDeep); i++) {
    const part = parts[i] as string;
    if (!part.includes('*')) literals.push([i, part]);
  }
  return { segments: parts.length, deep: firstDeep >= 0, literals };
}

/** `**` matches one segment or more, so a deep template takes longer paths; any other, exactly its count. */
function fitsCount(shape: Shape, count: number): boolean {
  return shape.deep ? count >= shape.segments : count === shape.segments;
}

/** A necessary condition of the expression: `*` and `a*b` match within one segment, `**` one or more. */
function fits(shape: Shape, segments: readonly string[]): boolean {
  if (!fitsCount(shape, segments.length)) return false;
  for (const [index, text] of shape.literals) {
    if (segments[index] !== text) return false;
  }
  return true;
}

function patternToRegex(pattern: string): string {
  return pattern
    .split('/')
    .map((segment) => {
      if (segment === '**') return '[^/]+(?:/[^/]+)*?';
      if (segment === '*') return '[^/]+';
      return segment.split('*').map(escapeRegex).join('[^/]*');
    })
    .join('/');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
