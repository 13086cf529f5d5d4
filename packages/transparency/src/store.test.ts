// The transparency store on SQLite and PostgreSQL: leaves appended by two replicas at once get contiguous
// indexes, none twice, and both replicas read the same log.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TEST_ENGINES, type TestDatabase } from '@sealroom/postgres/testing';
import { openSqlTransparencyStore } from './store.ts';

for (const engine of TEST_ENGINES) {
  describe(`transparency store on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('batches appended by two replicas at once get contiguous indexes, none twice', async () => {
      const t = await engine.open();
      opened.push(t);
      const stores = [await openSqlTransparencyStore(t.db), await openSqlTransparencyStore(await t.openAnother())];
      const batches = Array.from({ length: 12 }, (_, i) =>
        Array.from({ length: 3 }, (_, j) => ({
          projectNumber: '123456789012',
          kind: 'audit',
          time: 1_700_000_000_000 + i,
          leaf: Buffer.from(`batch ${i} leaf ${j}`),
        })),
      );
      const starts = await Promise.all(batches.map((batch, i) => stores[i % 2]?.appendLeaves(batch)));
      assert.deepEqual(
        [...starts].sort((x, y) => (x ?? 0) - (y ?? 0)),
        Array.from({ length: 12 }, (_, i) => i * 3),
      );
      assert.equal(await stores[0]?.size(), 36);
      const leaves = (await stores[1]?.leavesFrom(0, 100)) ?? [];
      assert.deepEqual(
        leaves.map((l) => l.index),
        Array.from({ length: 36 }, (_, i) => i),
      );
      // Each batch's leaves are consecutive: a batch was never interleaved with another replica's.
      for (const [i, start] of starts.entries()) {
        for (let j = 0; j < 3; j++) {
          assert.equal(leaves[(start ?? 0) + j]?.leaf.toString(), `batch ${i} leaf ${j}`);
        }
      }
    });
  });
}
