// The portable SQL the stores write (`?` placeholders, SQLite column types) turned into PostgreSQL's.
import { CoreError, type SqlValue } from '@sealroom/core';

/**
 * Calls `onCode` for each stretch of `sql` outside string literals, quoted identifiers and comments, and
 * keeps the rest as it is: a `?` or a type name inside a literal is text, not SQL.
 */
function mapCode(sql: string, onCode: (code: string) => string): string {
  let out = '';
  let code = '';
  let i = 0;
  const flush = () => {
    out += onCode(code);
    code = '';
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    let end = -1;
    if (c === "'" || c === '"') {
      end = i + 1;
      for (;;) {
        end = sql.indexOf(c, end);
        if (end === -1) {
          end = sql.length;
          break;
        }
        if (sql[end + 1] === c) end += 2;
        else {
          end += 1;
          break;
        }
      }
    } else if (c === '-' && next === '-') {
      end = sql.indexOf('\n', i);
      if (end === -1) end = sql.length;
    } else if (c === '/' && next === '*') {
      end = sql.indexOf('*/', i + 2);
      end = end === -1 ? sql.length : end + 2;
    }
    if (end === -1) {
      code += c;
      i += 1;
    } else {
      flush();
      out += sql.slice(i, end);
      i = end;
    }
  }
  flush();
  return out;
}

/** `?` placeholders become `$1`, `$2`, … in order. */
export function toPostgresPlaceholders(sql: string): string {
  let n = 0;
  return mapCode(sql, (code) => code.replace(/\?/g, () => `$${++n}`));
}

/**
 * Migration DDL: SQLite's INTEGER holds 64 bits, PostgreSQL's 32, so INTEGER becomes BIGINT (times in
 * milliseconds and sizes outgrow 32 bits); BLOB becomes BYTEA.
 */
export function toPostgresDdl(sql: string): string {
  return mapCode(sql, (code) => code.replace(/\bINTEGER\b/g, 'BIGINT').replace(/\bBLOB\b/g, 'BYTEA'));
}

/** Splits a migration on semicolons that end a line (migrations hold no procedural code). */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * A value as a PostgreSQL literal for a simple query, which carries no parameters. Strings use the E'' form
 * with backslashes and quotes escaped, which reads the same whatever standard_conforming_strings says; bytes
 * are hex BYTEA; numbers must be finite. The literal is untyped like a bound parameter, so the column's type
 * applies.
 */
export function toPostgresLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new CoreError('ERR_INVALID_ARGUMENT', 'A number to write must be finite.');
    // In parentheses when negative: `a -?` must not become the comment `a --5`.
    return value < 0 ? `(${value})` : String(value);
  }
  if (typeof value === 'string') {
    if (value.includes('\0'))
      throw new CoreError('ERR_INVALID_ARGUMENT', 'PostgreSQL text cannot hold a NUL character.');
    return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  }
  return `E'\\\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'::bytea`;
}

/** A statement with `?` placeholders and its parameters as one parameterless statement (literals in place). */
export function toPostgresInlined(sql: string, params: readonly SqlValue[]): string {
  let n = 0;
  const out = mapCode(sql, (code) =>
    code.replace(/\?/g, () => {
      if (n >= params.length)
        throw new CoreError('ERR_INTERNAL', 'The statement has more placeholders than parameters.');
      return toPostgresLiteral(params[n++] as SqlValue);
    }),
  );
  if (n !== params.length) throw new CoreError('ERR_INTERNAL', 'The statement has fewer placeholders than parameters.');
  return out;
}
