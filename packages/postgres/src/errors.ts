// PostgreSQL errors (SQLSTATE codes, connection failures) mapped to core's catalogued storage errors.
import { CoreError, toStorageFault } from '@sealroom/core';

/** SQLSTATEs (PostgreSQL Appendix A) that say a serializable transaction should be run again. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Class 53 "insufficient resources": disk full and out of memory or connections. */
const DISK_FULL = '53100';
/** Writes refused: a read-only transaction or a standby, and the admin's shutdown of the server. */
const UNWRITABLE = new Set(['25006', '57P01', '57P02', '57P03']);
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isRetryableConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && RETRYABLE.has(code);
}

/**
 * A unique violation in a serializable transaction that read the key first is a lost race, which
 * PostgreSQL may report as 23505 instead of 40001 ("Serializable Isolation Level" in its manual): run
 * again, it reads the winner's row. A real duplicate fails the same way every run and is passed on.
 */
export function isUniqueViolation(error: unknown): boolean {
  return codeOf(error) === '23505';
}

/**
 * A storage fault or an unreachable server becomes a 503 that says so (retryable); anything else (a
 * constraint, a syntax error) is passed on as it is. Messages name no host, user or password.
 */
export function toDatabaseError(error: unknown): unknown {
  if (error instanceof CoreError) return error;
  const code = codeOf(error);
  if (code === DISK_FULL) return toStorageFault('full', error);
  if (code !== undefined && UNWRITABLE.has(code)) return toStorageFault('unwritable', error);
  const message = error instanceof Error ? error.message : '';
  if (
    (code !== undefined && (CONNECTION_ERRNOS.has(code) || code.startsWith('08'))) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)
  ) {
    return new CoreError('ERR_UNAVAILABLE', 'The database server is unreachable; retry shortly.', { cause: error });
  }
  return error;
}
