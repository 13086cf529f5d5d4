import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { isSealroomError } from './errors.ts';
import type { SqlDatabase } from './sql.ts';
import { mountSmallFilesystem } from './small-filesystem.ts';
import { openSqliteDatabase } from './sqlite.ts';

test('migrations apply once, in order, and survive reopening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-sql-'));
  try {
    const path = join(dir, 'db.sqlite');
    const migrations = [
      'CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL);',
      'ALTER TABLE t ADD COLUMN b BLOB;',
    ];
    let db = openSqliteDatabase({ path });
    await db.migrate('svc', migrations);
    await db.run('INSERT INTO t (id, n, b) VALUES (?, ?, ?)', ['a', 1, Buffer.from([1, 2])]);
    await db.close();
    db = openSqliteDatabase({ path });
    await db.migrate('svc', migrations);
    const row = await db.get<{ id: string; n: number; b: Uint8Array }>('SELECT * FROM t');
    assert.equal(row?.n, 1);
    assert.deepEqual(Buffer.from(row?.b ?? []), Buffer.from([1, 2]));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed transaction leaves nothing behind and statements outside wait for it', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  await db.run('CREATE TABLE t (id TEXT PRIMARY KEY)');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const failing = db.transaction(async (tx) => {
    await tx.run('INSERT INTO t VALUES (?)', ['inside']);
    await gate;
    throw new Error('boom');
  });
  const outside = db.run('INSERT INTO t VALUES (?)', ['outside']);
  release();
  await assert.rejects(failing, /boom/);
  await outside;
  const rows = await db.all<{ id: string }>('SELECT id FROM t ORDER BY id');
  assert.deepEqual(
    rows.map((r) => r.id),
    ['outside'],
  );
  await db.close();
});

test('many concurrent transactions run one after another without nesting', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  await db.run('CREATE TABLE counter (n INTEGER NOT NULL)');
  await db.run('INSERT INTO counter (n) VALUES (0)');
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0
        ? db.transaction(async (tx) => {
            const row = await tx.get<{ n: number }>('SELECT n FROM counter');
            await Promise.resolve();
            await tx.run('UPDATE counter SET n = ?', [Number(row?.n) + 1]);
          })
        : db.get('SELECT n FROM counter'),
    ),
  );
  assert.equal((await db.get<{ n: number }>('SELECT n FROM counter'))?.n, 25);
  await db.close();
});

const storageError = (code: string) => (error: unknown) =>
  isSealroomError(error) && error.code === code && error.httpStatus === 503 && error.status === 'UNAVAILABLE';

test('on a full disk a multi-row write fails as ERR_STORAGE_FULL, leaves none of its rows, and works again once space is freed', async (t) => {
  const fs = mountSmallFilesystem(4 * 1024 * 1024);
  if (typeof fs === 'string') return t.skip(fs);
  const db = openSqliteDatabase({ path: join(fs.dir, 'db.sqlite') });
  try {
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)');
    await db.run('INSERT INTO t (b) VALUES (?)', [Buffer.alloc(100)]);
    assert.deepEqual(await db.checkStorage(), { ok: true });
    fs.fill();
    // Two megabytes in one transaction: more than any page the WAL could reuse.
    const bigWrite = () =>
      db.transaction(async (tx) => {
        for (let i = 0; i < 512; i++) await tx.run('INSERT INTO t (b) VALUES (?)', [Buffer.alloc(4096, i)]);
      });
    await assert.rejects(bigWrite(), storageError('ERR_STORAGE_FULL'));
    await assert.rejects(bigWrite(), /storage is full/);
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n, 1, 'no partial rows');
    const health = await db.checkStorage();
    assert.equal(health.ok, false);
    assert.equal(health.ok === false && health.fault, 'full');
    fs.release();
    assert.deepEqual(await db.checkStorage(), { ok: true });
    await bigWrite();
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n, 513);
  } finally {
    await db.close();
    fs.unmount();
  }
});

test('a database that cannot be written fails writes as ERR_STORAGE_UNWRITABLE and its probe says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-sql-'));
  try {
    const path = join(dir, 'db.sqlite');
    const writable = openSqliteDatabase({ path });
    await writable.run('CREATE TABLE t (id TEXT PRIMARY KEY)');
    await writable.close();
    const db = openSqliteDatabase({ path, readOnly: true });
    await assert.rejects(db.run('INSERT INTO t VALUES (?)', ['a']), storageError('ERR_STORAGE_UNWRITABLE'));
    await assert.rejects(
      db.transaction((tx) => tx.run('INSERT INTO t VALUES (?)', ['a'])),
      /storage cannot be written/,
    );
    const health = await db.checkStorage();
    assert.equal(health.ok === false && health.fault, 'unwritable');
    assert.deepEqual(await db.all('SELECT id FROM t'), [], 'reads still work');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A database in a fresh folder with about 400 pages in its log (below SQLite's automatic checkpoint threshold
 * of 1,000, so nothing but a checkpointer thread copies them into the file); runs `check` on it, then removes it.
 */
async function withLogOf400Pages(
  checkpointInBackground: boolean,
  check: (db: SqlDatabase, path: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-sql-'));
  try {
    const path = join(dir, 'db.sqlite');
    const db = openSqliteDatabase({ path, checkpointInBackground });
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 384; i++) await tx.run('INSERT INTO t (b) VALUES (?)', [Buffer.alloc(4000, i)]);
    });
    await check(db, path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('checkpointInBackground: a worker thread copies the log into the database file; close stops it first', () =>
  withLogOf400Pages(true, async (db, path) => {
    const deadline = Date.now() + 10_000;
    while (statSync(path).size < 1_500_000) {
      assert.ok(Date.now() < deadline, `copied within 10 s (file ${statSync(path).size} bytes)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n, 384);
    await db.close();
    // The last connection to close removes the log: the thread's was closed before the writer's.
    assert.equal(existsSync(`${path}-wal`), false, 'no log left after close');
    const reopened = openSqliteDatabase({ path });
    assert.equal((await reopened.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n, 384);
    await reopened.close();
  }));

test('without it, the log stays uncopied below the threshold (what the test above tells apart)', () =>
  withLogOf400Pages(false, async (db, path) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(statSync(path).size < 100_000, `file ${statSync(path).size} bytes`);
    await db.close();
  }));

test('checkpointInBackground: under steady writes the log is copied whole and started over, so it stays small', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-sql-'));
  try {
    const path = join(dir, 'db.sqlite');
    const db = openSqliteDatabase({ path, checkpointInBackground: true });
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)');
    // 24 MB in 25-row transactions at up to ~10 MB/s: past the writer's own threshold of 4,000 pages (16 MB),
    // which the log would reach if it were never started over.
    let largest = 0;
    const rows = 6_000;
    for (let i = 0; i < rows; i += 25) {
      await db.transaction(async (tx) => {
        for (let j = 0; j < 25; j++) await tx.run('INSERT INTO t (b) VALUES (?)', [Buffer.alloc(4000, j)]);
      });
      if (existsSync(`${path}-wal`)) largest = Math.max(largest, statSync(`${path}-wal`).size);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(largest < 10_000_000, `the log peaked at ${largest} bytes`);
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n, rows);
    await db.close();
    assert.equal(existsSync(`${path}-wal`), false, 'no log left after close');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpointInBackground: a process that never closes its database still ends when its work does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-sql-'));
  try {
    const sqlite = pathToFileURL(join(import.meta.dirname, 'sqlite.ts')).href;
    const program = `
      const { openSqliteDatabase } = await import(${JSON.stringify(sqlite)});
      const db = openSqliteDatabase({ path: ${JSON.stringify(join(dir, 'db.sqlite'))}, checkpointInBackground: true });
      await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      await db.run('INSERT INTO t (id) VALUES (1)');
      console.log('done');`;
    // From a file: a program given with -e ended even while the thread's port held the process.
    const file = join(dir, 'program.mjs');
    writeFileSync(file, program);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 0, output);
    assert.match(output, /done/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
