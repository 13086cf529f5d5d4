// PostgreSQL behind SqlDatabase, through the pure-JavaScript `pg` client and one connection pool.
import { randomUUID } from 'node:crypto';
import {
  CoreError,
  pendingMigrations,
  type SqlDatabase,
  type SqlExecutor,
  type SqlNotifications,
  type SqlRow,
  type SqlStatement,
  type SqlValue,
  type StorageHealth,
  storageFaultKindOf,
  type TransactionOptions,
  toStorageFault,
} from '@sealroom/core';
import pg from 'pg';
import { isRetryableConflict, isUniqueViolation, toDatabaseError } from './errors.ts';
import { createPostgresNotifications } from './notifications.ts';
import { splitStatements, toPostgresDdl, toPostgresInlined, toPostgresPlaceholders } from './translate.ts';

export interface PostgresOptions {
  /** `postgres://user@host:port/database` (libpq's URI form); a password in it is never logged. */
  readonly url: string;
  /** Connections in the pool; each replica holds at most this many (one more for notifications). */
  readonly maxConnections?: number;
  /** Runs of a transaction that keeps losing serialization conflicts before ERR_ABORTED. */
  readonly maxTransactionAttempts?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 10;
const DEFAULT_MAX_ATTEMPTS = 30;
/** Runs after a unique violation: enough for a lost race to read the winner, few for a real duplicate. */
const UNIQUE_VIOLATION_ATTEMPTS = 10;
/** The advisory lock every migration takes: one process at a time changes the schema. */
const MIGRATION_LOCK = 'sealroom-migrations';

/** OIDs of pg_type (PostgreSQL's catalog) whose text form the stores read as numbers or strings. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const BOOL_OID = 16;
const JSON_OID = 114;
const JSONB_OID = 3802;

/**
 * Rows come back as the SQLite store code reads them: 64-bit integers and sums as numbers (every value
 * the stores keep — times in milliseconds, sizes, sequence numbers — is below 2^53), booleans as 1/0,
 * JSON as its text, BYTEA as a Buffer.
 */
function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (format !== 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return toSafeNumber;
    if (oid === BOOL_OID) return (value) => (value === 't' ? 1 : 0);
    if (oid === JSON_OID || oid === JSONB_OID) return (value) => value;
  }
  return pg.types.getTypeParser(oid, (format ?? 'text') as 'text');
}

function toSafeNumber(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) && Number.isInteger(value)) {
    throw new CoreError('ERR_INTERNAL', 'The database returned an integer beyond 2^53.');
  }
  return value;
}

/**
 * Opens a pool on `url` and checks that the server answers. Transactions run SERIALIZABLE on one pooled
 * connection and are run again on a serialization conflict, so they keep SQLite's one-at-a-time outcome
 * across every replica.
 *
 * @example
 * ```ts
 * const db = await openPostgresDatabase({ url: 'postgres://sealroom@127.0.0.1:5432/sealroom' });
 * await db.migrate('kms', MIGRATIONS); // applied once, under an advisory lock, however many replicas start
 * ```
 */
export async function openPostgresDatabase(options: PostgresOptions): Promise<SqlDatabase> {
  const config: pg.PoolConfig = {
    connectionString: options.url,
    max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    types: { getTypeParser: typeParser as never },
    application_name: 'sealroom',
  };
  const pool = new pg.Pool(config);
  // An idle connection that breaks (the server restarted) is dropped from the pool; the next query reconnects.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw toDatabaseError(error);
  }
  return new PostgresDatabase(pool, config, options);
}

/** A string as an SQL literal: quotes doubled (standard_conforming_strings is on since PostgreSQL 9.1). */
function toLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** What a pooled connection is released with when it may hold a transaction or a lock: it is closed. */
function connectionInDoubt(cause: unknown): Error {
  return cause instanceof Error
    ? cause
    : new CoreError('ERR_UNAVAILABLE', 'The database connection failed.', { cause });
}

const translated = new Map<string, string>();
function toSql(sql: string): string {
  let out = translated.get(sql);
  if (out === undefined) {
    out = toPostgresPlaceholders(sql);
    if (translated.size >= 2000) translated.clear();
    translated.set(sql, out);
  }
  return out;
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

async function query<R extends SqlRow>(
  on: Queryable,
  sql: string,
  params: readonly SqlValue[],
): Promise<pg.QueryResult<R>> {
  try {
    return await on.query<R>(toSql(sql), params as unknown[]);
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** Statements as one simple query: PostgreSQL runs them in order, in one round trip, all or none. */
function toSimpleQuery(statements: readonly SqlStatement[]): string {
  return statements.map((s) => toPostgresInlined(s.sql, s.params ?? [])).join(';\n');
}

async function simpleQuery(on: Queryable, text: string): Promise<void> {
  try {
    await on.query(text);
  } catch (error) {
    throw toDatabaseError(error);
  }
}

function executorOf(on: Queryable): SqlExecutor {
  return {
    all: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) =>
      (await query<R>(on, sql, params)).rows,
    get: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) =>
      (await query<R>(on, sql, params)).rows[0],
    run: async (sql: string, params: readonly SqlValue[] = []) => ({
      changes: (await query(on, sql, params)).rowCount ?? 0,
    }),
    runBatch: async (statements) => {
      if (statements.length > 0) await simpleQuery(on, toSimpleQuery(statements));
    },
  };
}

/**
 * The executor of one transaction: batched writes wait for the next statement or the COMMIT and go with it
 * (the round trips a transaction holds its locks for are the ones that count).
 */
function transactionExecutorOf(client: pg.PoolClient): SqlExecutor & { commit(): Promise<void> } {
  const direct = executorOf(client);
  let held: string[] = [];
  const sendHeld = async () => {
    if (held.length === 0) return;
    const text = held.join(';\n');
    held = [];
    await simpleQuery(client, text);
  };
  return {
    all: async (sql, params) => {
      await sendHeld();
      return direct.all(sql, params);
    },
    get: async (sql, params) => {
      await sendHeld();
      return direct.get(sql, params);
    },
    run: async (sql, params) => {
      await sendHeld();
      return direct.run(sql, params);
    },
    runBatch: async (statements) => {
      if (statements.length > 0) held.push(toSimpleQuery(statements));
    },
    commit: async () => {
      held.push('COMMIT');
      await sendHeld();
    },
  };
}

class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  readonly notifications: SqlNotifications & { close(): Promise<void> };
  readonly #pool: pg.Pool;
  readonly #executor: SqlExecutor;
  readonly #maxAttempts: number;
  #closed = false;
  #probeTable: Promise<void> | undefined;

  constructor(pool: pg.Pool, config: pg.PoolConfig, options: PostgresOptions) {
    this.#pool = pool;
    this.#executor = executorOf(pool);
    this.#maxAttempts = options.maxTransactionAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.notifications = createPostgresNotifications({
      origin: randomUUID(),
      connect: () => new pg.Client(config),
      publish: async (channel, payload) => {
        await query(pool, 'SELECT pg_notify(?, ?)', [channel, payload]);
      },
    });
  }

  #open(): void {
    if (this.#closed) throw new CoreError('ERR_UNAVAILABLE', 'The database is closed.');
  }

  async all<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    this.#open();
    return this.#executor.all<R>(sql, params);
  }

  async get<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    this.#open();
    return this.#executor.get<R>(sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    this.#open();
    return this.#executor.run(sql, params);
  }

  /** One simple query: its statements share PostgreSQL's implicit transaction, so all or none take effect. */
  async runBatch(statements: readonly SqlStatement[]): Promise<void> {
    this.#open();
    return this.#executor.runBatch(statements);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    this.#open();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(fn, options.serializeOn);
      } catch (error) {
        const lostRace = isUniqueViolation(error) && attempt < UNIQUE_VIOLATION_ATTEMPTS;
        if (!lostRace && !isRetryableConflict(error)) throw toDatabaseError(error);
        if (attempt >= this.#maxAttempts) {
          throw new CoreError('ERR_ABORTED', 'The change kept conflicting with concurrent changes; retry it.', {
            cause: error,
          });
        }
        // Randomised backoff spreads the runs that conflicted, so they do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
      }
    }
  }

  /**
   * One run of a transaction on one pooled connection. Without `serializeOn` it is SERIALIZABLE. With it, it
   * takes the key's transaction-scoped advisory lock in the same round trip as BEGIN and runs READ COMMITTED:
   * each statement after the lock sees everything the previous holders committed (PostgreSQL releases the lock
   * only once the commit is visible), so a chain's head is never read stale, nothing is retried, and the lock
   * goes with the transaction — three round trips fewer than a session lock around a serializable transaction.
   */
  async #transactionOnce<T>(fn: (tx: SqlExecutor) => Promise<T>, serializeOn?: string | readonly string[]): Promise<T> {
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw toDatabaseError(error);
    });
    let broken: Error | undefined;
    try {
      // A simple query (no parameters) may hold two statements: the key is quoted as a literal.
      const keys = serializeOn === undefined ? [] : [...new Set([serializeOn].flat())].sort();
      await client.query(
        keys.length === 0
          ? 'BEGIN ISOLATION LEVEL SERIALIZABLE'
          : `BEGIN ISOLATION LEVEL READ COMMITTED; ${keys.map((key) => `SELECT pg_advisory_xact_lock(hashtextextended(${toLiteral(key)}, 0))`).join('; ')}`,
      );
      try {
        const tx = transactionExecutorOf(client);
        const result = await fn(tx);
        await tx.commit();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = connectionInDoubt(rollbackError);
        });
        throw error;
      }
    } catch (error) {
      if (toDatabaseError(error) instanceof CoreError && !(error instanceof CoreError)) broken ??= error as Error;
      throw error;
    } finally {
      // A connection in doubt is closed, not reused: closing it ends its session and any transaction it holds.
      client.release(broken);
    }
  }

  /**
   * All of a namespace's pending migrations in one transaction (PostgreSQL's DDL is transactional), after
   * the migration lock; READ COMMITTED, so a process that waited on the lock reads what the holder applied.
   */
  async migrate(namespace: string, migrations: readonly string[]): Promise<void> {
    this.#open();
    await this.#transactionOnce(async (tx) => {
      await tx.run(
        'CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (namespace, version))',
      );
      for (const version of await pendingMigrations(tx, namespace, migrations.length)) {
        for (const statement of splitStatements(toPostgresDdl(migrations[version - 1] as string))) {
          await tx.run(statement);
        }
        await tx.run('INSERT INTO schema_migrations (namespace, version) VALUES (?, ?)', [namespace, version]);
      }
    }, MIGRATION_LOCK).catch((error: unknown) => {
      throw toDatabaseError(error);
    });
  }

  async checkStorage(): Promise<StorageHealth> {
    this.#open();
    try {
      this.#probeTable ??= this.migrate('sealroom-storage-probe', [
        'CREATE TABLE sealroom_storage_probe (id INTEGER PRIMARY KEY, probe_time INTEGER);',
      ]).catch((error: unknown) => {
        this.#probeTable = undefined;
        throw error;
      });
      await this.#probeTable;
      await this.run(
        'INSERT INTO sealroom_storage_probe (id, probe_time) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET probe_time = excluded.probe_time',
        [Date.now()],
      );
    } catch (error) {
      const kind = storageFaultKindOf(error);
      if (!kind) throw error;
      return { ok: false, fault: kind, message: toStorageFault(kind).message };
    }
    return { ok: true };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.notifications.close();
    await this.#pool.end();
  }
}
