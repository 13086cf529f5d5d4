// The logging interface libraries take (they never write to stdout), and the redaction rule.
import { SealroomError } from './errors.ts';

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

/** Field names whose values never reach a log line: a token, key or plaintext is never logged. */
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
    return {
      type: value.name,
      message: value.message,
      code: (value as { code?: unknown }).code,
      ...causeChain(value.cause),
    };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_NAME.test(k) && !SAFE_NAMES.has(k) ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
}

/** How many causes below a logged error are followed. */
const MAX_CAUSES = 8;

function causeFields(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(error instanceof SealroomError ? { message: error.message } : {}),
  };
}

/**
 * The errors a logged error was caused by, outermost first, each with its type and code, so that a log
 * line says what failed underneath (ERR_STORAGE_FULL ← ERR_SQLITE_ERROR). Only Sealroom errors, whose
 * messages never hold a secret, keep their message: a library's message may quote its
 * input, which can be a token or plaintext.
 */
function causeChain(first: unknown): { causes?: Record<string, unknown>[] } {
  const causes: Record<string, unknown>[] = [];
  const seen = new Set<unknown>();
  for (let cause = first; cause !== undefined && cause !== null && causes.length < MAX_CAUSES; ) {
    if (seen.has(cause)) break;
    seen.add(cause);
    if (!(cause instanceof Error)) {
      causes.push({ type: typeof cause });
      break;
    }
    causes.push(causeFields(cause));
    cause = cause.cause;
  }
  return causes.length > 0 ? { causes } : {};
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
