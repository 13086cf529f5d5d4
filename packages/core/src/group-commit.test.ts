import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGroupCommitter } from './group-commit.ts';
import { openSqliteDatabase } from './sqlite.ts';

test('concurrent writes share a transaction, each caller gets its own result, and a failing one fails alone', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  await db.run('CREATE TABLE t (name TEXT PRIMARY KEY, used INTEGER NOT NULL)');
  const transaction = db.transaction.bind(db);
  let transactions = 0;
  db.transaction = (fn, options) => {
    transactions++;
    return transaction(fn, options);
  };
  const grouped = createGroupCommitter(db);
  await grouped.run('INSERT INTO t (name, used) VALUES (?, 0)', ['a']);
  transactions = 0;
  const writes = await Promise.allSettled([
    grouped.run('INSERT INTO t (name, used) VALUES (?, 0)', ['b']),
    grouped.get('UPDATE t SET used = 1 WHERE name = ? AND used = 0 RETURNING name', ['a']),
    grouped.run('INSERT INTO t (name, used) VALUES (?, 0)', ['a']),
    grouped.get('UPDATE t SET used = 1 WHERE name = ? AND used = 0 RETURNING name', ['a']),
  ]);
  assert.deepEqual(
    // Rows come with a null prototype: compared by their members.
    writes.map((w) => (w.status === 'rejected' ? 'rejected' : w.value && { ...w.value })),
    [{ changes: 1 }, { name: 'a' }, 'rejected', undefined],
  );
  // One batch, which the duplicate failed; then each statement alone.
  assert.equal(transactions, 1);
  assert.deepEqual(
    (await db.all('SELECT name, used FROM t ORDER BY name')).map((row) => ({ ...row })),
    [
      { name: 'a', used: 1 },
      { name: 'b', used: 0 },
    ],
  );
  transactions = 0;
  const inserts = await Promise.all(
    ['c', 'd', 'e'].map((name) => grouped.run('INSERT INTO t (name, used) VALUES (?, 0)', [name])),
  );
  assert.deepEqual(inserts, [{ changes: 1 }, { changes: 1 }, { changes: 1 }]);
  assert.equal(transactions, 1, 'three concurrent inserts, one transaction');
  await db.close();
});
