// The logging interface libraries take (they never write to stdout), and the redaction rule.

export interface LogFields {
  readonly [key: string]: unknown;
}

export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  child(fields: LogFields): Logger;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** Field names whose values never reach a log line (STYLE.md rule 21). */
const SECRET_NAME = /token|secret|key|password|passphrase|authorization|cookie|plaintext|credential|assertion|private/i;

/** Names that match the pattern above but are safe identifiers, logged as they are. */
const SAFE_NAMES = new Set(['kid', 'keyId', 'key_id', 'keyName', 'cryptoKey', 'tokenType', 'keyRing']);

export const REDACTED = '[redacted]';

/** Returns a copy of `value` with every secret-named field replaced; depth-limited and cycle-safe. */
export function redact(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error)
    return { type: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_NAME.test(k) && !SAFE_NAMES.has(k) ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
}

/** A logger that records entries in memory, for tests that assert what was (not) logged. */
export interface MemoryLogger extends Logger {
  readonly entries: { level: string; fields: LogFields; message: string }[];
}

export function createMemoryLogger(base: LogFields = {}): MemoryLogger {
  const entries: { level: string; fields: LogFields; message: string }[] = [];
  const make = (bound: LogFields): Logger => {
    const log = (level: string) => (fields: LogFields, message: string) => {
      entries.push({ level, fields: redact({ ...bound, ...fields }) as LogFields, message });
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (fields) => make({ ...bound, ...fields }),
    };
  };
  return Object.assign(make(base), { entries });
}
