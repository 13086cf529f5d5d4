// The audit log with a sink on SQLite and PostgreSQL: two replicas recording at once keep one verifiable
// chain, and every record's sink row is committed with its entry, in the transaction that holds both locks.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { type SqlDatabase, createSealer, systemClock } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase } from '@sealroom/postgres/testing';
import { AUDIT_MIGRATIONS, type AuditSink, createProjectLog } from './audit.ts';

const sealer = createSealer(randomBytes(32));
const PROJECT = { projectId: 'p1', projectNumber: '123456789012' };

/** A sink that numbers its rows from the table's end: correct only if its writes never interleave. */
const numberingSink = (committed: number[]): AuditSink<string> => ({
  serializeOn: 'test-sink-end',
  prepare: (record) => record.resource,
  async write(tx, items) {
    const end = Number((await tx.get('SELECT MAX(n) AS m FROM sink_rows'))?.m ?? -1) + 1;
    for (const [i, resource] of items.entries()) {
      await tx.run('INSERT INTO sink_rows (n, resource) VALUES (?, ?)', [end + i, resource]);
    }
    return async () => {
      committed.push(...items.map((_, i) => end + i));
    };
  },
});

for (const engine of TEST_ENGINES) {
  describe(`audit log with a sink on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('two replicas record at once: one verifiable chain, every sink row committed once, none interleaved', async () => {
      const t = await engine.open();
      opened.push(t);
      const dbs: SqlDatabase[] = [t.db, await t.openAnother()];
      for (const db of dbs) {
        await db.migrate('logging', AUDIT_MIGRATIONS);
        await db.migrate('sink', ['CREATE TABLE sink_rows (n INTEGER PRIMARY KEY, resource TEXT NOT NULL);']);
      }
      const committed: number[] = [];
      const logs = dbs.map((db) =>
        createProjectLog({
          db,
          sealer,
          clock: systemClock,
          projects: { resolve: async (p) => (p === 'p1' ? PROJECT : undefined) },
          sink: numberingSink(committed),
        }),
      );
      const record = (i: number) =>
        logs[i % 2]?.record({
          project: 'p1',
          method: 'm.Decrypt',
          resource: `r${i}`,
          caller: undefined,
          outcome: 'ALLOWED',
        });
      await Promise.all(Array.from({ length: 60 }, (_, i) => record(i)));
      assert.deepEqual(await logs[1]?.verify(PROJECT.projectNumber), { ok: true, entries: 60 });
      const rows = await dbs[0]?.all<{ n: number; resource: string }>('SELECT n, resource FROM sink_rows ORDER BY n');
      assert.deepEqual(
        rows?.map((r) => Number(r.n)),
        Array.from({ length: 60 }, (_, i) => i),
      );
      assert.equal(new Set(rows?.map((r) => r.resource)).size, 60);
      assert.deepEqual(
        [...committed].sort((a, b) => a - b),
        Array.from({ length: 60 }, (_, i) => i),
      );
    });
  });
}
