// The federation store with its read cache, on SQLite and on PostgreSQL with two replicas on one database: a
// change made through either is seen by the other's next read, however recently that one cached the record.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase, waitUntilListening } from '@sealroom/postgres/testing';
import {
  createSqlFederationStore,
  FEDERATION_CACHE_TTL_MS,
  FEDERATION_CHANGE_CHANNEL,
  type PoolRecord,
  type ProviderRecord,
} from './store.ts';

const POOL: PoolRecord = {
  name: 'projects/1/locations/global/workloadIdentityPools/pool',
  projectNumber: '1',
  poolId: 'pool',
  displayName: '',
  description: '',
  disabled: false,
  state: 'ACTIVE',
  createTime: 1,
  updateTime: 1,
};
const PROVIDER: ProviderRecord = {
  name: `${POOL.name}/providers/prov`,
  poolName: POOL.name,
  projectNumber: '1',
  poolId: 'pool',
  providerId: 'prov',
  displayName: '',
  description: '',
  disabled: false,
  state: 'ACTIVE',
  attributeMapping: { 'google.subject': 'assertion.sub' },
  attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE'",
  oidc: { issuerUri: 'https://verifier.example', allowedAudiences: [] },
  createTime: 1,
  updateTime: 1,
};

/** Polls `read` until it satisfies `done` (a notification crosses PostgreSQL asynchronously), bounded. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

for (const engine of TEST_ENGINES) {
  describe(`federation store cache on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('a provider disabled, its condition changed, or its pool deleted through one replica is seen by the other', async () => {
      const t = await engine.open();
      opened.push(t);
      // A frozen clock: entries never lapse on their own, so only the change notification can drop them.
      const clock = createFakeClock(Date.UTC(2026, 5, 1));
      const a = await createSqlFederationStore(t.db, { clock });
      const other = await t.openAnother();
      const b = await createSqlFederationStore(other, { clock });
      await waitUntilListening(t.db, other, FEDERATION_CHANGE_CHANNEL);
      await waitUntilListening(other, t.db, FEDERATION_CHANGE_CHANNEL);
      await a.createPool(POOL);
      await a.createProvider(PROVIDER);
      assert.equal((await b.getProvider(PROVIDER.name))?.disabled, false, 'b has cached the active provider');
      assert.equal((await b.getPool(POOL.name))?.state, 'ACTIVE');

      await a.putProvider({ ...PROVIDER, disabled: true, updateTime: 2 });
      assert.equal((await a.getProvider(PROVIDER.name))?.disabled, true, 'the writer sees its change at once');
      const seen = await eventually(
        () => b.getProvider(PROVIDER.name),
        (p) => p?.disabled === true,
      );
      assert.equal(seen?.disabled, true, 'the other replica sees the provider disabled');

      await b.putProvider({ ...PROVIDER, attributeCondition: 'false', updateTime: 3 });
      const changed = await eventually(
        () => a.getProvider(PROVIDER.name),
        (p) => p?.attributeCondition === 'false',
      );
      assert.equal(changed?.attributeCondition, 'false');
      assert.equal(changed?.updateTime, 3);

      await a.putPool({ ...POOL, state: 'DELETED', deleteTime: 4, updateTime: 4 });
      const pool = await eventually(
        () => b.getPool(POOL.name),
        (p) => p?.state === 'DELETED',
      );
      assert.equal(pool?.state, 'DELETED');
    });

    test('a record cached with no notification at all is read again after the TTL', async () => {
      const t = await engine.open();
      opened.push(t);
      const clock = createFakeClock(Date.UTC(2026, 5, 1));
      const cached = await createSqlFederationStore(t.db, { clock });
      await cached.createPool(POOL);
      assert.equal((await cached.getPool(POOL.name))?.disabled, false);
      // Written behind the store's back (as by a replica whose notification was lost).
      await t.db.run('UPDATE federation_pools SET data = ? WHERE name = ?', [
        JSON.stringify({ ...POOL, disabled: true }),
        POOL.name,
      ]);
      assert.equal((await cached.getPool(POOL.name))?.disabled, false, 'served from the cache');
      clock.advance(FEDERATION_CACHE_TTL_MS);
      assert.equal((await cached.getPool(POOL.name))?.disabled, true, 'read again once the entry lapsed');
    });
  });
}
