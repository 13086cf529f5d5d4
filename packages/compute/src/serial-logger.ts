// The launcher's log on the instance's serial console: one line per entry, fields as compact JSON.
import type { LogFields, Logger } from '@sealroom/core';

function toJsonSafe(value: unknown): unknown {
  // Messages and codes only: a cause chain says why (e.g. the verifier's refusal) without stacks or payloads.
  if (value instanceof Error)
    return {
      message: value.message,
      ...('code' in value ? { code: value.code } : {}),
      ...(value.cause instanceof Error ? { cause: toJsonSafe(value.cause) } : {}),
    };
  return value;
}

export function createSerialLogger(write: (line: string) => void, bound: LogFields = {}): Logger {
  const log = (level: string) => (fields: LogFields, message: string) => {
    const all = { ...bound, ...fields };
    const keys = Object.keys(all);
    const rest = keys.length > 0 ? ` ${JSON.stringify(all, (_k, v: unknown) => toJsonSafe(v))}` : '';
    write(`launcher ${level}: ${message}${rest}`);
  };
  return {
    debug: () => {},
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createSerialLogger(write, { ...bound, ...fields }),
  };
}
