// The pino wiring of the Logger interface: JSON lines on stderr, every secret-named field redacted.
import { type LogFields, type Logger, redact } from '@sealroom/core';
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createPinoLogger(level: LogLevel, destination: NodeJS.WritableStream = process.stderr): Logger {
  const base = pino(
    {
      level,
      base: { service: 'sealroom' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream,
  );
  return wrap(base);
}

function wrap(log: pino.Logger): Logger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (fields: LogFields, message: string) => {
    if (log.isLevelEnabled(level)) log[level](redact(fields) as object, message);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => wrap(log.child(redact(fields) as object)),
  };
}
