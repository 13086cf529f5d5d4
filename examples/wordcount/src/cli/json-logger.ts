// JSON-lines logging for the workload's own process (the launcher forwards its stdout to the instance log).
import { type LogFields, type Logger, redact } from '@sealroom/core';

export function createJsonLinesLogger(write: (line: string) => void, base: LogFields = {}): Logger {
  const log = (level: string) => (fields: LogFields, message: string) =>
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...(redact({ ...base, ...fields }) as object) })}\n`,
    );
  return {
    debug: () => {},
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createJsonLinesLogger(write, { ...base, ...fields }),
  };
}
