// IAM's stores on SQLite and PostgreSQL, with two replicas on one database: policy etags, the audit chain,
// and the decision cache's invalidation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createSealer, systemClock } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase } from '@sealroom/postgres/testing';
import { AUDIT_MIGRATIONS, createProjectLog } from './audit.ts';
import { iamChangesOf, signalIamChange } from './decisions.ts';
import { createSqlPolicyStore, POLICY_MIGRATIONS } from './policy-store.ts';

const PROJECT = '123456789012';
const noProjects = { resolve: async () => undefined };

for (const engine of TEST_ENGINES) {
  describe(`IAM stores on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    const open = async () => {
      const t = await engine.open();
      opened.push(t);
      return t;
    };
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('two replicas setting a policy with the same etag: exactly one wins, the other is refused as stale', async () => {
      const t = await open();
      const a = t.db;
      const b = await t.openAnother();
      await a.migrate('iam-policies', POLICY_MIGRATIONS);
      const stores = [createSqlPolicyStore(a), createSqlPolicyStore(b)];
      const resource = 'projects/p1';
      for (let round = 0; round < 10; round++) {
        const current = await stores[0]?.get(resource);
        const results = await Promise.allSettled(
          stores.map((store, i) =>
            store.set(
              resource,
              { version: 1, bindings: [{ role: 'roles/viewer', members: [`user:r${round}-${i}@example.com`] }] },
              current?.etag,
              Date.now(),
            ),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: one write wins`);
        assert.equal((lost[0] as PromiseRejectedResult).reason?.code, 'ERR_IAM_STALE_ETAG');
        const stored = await stores[1]?.get(resource);
        assert.equal(stored?.etag, (won[0] as PromiseFulfilledResult<{ etag: string }>).value.etag);
      }
    });

    test('entries appended by two replicas at once form one chain that verifies', async () => {
      const t = await open();
      const sealer = createSealer(randomBytes(32));
      await t.db.migrate('logging', AUDIT_MIGRATIONS);
      const logs = [t.db, await t.openAnother()].map((db) =>
        createProjectLog({ db, sealer, clock: systemClock, projects: noProjects }),
      );
      const appends: Promise<void>[] = [];
      for (let i = 0; i < 30; i++) {
        const log = logs[i % 2];
        appends.push(
          log?.append(PROJECT, [{ logId: 'test', severity: 'INFO', payload: { textPayload: `entry ${i}` } }]) ??
            Promise.resolve(),
        );
      }
      await Promise.all(appends);
      const verified = await logs[1]?.verify(PROJECT);
      assert.deepEqual({ ...verified }, { ok: true, entries: 30 });
      const listed = await logs[0]?.list(PROJECT, { pageSize: 100 });
      assert.deepEqual(
        listed?.map((e) => e.seq),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
    });

    test('an IAM change on one replica moves the decision caches of the other', async () => {
      const t = await open();
      const a = t.db;
      const b = await t.openAnother();
      const before = iamChangesOf(b).generation;
      const deadline = Date.now() + 30_000;
      // The other replica's LISTEN connection comes up in the background: signal until it has heard one.
      while (iamChangesOf(b).generation === before && Date.now() < deadline) {
        signalIamChange(a);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(iamChangesOf(b).generation > before, 'the other replica saw the change');
    });
  });
}
