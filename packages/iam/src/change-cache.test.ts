// The caches in front of IAM's hot reads (checked tokens, policies), with two replicas on one database: a
// revocation or a policy change on one is honoured by the other as soon as it hears of it, and no later.
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createMemoryLogger, createSealer, type SqlDatabase, systemClock } from '@sealroom/core';
import { createOutboundClient } from '@sealroom/outbound';
import { TEST_ENGINES, type TestDatabase, waitUntilListening } from '@sealroom/postgres/testing';
import { announceChange, changeCounterOf, createChangeCache } from './change-cache.ts';
import { CREDENTIAL_MIGRATIONS, createCredentialStore } from './credentials.ts';
import { IAM_CHANGE_CHANNEL, iamChangesOf } from './decisions.ts';
import { createIam } from './module.ts';
import { createSqlPolicyStore, POLICY_MIGRATIONS } from './policy-store.ts';
import { SERVICE_ACCOUNT_MIGRATIONS } from './service-accounts.ts';

/** `db` with a count of the statements it was asked, to tell a cache hit from a read. */
function counting(db: SqlDatabase): { db: SqlDatabase; reads: () => number } {
  let reads = 0;
  const wrapped: SqlDatabase = {
    dialect: db.dialect,
    notifications: db.notifications,
    all: (sql, params) => {
      reads += 1;
      return db.all(sql, params);
    },
    get: (sql, params) => {
      reads += 1;
      return db.get(sql, params);
    },
    run: (sql, params) => db.run(sql, params),
    runBatch: (statements) => db.runBatch(statements),
    transaction: (fn, options) => db.transaction(fn, options),
    migrate: (namespace, migrations) => db.migrate(namespace, migrations),
    checkStorage: () => db.checkStorage(),
    close: () => db.close(),
  };
  return { db: wrapped, reads: () => reads };
}

/** Waits (bounded) until `db`'s IAM counter has moved past `from`: the other replica heard the change. */
async function heard(db: SqlDatabase, from: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (iamChangesOf(db).generation === from && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(iamChangesOf(db).generation > from, 'the other replica heard the change');
}

test('a change cache keeps what was read, forgets it on a change, and never keeps a read a change raced', async () => {
  let generation = 0;
  let now = 1000;
  const cache = createChangeCache<string>({
    counter: {
      get generation() {
        return generation;
      },
    },
    clock: { now: () => now },
    ttlMs: 100,
  });
  let loads = 0;
  const load = async () => `v${++loads}`;
  assert.equal(await cache.read('k', load), 'v1');
  assert.equal(await cache.read('k', load), 'v1');
  generation += 1;
  assert.equal(await cache.read('k', load), 'v2');
  const raced = await cache.read('k2', async () => {
    generation += 1;
    return 'stale';
  });
  assert.equal(raced, 'stale');
  assert.equal(cache.get('k2'), undefined, 'a value read across a change is not kept');
  assert.equal(await cache.read('k', load), 'v3');
  now += 100;
  assert.equal(await cache.read('k', load), 'v4', 'an entry older than the TTL is read again');
  assert.equal(
    await cache.read(
      'n',
      async () => 'no',
      (v) => v !== 'no',
    ),
    'no',
  );
  assert.equal(cache.get('n'), undefined, 'a value `keep` refuses is not kept');
});

for (const engine of TEST_ENGINES) {
  describe(`IAM caches on ${engine.name} with two replicas`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });
    const replicas = async () => {
      const t = await engine.open();
      opened.push(t);
      await t.db.migrate('iam-credentials', CREDENTIAL_MIGRATIONS);
      await t.db.migrate('iam-service-accounts', SERVICE_ACCOUNT_MIGRATIONS);
      await t.db.migrate('iam-policies', POLICY_MIGRATIONS);
      const b = await t.openAnother();
      await waitUntilListening(t.db, b, IAM_CHANGE_CHANNEL);
      return { a: t.db, b };
    };

    test('a token checked on one replica is reused there, and refused at once after a revocation on the other', async () => {
      const { a, b } = await replicas();
      const credentialsA = createCredentialStore(a, systemClock);
      const counted = counting(b);
      const credentialsB = createCredentialStore(counted.db, systemClock);
      await credentialsA.ensureUser('alice@example.com', 'dev');
      const refresh = await credentialsA.issueRefreshToken('alice@example.com');
      const { accessToken } = await credentialsA.refresh(refresh);
      assert.equal((await credentialsB.inspect(accessToken))?.principal, 'user:alice@example.com');
      const readsAfterFirst = counted.reads();
      assert.equal((await credentialsB.inspect(accessToken))?.principal, 'user:alice@example.com');
      assert.equal(counted.reads(), readsAfterFirst, 'the second check is answered from memory');
      const before = iamChangesOf(b).generation;
      await credentialsA.revoke(accessToken);
      await heard(b, before);
      assert.equal(await credentialsB.inspect(accessToken), undefined);
      await assert.rejects(credentialsB.authenticate(accessToken), { code: 'ERR_UNAUTHENTICATED' });
    });

    test('a disabled user’s token is refused by the other replica once it hears of it', async () => {
      const { a, b } = await replicas();
      const credentialsA = createCredentialStore(a, systemClock);
      const credentialsB = createCredentialStore(b, systemClock);
      await credentialsA.ensureUser('bob@example.com', 'dev');
      const { accessToken } = await credentialsA.refresh(await credentialsA.issueRefreshToken('bob@example.com'));
      assert.ok(await credentialsB.inspect(accessToken));
      const before = iamChangesOf(b).generation;
      await credentialsA.setUserDisabled('bob@example.com', true);
      await heard(b, before);
      assert.equal(await credentialsB.inspect(accessToken), undefined);
    });

    test('a policy read on one replica is reused there, and the other’s change replaces it at once', async () => {
      const { a, b } = await replicas();
      const storeA = createSqlPolicyStore(a);
      const counted = counting(b);
      const storeB = createSqlPolicyStore(counted.db);
      const chain = ['projects/1', 'projects/1/locations/global'];
      const initial = iamChangesOf(b).generation;
      await storeA.set(
        'projects/1',
        { version: 1, bindings: [{ role: 'roles/viewer', members: ['user:x@e.com'] }] },
        undefined,
        1,
      );
      await heard(b, initial);
      assert.deepEqual(
        (await storeB.getMany(chain)).map((p) => p.bindings),
        [[{ role: 'roles/viewer', members: ['user:x@e.com'] }]],
      );
      const reads = counted.reads();
      await storeB.getMany(chain);
      assert.equal(counted.reads(), reads, 'the policies (and the absent one) are answered from memory');
      const before = iamChangesOf(b).generation;
      await storeA.set('projects/1', { version: 1, bindings: [] }, undefined, 2);
      await storeA.set(
        'projects/1/locations/global',
        { version: 1, bindings: [{ role: 'roles/owner', members: ['user:y@e.com'] }] },
        undefined,
        3,
      );
      await heard(b, before);
      assert.deepEqual(
        (await storeB.getMany(chain)).map((p) => p.bindings),
        [[], [{ role: 'roles/owner', members: ['user:y@e.com'] }]],
      );
    });

    test('a self-signed JWT verified on one replica is kept there, and refused at once after the other disables its key', async () => {
      const { a, b } = await replicas();
      const counted = counting(b);
      const sealer = createSealer(randomBytes(32));
      const iamOn = (db: SqlDatabase) =>
        createIam({
          db,
          logger: createMemoryLogger(),
          clock: systemClock,
          sealer,
          settings: { baseUrl: 'http://127.0.0.1:8080', universeDomain: 'googleapis.com', stateDir: '.', dev: true },
          outbound: createOutboundClient({ policy: { allowLoopback: true } }),
        });
      const iamA = await iamOn(a);
      const iamB = await iamOn(counted.db);
      const project = await iamA.deps.projects.create('jwt-proj', 'jwt-proj', 'user:o@example.com', Date.now());
      const account = await iamA.deps.serviceAccounts.create(project, 'jwt-sa', '', '');
      const material = await iamA.deps.keys.create(account, 'http://127.0.0.1:8080/token');
      const now = Math.floor(Date.now() / 1000);
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${part({ alg: 'RS256', kid: material.keyId })}.${part({
        iss: account.email,
        sub: account.email,
        aud: 'https://cloudkms.googleapis.com/',
        iat: now,
        exp: now + 600,
      })}`;
      const key = createPrivateKey(material.keyFile.private_key as string);
      const jwt = `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
      const onB = () => iamB.context.authenticator.authenticate(jwt);
      assert.equal((await onB()).principal, `serviceAccount:${account.email}`);
      const reads = counted.reads();
      assert.equal((await onB()).principal, `serviceAccount:${account.email}`);
      assert.equal(counted.reads(), reads, 'the second check is answered from memory');
      const before = iamChangesOf(counted.db).generation;
      await iamA.deps.keys.setDisabled(account, material.keyId, true);
      await heard(counted.db, before);
      await assert.rejects(onB(), { code: 'ERR_UNAUTHENTICATED' });
    });

    test('announceChange moves the counter of its channel on both replicas, and only that channel', async () => {
      const { a, b } = await replicas();
      const channel = 'sealroom_test_changes';
      const counterA = changeCounterOf(a, channel);
      const counterB = changeCounterOf(b, channel);
      const iamBefore = iamChangesOf(b).generation;
      const deadline = Date.now() + 30_000;
      const start = counterB.generation;
      while (counterB.generation === start && Date.now() < deadline) {
        await announceChange(a, channel);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(counterA.generation > 0);
      assert.ok(counterB.generation > start);
      assert.equal(iamChangesOf(b).generation, iamBefore);
    });
  });
}
