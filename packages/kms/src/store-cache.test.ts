// Keys and versions kept in memory between calls, with two replicas on one database: a version disabled,
// destroyed or re-enabled through one is honoured by the other as soon as it hears of the change.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createSealer, type SqlDatabase } from '@sealroom/core';
import { changeCounterOf } from '@sealroom/iam';
import { TEST_ENGINES, type TestDatabase, waitUntilListening } from '@sealroom/postgres/testing';
import { createKeyManager } from './service.ts';
import { KMS_CHANGE_CHANNEL } from './store.ts';
import { createKmsTestBed, userCaller } from './testing.ts';

const RING = 'projects/proj-a/locations/global/keyRings/ring';
const KEY = `${RING}/cryptoKeys/key`;
const VERSION = `${KEY}/cryptoKeyVersions/1`;
const admin = userCaller('admin@example.com');
const ADMIN_PERMISSIONS = [
  'cloudkms.keyRings.create',
  'cloudkms.cryptoKeys.create',
  'cloudkms.cryptoKeyVersions.update',
  'cloudkms.cryptoKeyVersions.destroy',
  'cloudkms.cryptoKeyVersions.useToEncrypt',
  'cloudkms.cryptoKeyVersions.useToDecrypt',
];
const none = {
  purpose: 'ENCRYPT_DECRYPT' as const,
  algorithm: undefined,
  protectionLevel: undefined,
  labels: {},
  rotationPeriodMs: undefined,
  nextRotationTime: undefined,
  destroyScheduledMs: undefined,
};
const plain = (text: string) => ({
  plaintext: Buffer.from(text),
  additionalAuthenticatedData: Buffer.alloc(0),
  plaintextCrc32c: undefined,
  additionalAuthenticatedDataCrc32c: undefined,
});
const sealed = (ciphertext: Buffer) => ({
  ciphertext,
  additionalAuthenticatedData: Buffer.alloc(0),
  ciphertextCrc32c: undefined,
  additionalAuthenticatedDataCrc32c: undefined,
});

/** Waits (bounded) until `db`'s KMS counter moved past `from`. */
async function heard(db: SqlDatabase, from: number): Promise<void> {
  const counter = changeCounterOf(db, KMS_CHANGE_CHANNEL);
  const deadline = Date.now() + 30_000;
  while (counter.generation === from && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(counter.generation > from, 'the other replica heard the change');
}

for (const engine of TEST_ENGINES) {
  describe(`KMS key caches on ${engine.name} with two replicas`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('a version disabled, destroyed or re-enabled on one replica is honoured by the other', async () => {
      const t = await engine.open();
      opened.push(t);
      const other = await t.openAnother();
      const sealer = createSealer(randomBytes(32));
      const beds = [await createKmsTestBed({ db: t.db, sealer }), await createKmsTestBed({ db: other, sealer })];
      for (const bed of beds) for (const p of ADMIN_PERMISSIONS) bed.grant(admin.principal, p, 'projects/proj-a');
      const [a, b] = [await createKeyManager(beds[0]!.deps), await createKeyManager(beds[1]!.deps)];
      // The other replica's LISTEN connection comes up in the background.
      await waitUntilListening(t.db, other, KMS_CHANGE_CHANNEL);

      let seen = changeCounterOf(other, KMS_CHANGE_CHANNEL).generation;
      await a.createKeyRing(admin, 'projects/proj-a/locations/global', 'ring');
      await a.createCryptoKey(admin, RING, 'key', none, false);
      await heard(other, seen);
      const { ciphertext } = await b.encrypt(admin, KEY, plain('kept'));
      assert.equal((await b.decrypt(admin, KEY, sealed(ciphertext))).plaintext.toString(), 'kept');
      assert.equal((await b.decrypt(admin, KEY, sealed(ciphertext))).plaintext.toString(), 'kept', 'from memory');

      seen = changeCounterOf(other, KMS_CHANGE_CHANNEL).generation;
      await a.updateVersionState(admin, VERSION, 'DISABLED');
      await heard(other, seen);
      await assert.rejects(b.decrypt(admin, KEY, sealed(ciphertext)), { code: 'ERR_KMS_VERSION_NOT_ENABLED' });
      await assert.rejects(b.encrypt(admin, KEY, plain('no')), { code: 'ERR_KMS_VERSION_NOT_ENABLED' });

      seen = changeCounterOf(other, KMS_CHANGE_CHANNEL).generation;
      await a.updateVersionState(admin, VERSION, 'ENABLED');
      await heard(other, seen);
      assert.equal((await b.decrypt(admin, KEY, sealed(ciphertext))).plaintext.toString(), 'kept');

      seen = changeCounterOf(other, KMS_CHANGE_CHANNEL).generation;
      await a.destroyVersion(admin, VERSION);
      await heard(other, seen);
      await assert.rejects(b.decrypt(admin, KEY, sealed(ciphertext)), { code: 'ERR_KMS_VERSION_NOT_ENABLED' });
    });
  });
}
