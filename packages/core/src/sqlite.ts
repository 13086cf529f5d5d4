// SQLite behind SqlDatabase, on node:sqlite (no native addon), in WAL mode.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { CoreError } from './errors.ts';
import { createLocalNotifications } from './notifications.ts';
import {
  CHECKPOINT_INTERVAL_MS,
  type Checkpointer,
  startCheckpointer,
  WRITER_AUTOCHECKPOINT_PAGES,
} from './sqlite-checkpointer.ts';
import {
  pendingMigrations,
  type SqlDatabase,
  type SqlExecutor,
  type SqlNotifications,
  type SqlRow,
  type SqlStatement,
  type SqlValue,
} from './sql.ts';
import { type StorageHealth, storageFaultKindOf, storageFaultOf, toStorageFault } from './storage-fault.ts';

export interface SqliteOptions {
  /** A file path, or ':memory:' for tests. */
  readonly path: string;
  /** Milliseconds a statement waits on a lock held by another process. */
  readonly busyTimeoutMs?: number;
  /**
   * Below this much free space on the database's file system, checkStorage() reports the storage full
   * even while small writes still fit in the write-ahead log's reused pages.
   */
  readonly minFreeBytes?: number;
  /** Opens the file read-only (every write then fails as ERR_STORAGE_UNWRITABLE). */
  readonly readOnly?: boolean;
  /**
   * Copies the write-ahead log into the database file from a worker thread as it fills (a server's
   * database), so the commit that reaches SQLite's checkpoint threshold finds little left to copy.
   */
  readonly checkpointInBackground?: boolean;
}

/** The default reserve: a megabyte is a few hundred pages of WAL growth, less than one large request. */
export const DEFAULT_MIN_FREE_BYTES = 1024 * 1024;

const STATEMENT_CACHE_LIMIT = 500;

/**
 * Opens a database. Durability: WAL with synchronous=NORMAL survives a crash or kill -9 of the
 * process (a committed transaction is in the WAL file); only an OS crash or power loss can lose the
 * last transactions, as SQLite documents.
 *
 * @example
 * ```ts
 * const db = openSqliteDatabase({ path: '.sealroom/sealroom.db' });
 * // Each package applies its own migrations (idempotent) before it reads or writes.
 * await db.migrate('kms', MIGRATIONS); // the package's SQL statements, applied once each, in order
 * ```
 */
export function openSqliteDatabase(options: SqliteOptions): SqlDatabase {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(options.path, { readOnly: options.readOnly === true });
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    if (options.path !== ':memory:' && options.readOnly !== true) db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
  } catch (error) {
    if (db?.isOpen) db.close();
    throw storageFaultOf(error) ?? error;
  }
  const background = options.checkpointInBackground === true && options.path !== ':memory:' && !options.readOnly;
  if (background) db.exec(`PRAGMA wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
  return new SqliteDatabase(db, options, background ? startCheckpointer(options.path) : undefined);
}

class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  readonly notifications: SqlNotifications = createLocalNotifications();
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  /**
   * Tail of the queue of transactions; statements outside a transaction wait behind it. Every wait is an
   * inline `while (this.#lock) await this.#lock`: no await may come between the last check and the
   * statement or the taking of the lock, or two callers pass together.
   */
  #lock: Promise<void> | undefined;
  /**
   * Set while the checkpointer copies the log: writes (transactions and `run`) wait for it as for the lock,
   * reads do not. Taken only when no transaction is open, with the same inline checks.
   */
  #copying: Promise<void> | undefined;
  /** Whether anything was written since the last copy was asked for. */
  #wrote = false;
  #copyTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #directory: string | undefined;
  readonly #minFreeBytes: number;
  readonly #checkpointer: Checkpointer | undefined;

  constructor(db: DatabaseSync, options: SqliteOptions, checkpointer?: Checkpointer) {
    this.#db = db;
    this.#checkpointer = checkpointer;
    this.#directory = options.path === ':memory:' ? undefined : dirname(options.path);
    this.#minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    if (checkpointer) {
      this.#copyTimer = setInterval(() => void this.#copyLog(checkpointer), CHECKPOINT_INTERVAL_MS);
      this.#copyTimer.unref();
    }
  }

  /**
   * Has the thread copy the log while writes go on, then copy what they added while none runs, so the whole log
   * is copied and the next write starts it over; writes wait only for the second, short copy.
   */
  async #copyLog(checkpointer: Checkpointer): Promise<void> {
    if (!this.#wrote || this.#copying || this.#closed) return;
    // Whatever this one managed (a reader elsewhere may hold part of the log back), the second copies the rest.
    await checkpointer.copy();
    while (this.#lock || this.#copying) await (this.#lock ?? this.#copying);
    // Another call may have copied while this one waited.
    if (this.#closed || !this.#wrote) return;
    let release!: () => void;
    this.#copying = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#wrote = false;
    try {
      await checkpointer.copy();
    } finally {
      this.#copying = undefined;
      release();
    }
  }

  /**
   * Runs one synchronous SQLite call, turning a storage fault (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY,
   * SQLITE_CANTOPEN) into ERR_STORAGE_FULL / ERR_STORAGE_UNWRITABLE, which answer 503 and say so.
   */
  #call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw storageFaultOf(error) ?? error;
    }
  }

  #prepare(sql: string): StatementSync {
    if (this.#closed) throw new CoreError('ERR_UNAVAILABLE', 'The database is closed.');
    let statement = this.#statements.get(sql);
    if (!statement) {
      if (this.#statements.size >= STATEMENT_CACHE_LIMIT) this.#statements.clear();
      statement = this.#db.prepare(sql);
      statement.setReadBigInts(false);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #allSync<R extends SqlRow>(sql: string, params: readonly SqlValue[]): R[] {
    return this.#call(() => this.#prepare(sql).all(...params) as R[]);
  }

  #getSync<R extends SqlRow>(sql: string, params: readonly SqlValue[]): R | undefined {
    return this.#call(() => this.#prepare(sql).get(...params) as R | undefined);
  }

  #runSync(sql: string, params: readonly SqlValue[]): { changes: number } {
    this.#wrote = true;
    const result = this.#call(() => this.#prepare(sql).run(...params));
    return { changes: Number(result.changes) };
  }

  async #waitForLock(): Promise<void> {
    while (this.#lock || this.#copying) await (this.#lock ?? this.#copying);
  }

  async all<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    while (this.#lock) await this.#lock;
    return this.#allSync<R>(sql, params);
  }

  async get<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    while (this.#lock) await this.#lock;
    return this.#getSync<R>(sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    while (this.#lock || this.#copying) await (this.#lock ?? this.#copying);
    return this.#runSync(sql, params);
  }

  /** All or none, like PostgreSQL's: the statements share one transaction. */
  async runBatch(statements: readonly SqlStatement[]): Promise<void> {
    await this.transaction(async (tx) => tx.runBatch(statements));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    while (this.#lock || this.#copying) await (this.#lock ?? this.#copying);
    let release!: () => void;
    this.#lock = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tx: SqlExecutor = {
      all: async (sql, params = []) => this.#allSync(sql, params),
      get: async (sql, params = []) => this.#getSync(sql, params),
      run: async (sql, params = []) => this.#runSync(sql, params),
      runBatch: async (statements) => {
        for (const statement of statements) this.#runSync(statement.sql, statement.params ?? []);
      },
    };
    this.#wrote = true;
    try {
      this.#call(() => this.#db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await fn(tx);
        this.#call(() => this.#db.exec('COMMIT'));
        return result;
      } catch (error) {
        // SQLite may already have rolled back on SQLITE_FULL or SQLITE_IOERR (sqlite.org/lang_transaction.html).
        if (this.#db.isTransaction) this.#rollbackAfter();
        throw error;
      }
    } finally {
      this.#lock = undefined;
      release();
    }
  }

  /**
   * A ROLLBACK that fails too (the disk went away) must not hide the error that caused it; SQLite then
   * rolls the transaction back itself when the connection next reads (hot journal / WAL recovery).
   */
  #rollbackAfter(): void {
    try {
      this.#db.exec('ROLLBACK');
    } catch {
      // The caller gets the first error, which says what went wrong.
    }
  }

  async checkStorage(): Promise<StorageHealth> {
    try {
      await this.transaction(async (tx) => {
        await tx.run('CREATE TABLE IF NOT EXISTS sealroom_storage_probe (id INTEGER PRIMARY KEY, probe_time INTEGER)');
        await tx.run(
          'INSERT INTO sealroom_storage_probe (id, probe_time) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET probe_time = excluded.probe_time',
          [Date.now()],
        );
      });
    } catch (error) {
      const kind = storageFaultKindOf(error);
      if (!kind) throw error;
      return { ok: false, fault: kind, message: toStorageFault(kind).message };
    }
    if (this.#directory === undefined) return { ok: true };
    const stats = await statfs(this.#directory);
    const freeBytes = stats.bavail * stats.bsize;
    if (freeBytes < this.#minFreeBytes) {
      return {
        ok: false,
        fault: 'full',
        message: `The server’s storage is full: ${Math.floor(freeBytes / 1024)} KiB free, at least ${Math.ceil(this.#minFreeBytes / 1024)} KiB needed.`,
      };
    }
    return { ok: true };
  }

  async migrate(namespace: string, migrations: readonly string[]): Promise<void> {
    await this.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (namespace, version))',
    );
    for (const version of await pendingMigrations(this, namespace, migrations.length)) {
      const sql = migrations[version - 1] as string;
      await this.transaction(async (tx) => {
        // Checked again inside: a concurrent migrate of the same namespace may have applied it meanwhile.
        const done = await tx.get('SELECT 1 AS done FROM schema_migrations WHERE namespace = ? AND version = ?', [
          namespace,
          version,
        ]);
        if (done) return;
        for (const statement of splitStatements(sql)) await tx.run(statement);
        await tx.run('INSERT INTO schema_migrations (namespace, version) VALUES (?, ?)', [namespace, version]);
      });
    }
  }

  async close(): Promise<void> {
    await this.#waitForLock();
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#copyTimer);
    this.#statements.clear();
    await this.#checkpointer?.stop();
    this.#db.close();
  }
}

/** Splits a migration on semicolons that end a line (migrations hold no procedural code). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
