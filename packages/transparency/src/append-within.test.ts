// Leaves appended inside other transactions (the audit log's), on SQLite and PostgreSQL: two replicas and
// standalone appends interleave without a gap or a duplicate, rolled-back leaves never reach the tree, and
// every receipt and consistency proof verifies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createSealer, silentLogger, systemClock } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase } from '@sealroom/postgres/testing';
import type { Decision } from './entry.ts';
import { type TransparencyLog, openTransparencyLog } from './log.ts';
import { verifyReceipt } from './receipt.ts';
import { TRANSPARENCY_LOG_LOCK, openSqlTransparencyStore } from './store.ts';

const sealer = createSealer(randomBytes(32));
const decision = (n: number): Decision => ({
  kind: 'kms.use',
  project: '123456789012',
  method: 'google.cloud.kms.v1.KeyManagementService.Decrypt',
  resource: `projects/123456789012/locations/global/keyRings/kr/cryptoKeys/k${n}`,
  principal: 'user:a@example.com',
  outcome: 'ALLOWED',
  facts: { n: String(n) },
});

for (const engine of TEST_ENGINES) {
  describe(`appends within another transaction on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('two replicas appending within their own transactions and alone get one gapless log', async () => {
      const t = await engine.open();
      opened.push(t);
      const db0 = t.db;
      const db1 = await t.openAnother();
      const dbs = [db0, db1];
      await db0.migrate('other', ['CREATE TABLE other_rows (n INTEGER NOT NULL);']);
      const logs = await Promise.all(
        dbs.map(async (db) =>
          openTransparencyLog({
            store: await openSqlTransparencyStore(db),
            sealer,
            clock: systemClock,
            logger: silentLogger,
            origin: 'sealroom.test/transparency',
          }),
        ),
      );
      const [log0, log1] = logs as [TransparencyLog, TransparencyLog];
      // A batch of leaves written with another row in one transaction that holds both locks, as the audit log does.
      const within = async (which: 0 | 1, first: number, count: number, rollBack = false) => {
        const db = which === 0 ? db0 : db1;
        const log = which === 0 ? log0 : log1;
        const leaves = Array.from({ length: count }, (_, i) => log.prepareAppend(decision(first + i)));
        const applied = db
          .transaction(
            async (tx) => {
              await tx.run('INSERT INTO other_rows (n) VALUES (?)', [first]);
              const afterCommit = await log.appendWithin(tx, leaves);
              if (rollBack) throw new Error('rolled back');
              return afterCommit;
            },
            { serializeOn: ['sealroom-audit-chain', TRANSPARENCY_LOG_LOCK] },
          )
          .then((afterCommit) => afterCommit());
        return rollBack ? assert.rejects(applied, /rolled back/) : applied;
      };
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 8; i++) {
        work.push(within(0, i * 100, 3), within(1, i * 100 + 50, 2), log0.append(decision(i * 100 + 90)));
        if (i % 3 === 0) work.push(within(1, i * 100 + 70, 4, true));
      }
      await Promise.all(work);
      const total = 8 * 6;
      assert.equal((await db0.all('SELECT * FROM other_rows')).length, 16);
      for (const log of logs) {
        const checkpoint = await log.checkpointCovering(total);
        assert.equal(checkpoint.size, total);
        assert.equal(log.size(), total);
      }
      const store = await openSqlTransparencyStore(db1);
      const leaves = await store.leavesFrom(0, 1000);
      assert.deepEqual(
        leaves.map((l) => l.index),
        Array.from({ length: total }, (_, i) => i),
      );
      for (const index of [0, 17, total - 1]) {
        for (const log of logs) {
          const verified = verifyReceipt(await log.receipt(index), { logKey: log.verifierKey });
          assert.equal(verified.index, index);
        }
      }
      assert.deepEqual(await log0.consistencyProof(5, total), await log1.consistencyProof(5, total));
      await log0.checkStorage();
      await Promise.all(logs.map((log) => log.stop()));
    });
  });
}
