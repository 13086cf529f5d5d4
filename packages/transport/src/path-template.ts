// Google HTTP-rule path templates (google/api/http.proto) compiled to matchers.
import { CoreError } from '@sealroom/core';

export interface CompiledTemplate {
  readonly template: string;
  /** Number of literal characters; more literal templates are tried first. */
  readonly specificity: number;
  match(path: string): Record<string, string> | undefined;
}

/**
 * Compiles `/v1/{name=projects/*\/locations/*}/keyRings`, `/v1/{resource=**}:getIamPolicy` or
 * `/v2/{name=**}/blobs/{digest}`. `*` matches one segment, `**` one or more; a bare `{var}` is `{var=*}`.
 */
export function compileTemplate(template: string): CompiledTemplate {
  if (!template.startsWith('/')) throw new CoreError('ERR_INTERNAL', `Route template must start with '/': ${template}`);
  const names: string[] = [];
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
      regex += `(${patternToRegex(pattern)})`;
      specificity += pattern.replace(/\*+/g, '').length;
      i = end + 1;
    } else {
      regex += escapeRegex(ch);
      specificity += 1;
      i += 1;
    }
  }
  regex += '$';
  const compiled = new RegExp(regex);
  return {
    template,
    specificity,
    match(path) {
      const m = compiled.exec(path);
      if (!m) return undefined;
      const out: Record<string, string> = {};
      for (let k = 0; k < names.length; k++) out[names[k] as string] = m[k + 1] as string;
      return out;
    },
  };
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
