// The storage seam: a small async SQL interface that SQLite (`openSqliteDatabase`) and PostgreSQL implement.
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
  /**
   * Writes whose results are not needed, in order and all or none: on PostgreSQL one round trip for all of
   * them. Inside a transaction they may be sent with the next statement or with the COMMIT, so an error in
   * them fails the transaction rather than this call.
   */
  runBatch(statements: readonly SqlStatement[]): Promise<void>;
}

export interface SqlStatement {
  readonly sql: string;
  readonly params?: readonly SqlValue[];
}

export interface TransactionOptions {
  /**
   * Transactions naming the same key run one after another across every process on the database, each
   * seeing everything the previous ones committed, so a hot row such as a hash chain's head is never read
   * stale and the transaction is not retried. On PostgreSQL they take a transaction-scoped advisory lock and
   * run READ COMMITTED: the rows they read-modify-write must be written only by transactions naming the same
   * key (a chain's head, a log's end). SQLite serialises every transaction anyway. Several keys are taken in
   * sorted order, so two transactions naming overlapping sets never wait for each other in a cycle.
   */
  readonly serializeOn?: string | readonly string[];
}

/**
 * Change notifications between every process sharing one database (PostgreSQL LISTEN/NOTIFY; in-process
 * for SQLite, whose file one process serves). A handler runs for changes made by this process too, at once.
 */
export interface SqlNotifications {
  /** Tells every subscriber of `channel` (here and in the other processes); `payload` at most 1000 bytes. */
  publish(channel: string, payload: string): Promise<void>;
  /** Calls `handler` for every publish on `channel`; the returned function unsubscribes. */
  subscribe(channel: string, handler: (payload: string) => void): () => void;
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Transactions
   * are serializable: the outcome is that of running them one after another, so a read-then-write in
   * `fn` never acts on a value another process changed meanwhile. PostgreSQL may run `fn` again after a
   * serialization conflict, so `fn` must have no effect outside the database before it resolves.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Notifications between the processes that share this database (caches dropped on another's change). */
  readonly notifications: SqlNotifications;
  /**
   * Applies the not-yet-applied migrations of `namespace`, in order, each in its own transaction, once
   * however many processes start together (PostgreSQL: under an advisory lock).
   */
  migrate(namespace: string, migrations: readonly string[]): Promise<void>;
  /**
   * Probes whether the storage takes writes: one small committed write, and (for files) enough free space
   * on the file system. A storage fault is reported, not thrown; other errors are thrown.
   */
  checkStorage(): Promise<StorageHealth>;
  close(): Promise<void>;
}

/**
 * The versions (1-based, in order) of a namespace's `count` migrations that schema_migrations does not list:
 * the one bookkeeping query every implementation's `migrate` starts from.
 */
export async function pendingMigrations(db: SqlExecutor, namespace: string, count: number): Promise<number[]> {
  const rows = await db.all<{ version: number | string }>('SELECT version FROM schema_migrations WHERE namespace = ?', [
    namespace,
  ]);
  const applied = new Set(rows.map((r) => Number(r.version)));
  return Array.from({ length: count }, (_, i) => i + 1).filter((version) => !applied.has(version));
}
