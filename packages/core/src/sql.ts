// The storage seam: a small async SQL interface that SQLite implements now and PostgreSQL can later.
import type { StorageHealth } from './storage-fault.ts';

export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

/**
 * Statements use `?` placeholders and portable SQL (TEXT, INTEGER, BLOB, `ON CONFLICT`); a PostgreSQL
 * implementation rewrites placeholders and maps BLOB to BYTEA. Every method is async so that a
 * networked database fits behind the same interface.
 */
export interface SqlExecutor {
  all<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  get<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Other
   * statements wait until it ends, so nothing outside sees or joins a half-done change.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Applies the not-yet-applied migrations of `namespace`, in order, each in its own transaction. */
  migrate(namespace: string, migrations: readonly string[]): Promise<void>;
  /**
   * Probes whether the storage takes writes: one small committed write, and (for files) enough free space
   * on the file system. A storage fault is reported, not thrown; other errors are thrown.
   */
  checkStorage(): Promise<StorageHealth>;
  close(): Promise<void>;
}
