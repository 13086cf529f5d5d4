import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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
