// Resource names (`projects/{project}/locations/{location}/…`): parse against a template, format from values.
import { CoreError } from './errors.ts';

/** A segment value: Google ids are short, printable and never contain '/'. */
const SEGMENT = /^[A-Za-z0-9._~@+%:-]{1,255}$/;

export interface ResourceTemplate<K extends string> {
  readonly pattern: string;
  readonly keys: readonly K[];
  parse(name: string): Record<K, string>;
  tryParse(name: string): Record<K, string> | undefined;
  format(values: Record<K, string>): string;
}

/**
 * Compiles a template such as `projects/{project}/locations/{location}/keyRings/{keyRing}`.
 * Literal segments must match exactly; each `{key}` matches one non-empty segment.
 */
export function resourceTemplate<K extends string>(pattern: string): ResourceTemplate<K> {
  const parts = pattern.split('/');
  const keys: K[] = [];
  // Per part, the variable it holds (undefined for a literal part): worked out once, not on every name.
  const keyAt: (K | undefined)[] = parts.map((part) => {
    const match = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/.exec(part);
    if (match) keys.push(match[1] as K);
    return match ? (match[1] as K) : undefined;
  });
  const tryParse = (name: string): Record<K, string> | undefined => {
    const segments = name.split('/');
    if (segments.length !== parts.length) return undefined;
    const out = {} as Record<K, string>;
    for (let i = 0; i < parts.length; i++) {
      const key = keyAt[i];
      const segment = segments[i] as string;
      if (key !== undefined) {
        if (!SEGMENT.test(segment) || segment === '.' || segment === '..') return undefined;
        out[key] = segment;
      } else if (parts[i] !== segment) {
        return undefined;
      }
    }
    return out;
  };
  return {
    pattern,
    keys,
    tryParse,
    parse(name) {
      const parsed = tryParse(name);
      if (!parsed) {
        throw new CoreError(
          'ERR_INVALID_RESOURCE_NAME',
          `Resource name '${truncate(name)}' does not match the pattern '${pattern}'.`,
        );
      }
      return parsed;
    },
    format(values) {
      let name = '';
      for (let i = 0; i < parts.length; i++) {
        const key = keyAt[i];
        let text = parts[i] as string;
        if (key !== undefined) {
          const value = values[key];
          if (typeof value !== 'string' || !SEGMENT.test(value)) {
            throw new CoreError('ERR_INVALID_RESOURCE_NAME', `Invalid value for '${key}' in '${pattern}'.`);
          }
          text = value;
        }
        name = i === 0 ? text : `${name}/${text}`;
      }
      return name;
    },
  };
}

/** Validates a user-chosen resource id against Google's common rule (letters, digits, '-' and '_'). */
export function checkResourceId(id: string, what: string, pattern = /^[a-zA-Z0-9_-]{1,63}$/): string {
  if (!pattern.test(id)) {
    throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid ${what} '${truncate(id)}': must match ${pattern.source}.`);
  }
  return id;
}

/** The project id rule: 6–30 characters, lowercase letters, digits and hyphens, starting with a letter. */
export const PROJECT_ID_PATTERN = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Returns the `projects/{p}` prefix of a resource name, or undefined when it has none. */
export function projectOf(name: string): string | undefined {
  const match = /^projects\/([^/]+)/.exec(name);
  return match ? match[1] : undefined;
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
