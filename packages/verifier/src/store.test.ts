// The verifier's store on SQLite and PostgreSQL, with two replicas on one database: a challenge is used once
// whichever replica takes it, every replica reads the same sealed signing keys, and one replica rotates them.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createFakeClock, createLeases, createSealer } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase } from '@sealroom/postgres/testing';
import { decodeProtectedHeader } from 'jose';
import { createKeyRing } from './signing-keys.ts';
import { createSqlVerifierStore } from './store.ts';

for (const engine of TEST_ENGINES) {
  describe(`verifier store on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('two replicas signing when the key is due never both rotate it', async () => {
      const t = await engine.open();
      opened.push(t);
      const sealer = createSealer(randomBytes(32));
      const clock = createFakeClock(Date.UTC(2026, 5, 1));
      const HOUR = 3600_000;
      const ringOf = async (db: TestDatabase['db'], holder: string) =>
        createKeyRing({
          store: await createSqlVerifierStore(db),
          sealer,
          clock,
          rotationMs: 24 * HOUR,
          tokenTtlMs: HOUR,
          leases: createLeases({ db, clock, holder }),
        });
      const a = await ringOf(t.db, 'replica-a');
      const b = await ringOf(await t.openAnother(), 'replica-b');
      const store = await createSqlVerifierStore(t.db);
      const signBoth = async () => {
        const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).sign({ sub: `s${i}` })));
        return new Set(tokens.map((token) => decodeProtectedHeader(token).kid));
      };
      await signBoth();
      assert.equal((await store.listSigningKeys()).length, 1, 'the first start of two replicas makes one key');
      const made = new Set((await store.listSigningKeys()).map((k) => k.kid));
      for (let round = 1; round <= 3; round++) {
        // Past the lease's own lifetime too, so either replica may be the one that takes it.
        clock.advance(24 * HOUR + 1);
        const kids = await signBoth();
        const stored = await store.listSigningKeys();
        const fresh = stored.filter((k) => !made.has(k.kid));
        for (const k of stored) made.add(k.kid);
        assert.equal(fresh.length, 1, `rotation ${round} made exactly one key`);
        const newest = stored.at(-1)?.kid as string;
        for (const kid of kids)
          assert.ok(
            stored.some((k) => k.kid === kid),
            'every token names a stored key',
          );
        const after = await Promise.all([a.sign({ sub: 'x' }), b.sign({ sub: 'y' })]);
        assert.deepEqual(
          after.map((token) => decodeProtectedHeader(token).kid),
          [newest, newest],
          'both sign with the new key once it exists',
        );
      }
    });

    test('a challenge raced by two replicas is used exactly once', async () => {
      const t = await engine.open();
      opened.push(t);
      const a = await createSqlVerifierStore(t.db);
      const b = await createSqlVerifierStore(await t.openAnother());
      for (let i = 0; i < 10; i++) {
        const name = `projects/p/locations/us/challenges/c${i}`;
        const nonce = Uint8Array.of(i, 1, 2, 3);
        await a.insertChallenge({ name, nonce, createTime: 1, expireTime: 2, used: false });
        const results = await Promise.all([
          a.markChallengeUsed(name),
          b.markChallengeUsed(name),
          a.markChallengeUsed(name),
        ]);
        assert.equal(results.filter(Boolean).length, 1, `challenge ${i} is used once`);
        const stored = await b.getChallenge(name);
        assert.equal(stored?.used, true);
        assert.deepEqual([...(stored?.nonce ?? [])], [i, 1, 2, 3]);
      }
      assert.equal(await b.deleteChallengesExpiredBefore(3), 10);
    });

    test('a challenge taken in one round trip by racing replicas goes to exactly one, with its nonce', async () => {
      const t = await engine.open();
      opened.push(t);
      const a = await createSqlVerifierStore(t.db);
      const b = await createSqlVerifierStore(await t.openAnother());
      assert.equal(await a.useChallenge('projects/p/locations/us/challenges/missing'), undefined);
      for (let i = 0; i < 10; i++) {
        const name = `projects/p/locations/us/challenges/u${i}`;
        await a.insertChallenge({ name, nonce: Uint8Array.of(i, 7), createTime: 1, expireTime: 2, used: false });
        const results = await Promise.all([a.useChallenge(name), b.useChallenge(name), a.useChallenge(name)]);
        const taken = results.filter((r) => r !== undefined);
        assert.equal(taken.length, 1, `challenge ${i} is used once`);
        assert.equal(taken[0]?.used, false, 'the record as it was before use');
        assert.equal(taken[0]?.expireTime, 2);
        assert.deepEqual([...(taken[0]?.nonce ?? [])], [i, 7]);
        assert.equal((await b.getChallenge(name))?.used, true);
      }
    });

    test('challenges created and used concurrently are each written once, and a failing write fails only its caller', async () => {
      const t = await engine.open();
      opened.push(t);
      const store = await createSqlVerifierStore(t.db);
      const record = (i: number) => ({
        name: `projects/p/locations/us/challenges/g${i}`,
        nonce: Uint8Array.of(i),
        createTime: 1,
        expireTime: 2,
        used: false,
      });
      await store.insertChallenge(record(0));
      // One batch: eight new challenges and a duplicate of an existing one.
      const inserts = await Promise.allSettled(
        [...Array.from({ length: 8 }, (_, i) => record(i + 1)), record(0)].map((c) => store.insertChallenge(c)),
      );
      assert.deepEqual(
        inserts.map((r) => r.status),
        [...Array(8).fill('fulfilled'), 'rejected'],
        'only the duplicate fails',
      );
      const used = await Promise.all(Array.from({ length: 9 }, (_, i) => store.useChallenge(record(i).name)));
      assert.deepEqual(
        used.map((c) => c?.nonce[0]),
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
        'each caller gets its own challenge',
      );
      const again = await Promise.all(Array.from({ length: 9 }, (_, i) => store.useChallenge(record(i).name)));
      assert.deepEqual(again, Array(9).fill(undefined), 'and each is used once');
    });

    test('signing keys and secrets written by one replica are read by the other, the first secret kept', async () => {
      const t = await engine.open();
      opened.push(t);
      const a = await createSqlVerifierStore(t.db);
      const b = await createSqlVerifierStore(await t.openAnother());
      const key = {
        kid: 'k1',
        sealedPrivateKey: Uint8Array.of(9, 8, 7),
        publicJwk: '{"kty":"RSA"}',
        certificate: Uint8Array.of(1, 2),
        createTime: 1_700_000_000_000,
      };
      await a.insertSigningKey(key);
      const listed = await b.listSigningKeys();
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.kid, 'k1');
      assert.equal(listed[0]?.createTime, key.createTime);
      assert.deepEqual([...(listed[0]?.sealedPrivateKey ?? [])], [9, 8, 7]);
      await Promise.all([a.putSecretIfAbsent('root', Uint8Array.of(1)), b.putSecretIfAbsent('root', Uint8Array.of(2))]);
      const [fromA, fromB] = await Promise.all([a.getSecret('root'), b.getSecret('root')]);
      assert.deepEqual([...(fromA ?? [])], [...(fromB ?? [])], 'both replicas read the same secret');
    });
  });
}
