import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFakeClock, createLeases, type SqlDatabase } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase } from './testing.ts';
import { toPostgresDdl, toPostgresPlaceholders } from './translate.ts';

test('placeholders are numbered outside string literals, quoted names and comments only', () => {
  assert.equal(
    toPostgresPlaceholders(`SELECT '?', "a?b" FROM t WHERE a = ? AND b = ? -- ?\n AND c = 'it''s ?' AND d = ?`),
    `SELECT '?', "a?b" FROM t WHERE a = $1 AND b = $2 -- ?\n AND c = 'it''s ?' AND d = $3`,
  );
  assert.equal(
    toPostgresDdl("CREATE TABLE t (n INTEGER NOT NULL, b BLOB, s TEXT DEFAULT 'INTEGER BLOB')"),
    "CREATE TABLE t (n BIGINT NOT NULL, b BYTEA, s TEXT DEFAULT 'INTEGER BLOB')",
  );
});

async function withDatabase(open: () => Promise<TestDatabase>, fn: (t: TestDatabase) => Promise<void>) {
  const t = await open();
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

for (const engine of TEST_ENGINES) {
  describe(`SqlDatabase on ${engine.name}`, { skip: engine.skip }, () => {
    test('values come back as the stores wrote them: text, 64-bit integers, bytes, NULL', async () => {
      await withDatabase(engine.open, async ({ db }) => {
        await db.migrate('t', ['CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, b BLOB, s TEXT);']);
        const big = 2 ** 52 + 1;
        await db.run('INSERT INTO t (id, n, b, s) VALUES (?, ?, ?, ?)', ['a', big, Uint8Array.of(0, 1, 255), null]);
        const row = await db.get<{ id: string; n: number; b: Uint8Array; s: null }>('SELECT * FROM t WHERE id = ?', [
          'a',
        ]);
        assert.equal(row?.n, big);
        assert.deepEqual([...(row?.b ?? [])], [0, 1, 255]);
        assert.equal(row?.s, null);
        const count = await db.get<{ c: number; total: number }>('SELECT COUNT(*) AS c, SUM(n) AS total FROM t');
        assert.deepEqual({ ...count }, { c: 1, total: big });
        assert.deepEqual(await db.run('UPDATE t SET s = ? WHERE id = ?', ['x', 'missing']), { changes: 0 });
      });
    });

    test('batched writes store values exactly as bound ones would, all or none', async () => {
      await withDatabase(engine.open, async ({ db }) => {
        await db.migrate('t', ['CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, b BLOB, s TEXT);']);
        const tricky = "it's \\ a '; DROP TABLE t; -- \\' ü \u{1F600}";
        await db.runBatch([
          {
            sql: 'INSERT INTO t (id, n, b, s) VALUES (?, ?, ?, ?)',
            params: ['a', -(2 ** 52), Uint8Array.of(0, 92, 39), tricky],
          },
          { sql: 'INSERT INTO t (id, n, b, s) VALUES (?, ?, ?, ?)', params: ['b', 7, null, null] },
          { sql: 'UPDATE t SET n = n -? WHERE id = ?', params: [-3, 'b'] },
        ]);
        const rows = await db.all<{ id: string; n: number; b: Uint8Array | null; s: string | null }>(
          'SELECT * FROM t ORDER BY id',
        );
        assert.deepEqual(
          rows.map((r) => [r.id, r.n, r.b && [...r.b], r.s]),
          [
            ['a', -(2 ** 52), [0, 92, 39], tricky],
            ['b', 10, null, null],
          ],
        );
        await assert.rejects(
          db.runBatch([
            { sql: 'INSERT INTO t (id) VALUES (?)', params: ['c'] },
            { sql: 'INSERT INTO t (id) VALUES (?)', params: ['a'] },
          ]),
        );
        assert.equal((await db.all('SELECT id FROM t')).length, 2, 'a failed batch leaves nothing behind');
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run('INSERT INTO t (id) VALUES (?)', ['d']);
            await tx.runBatch([{ sql: 'INSERT INTO t (id) VALUES (?)', params: ['a'] }]);
          }),
          'a batch that fails at the commit fails the transaction',
        );
        assert.equal((await db.all('SELECT id FROM t')).length, 2);
        const seen = await db.transaction(async (tx) => {
          await tx.runBatch([{ sql: 'INSERT INTO t (id) VALUES (?)', params: ['e'] }]);
          return (await tx.all('SELECT id FROM t')).length;
        });
        assert.equal(seen, 3, 'a read in the transaction sees its batched writes');
      });
    });

    test('a transaction that throws leaves nothing behind', async () => {
      await withDatabase(engine.open, async ({ db }) => {
        await db.migrate('t', ['CREATE TABLE t (id TEXT PRIMARY KEY);']);
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run('INSERT INTO t (id) VALUES (?)', ['inside']);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.deepEqual(await db.all('SELECT id FROM t'), []);
      });
    });

    test('migrations started by several connections at once are applied once, in order', async () => {
      await withDatabase(engine.open, async (t) => {
        const others = [t.db, await t.openAnother(), await t.openAnother()];
        const migrations = [
          'CREATE TABLE m (id TEXT PRIMARY KEY, n INTEGER NOT NULL);',
          "INSERT INTO m (id, n) VALUES ('once', 1);",
          'ALTER TABLE m ADD COLUMN b BLOB;',
        ];
        await Promise.all(others.map((db) => db.migrate('m', migrations)));
        await t.db.migrate('m', migrations);
        assert.deepEqual(
          (await t.db.all('SELECT id, n, b FROM m')).map((r) => ({ ...r })),
          [{ id: 'once', n: 1, b: null }],
        );
        const versions = await t.db.all<{ version: number }>(
          "SELECT version FROM schema_migrations WHERE namespace = 'm' ORDER BY version",
        );
        assert.deepEqual(
          versions.map((r) => r.version),
          [1, 2, 3],
        );
      });
    });

    test('read-modify-write transactions on two connections lose no update', async () => {
      await withDatabase(engine.open, async (t) => {
        const a = t.db;
        const b = await t.openAnother();
        await a.migrate('c', ['CREATE TABLE counter (id TEXT PRIMARY KEY, n INTEGER NOT NULL);']);
        await a.run("INSERT INTO counter (id, n) VALUES ('x', 0)");
        await b.migrate('c', ['CREATE TABLE counter (id TEXT PRIMARY KEY, n INTEGER NOT NULL);']);
        const increment = (db: SqlDatabase) =>
          db.transaction(async (tx) => {
            const row = await tx.get<{ n: number }>("SELECT n FROM counter WHERE id = 'x'");
            await tx.run("UPDATE counter SET n = ? WHERE id = 'x'", [(row?.n ?? 0) + 1]);
          });
        const runs: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) runs.push(increment(a), increment(b));
        await Promise.all(runs);
        assert.equal((await a.get<{ n: number }>("SELECT n FROM counter WHERE id = 'x'"))?.n, 40);
      });
    });

    test('transactions serialised on one key run one after another on every connection', async () => {
      await withDatabase(engine.open, async (t) => {
        const a = t.db;
        const b = await t.openAnother();
        await a.migrate('c', ['CREATE TABLE counter (id TEXT PRIMARY KEY, n INTEGER NOT NULL);']);
        await b.migrate('c', ['CREATE TABLE counter (id TEXT PRIMARY KEY, n INTEGER NOT NULL);']);
        await a.run("INSERT INTO counter (id, n) VALUES ('x', 0)");
        // A key with a quote in it is a literal, not SQL.
        const key = "chain's head";
        let inside = 0;
        let overlapped = false;
        const increment = (db: SqlDatabase) =>
          db.transaction(
            async (tx) => {
              inside += 1;
              overlapped ||= inside > 1;
              const row = await tx.get<{ n: number }>("SELECT n FROM counter WHERE id = 'x'");
              await new Promise((resolve) => setImmediate(resolve));
              await tx.run("UPDATE counter SET n = ? WHERE id = 'x'", [(row?.n ?? 0) + 1]);
              inside -= 1;
            },
            { serializeOn: key },
          );
        const runs: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) runs.push(increment(a), increment(b));
        await Promise.all(runs);
        assert.equal((await a.get<{ n: number }>("SELECT n FROM counter WHERE id = 'x'"))?.n, 40);
        assert.equal(overlapped, false, 'no two ran at once');
      });
    });

    test('transactions naming several keys, listed in any order, exclude those naming any of them', async () => {
      await withDatabase(engine.open, async (t) => {
        const a = t.db;
        const b = await t.openAnother();
        await a.migrate('c', ['CREATE TABLE counter (id TEXT PRIMARY KEY, n INTEGER NOT NULL);']);
        await b.migrate('c', ['CREATE TABLE counter (id TEXT PRIMARY KEY, n INTEGER NOT NULL);']);
        await a.run("INSERT INTO counter (id, n) VALUES ('x', 0)");
        let inside = 0;
        let overlapped = false;
        const increment = (db: SqlDatabase, serializeOn: string | readonly string[]) =>
          db.transaction(
            async (tx) => {
              inside += 1;
              overlapped ||= inside > 1;
              const row = await tx.get<{ n: number }>("SELECT n FROM counter WHERE id = 'x'");
              await new Promise((resolve) => setImmediate(resolve));
              await tx.run("UPDATE counter SET n = ? WHERE id = 'x'", [(row?.n ?? 0) + 1]);
              inside -= 1;
            },
            { serializeOn },
          );
        const runs: Promise<void>[] = [];
        // Opposite orders would deadlock (and PostgreSQL abort one) were the locks taken as listed.
        for (let i = 0; i < 10; i++) {
          runs.push(increment(a, ['k1', 'k2']), increment(b, ['k2', 'k1']), increment(a, 'k2'), increment(b, ['k2']));
        }
        await Promise.all(runs);
        assert.equal((await a.get<{ n: number }>("SELECT n FROM counter WHERE id = 'x'"))?.n, 40);
        assert.equal(overlapped, false, 'no two ran at once');
      });
    });

    test('notifications reach subscribers on another connection, and this one at once', async () => {
      await withDatabase(engine.open, async (t) => {
        const a = t.db;
        const b = await t.openAnother();
        const seenByB: string[] = [];
        const seenByA: string[] = [];
        b.notifications.subscribe('sealroom_test', (p) => seenByB.push(p));
        a.notifications.subscribe('sealroom_test', (p) => seenByA.push(p));
        await a.notifications.publish('sealroom_test', 'first');
        assert.deepEqual(seenByA, ['first']);
        // The LISTEN connection comes up in the background: publish until it has heard one.
        const deadline = Date.now() + 30_000;
        let n = 0;
        while (!seenByB.some((p) => p.startsWith('ping')) && Date.now() < deadline) {
          await a.notifications.publish('sealroom_test', `ping${n++}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.ok(
          seenByB.some((p) => p.startsWith('ping')),
          'the other connection heard a publish',
        );
        // Its own publishes are handled once, not again when NOTIFY echoes them back.
        assert.equal(seenByA.filter((p) => p === 'first').length, 1);
      });
    });

    test('a lease is held by one process at a time, renewed by its holder, and taken over once lapsed', async () => {
      await withDatabase(engine.open, async (t) => {
        const clock = createFakeClock();
        const a = createLeases({ db: t.db, clock, holder: 'a' });
        const b = createLeases({ db: await t.openAnother(), clock, holder: 'b' });
        const [first, second] = await Promise.all([a.acquire('job', 10_000), b.acquire('job', 10_000)]);
        assert.equal(Number(first) + Number(second), 1, 'exactly one takes the free lease');
        const [holder, other] = first ? [a, b] : [b, a];
        assert.equal(await other.isHeld('job'), true, 'held, as every process sees');
        assert.equal(await other.isHeld('another-job'), false);
        clock.advance(5000);
        assert.equal(await holder.acquire('job', 10_000), true, 'its holder renews it');
        assert.equal(await other.acquire('job', 10_000), false);
        clock.advance(10_001);
        assert.equal(await holder.isHeld('job'), false, 'a lapsed lease is held by nobody');
        assert.equal(await other.acquire('job', 10_000), true, 'a lapsed lease is taken over');
        assert.equal(await holder.acquire('job', 10_000), false);
        await other.release('job');
        assert.equal(await holder.acquire('job', 10_000), true, 'a released lease is free at once');
      });
    });
  });
}
