// Value parsers shared by the launch spec and the launch policy, with Go's semantics where Google's launcher uses Go's.
import { posix } from 'node:path';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's `strconv.ParseBool`; undefined when the text is not one of its twelve spellings. */
export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

/** Env names the verifier accepts (a name outside this rejects the whole event log). */
export const ENV_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Go's `filepath.Clean` for absolute or relative POSIX paths (no trailing slash, `.`/`..` resolved). */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const normalized = posix.normalize(path);
  const trimmed = normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
  // posix.normalize keeps leading `..` above the root of an absolute path out already: `/..` is `/`.
  return trimmed;
}

/** True when `target` is `base` or below it, with the rule of Go's `filepath.Rel` (not `..`, not `../…`). */
export function isPathWithin(base: string, target: string): boolean {
  const rel = posix.relative(cleanPath(base), cleanPath(target));
  return rel !== '..' && !rel.startsWith('../');
}

export type MonitoringType = 'none' | 'memoryonly' | 'all';

/** `none`, `memoryonly` or `all`, case-insensitive; empty is `none` (`memory_only` is not accepted). */
export function parseMonitoringType(text: string): MonitoringType | undefined {
  const lower = text.toLowerCase();
  if (lower === '' || lower === 'none') return 'none';
  if (lower === 'memoryonly' || lower === 'all') return lower;
  return undefined;
}

/** UTF-8 byte length of a string, the unit of the documented token-request limits. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
