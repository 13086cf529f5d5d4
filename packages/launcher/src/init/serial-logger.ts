// The launcher's log on the instance's serial console: one line per entry, fields as compact JSON.
import { type LogFields, type Logger, redact } from '@sealroom/core';

export function createSerialLogger(write: (line: string) => void, bound: LogFields = {}): Logger {
  const log = (level: string) => (fields: LogFields, message: string) => {
    const all = { ...bound, ...fields };
    const keys = Object.keys(all);
    // The operator reads the serial console: the same redaction as every other log, so a field named like a
    // token or key never reaches it, and errors keep their code and cause chain without stacks or payloads.
    const rest = keys.length > 0 ? ` ${JSON.stringify(redact(all))}` : '';
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
