// Test databases on both engines: one parameterised store suite runs on SQLite and on PostgreSQL.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, type SqlDatabase } from '@sealroom/core';
import pg from 'pg';
import { openPostgresDatabase } from './database.ts';

/** The server the PostgreSQL half runs on; CI starts it (trust authentication on 127.0.0.1). */
export const TEST_POSTGRES_URL =
  process.env.SEALROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, uniquely named database on the test server, dropped (with its connections) by `drop`. */
export interface TestPostgres {
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTestPostgres(): Promise<TestPostgres> {
  const name = `sealroom_test_${randomBytes(8).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** One engine of a parameterised suite: `open()` gives a fresh, empty database each call. */
export interface TestEngine {
  readonly name: 'sqlite' | 'postgres';
  /** Why the engine is skipped (only when SEALROOM_TEST_POSTGRES=0 says so); false otherwise. */
  readonly skip: string | false;
  open(): Promise<TestDatabase>;
}

export interface TestDatabase {
  readonly db: SqlDatabase;
  /** Another connection (pool) on the same database, as a second replica has; closed by `cleanup`. */
  openAnother(): Promise<SqlDatabase>;
  /** Closes every connection and drops the database. */
  cleanup(): Promise<void>;
}

/**
 * SQLite is served by one process: node:sqlite's calls are synchronous, so a second handle in the same
 * process would block the event loop on the first one's lock. A "second replica" here is the same handle,
 * which still races transactions through the one process's queue.
 */
const sqliteEngine: TestEngine = {
  name: 'sqlite',
  skip: false,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-sqlite-'));
    const db = openSqliteDatabase({ path: join(dir, 'test.db') });
    return {
      db,
      openAnother: async () => db,
      async cleanup() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgresEngine: TestEngine = {
  name: 'postgres',
  skip:
    process.env.SEALROOM_TEST_POSTGRES === '0'
      ? 'SEALROOM_TEST_POSTGRES=0: the PostgreSQL half of the store suites is switched off'
      : false,
  async open() {
    const created = await createTestPostgres();
    const opened: SqlDatabase[] = [];
    const openAnother = async () => {
      const db = await openPostgresDatabase({ url: created.url, maxConnections: 4 });
      opened.push(db);
      return db;
    };
    const db = await openAnother();
    return {
      db,
      openAnother,
      async cleanup() {
        for (const d of opened) await d.close();
        await created.drop();
      },
    };
  },
};

/**
 * SQLite and PostgreSQL. The PostgreSQL half fails (does not skip) when the server is unreachable;
 * only SEALROOM_TEST_POSTGRES=0 skips it, and says so.
 */
export const TEST_ENGINES: readonly TestEngine[] = [sqliteEngine, postgresEngine];

/**
 * Waits until `to` hears what `from` publishes on `channel`: PostgreSQL's LISTEN on a fresh connection is set
 * up asynchronously, and a change announced before it is lost (a cache's TTL would catch it, but a test's clock
 * may be frozen). Publishes an empty payload every 50 ms, 300 times at most; throws if nothing was heard.
 */
export async function waitUntilListening(from: SqlDatabase, to: SqlDatabase, channel: string): Promise<void> {
  let heard = false;
  const unsubscribe = to.notifications.subscribe(channel, () => {
    heard = true;
  });
  try {
    for (let i = 0; i < 300 && !heard; i++) {
      await from.notifications.publish(channel, '');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    unsubscribe();
  }
  if (!heard) throw new Error(`no notification on ${channel} reached the other connection in 15 s`);
}
