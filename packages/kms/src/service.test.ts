// The KMS domain end to end on SQLite and PostgreSQL: lifecycle, cryptographic use, refusals and their audit
// entries, and versions created by two replicas at once.
import assert from 'node:assert/strict';
import { randomBytes, constants, createHash, publicEncrypt, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32c, createSealer, openSqliteDatabase } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase, type TestEngine } from '@sealroom/postgres/testing';
import { parseAlgorithm } from './enums.ts';
import { createKeyManager } from './service.ts';
import { createKmsTestBed, userCaller } from './testing.ts';

const RING = 'projects/proj-a/locations/global/keyRings/ring';
const KEY = `${RING}/cryptoKeys/key`;
const admin = userCaller('admin@example.com');
const alice = userCaller('alice@example.com');
const ALL = [
  'cloudkms.keyRings.create',
  'cloudkms.keyRings.get',
  'cloudkms.keyRings.list',
  'cloudkms.cryptoKeys.create',
  'cloudkms.cryptoKeys.get',
  'cloudkms.cryptoKeys.list',
  'cloudkms.cryptoKeys.update',
  'cloudkms.cryptoKeyVersions.create',
  'cloudkms.cryptoKeyVersions.get',
  'cloudkms.cryptoKeyVersions.list',
  'cloudkms.cryptoKeyVersions.update',
  'cloudkms.cryptoKeyVersions.destroy',
  'cloudkms.cryptoKeyVersions.restore',
  'cloudkms.cryptoKeyVersions.useToEncrypt',
  'cloudkms.cryptoKeyVersions.useToDecrypt',
  'cloudkms.cryptoKeyVersions.useToSign',
  'cloudkms.cryptoKeyVersions.viewPublicKey',
];

const none = {
  purpose: undefined,
  algorithm: undefined,
  protectionLevel: undefined,
  labels: {},
  rotationPeriodMs: undefined,
  nextRotationTime: undefined,
  destroyScheduledMs: undefined,
};

/** The engine the running suite is on; each setup() gets a fresh database of it. */
let engine = TEST_ENGINES[0] as TestEngine;
const opened: TestDatabase[] = [];

async function setup(database?: TestDatabase) {
  const t = database ?? (await engine.open());
  if (!database) opened.push(t);
  const bed = await createKmsTestBed({ db: t.db });
  for (const p of ALL) bed.grant(admin.principal, p, 'projects/proj-a');
  const kms = await createKeyManager(bed.deps);
  await kms.createKeyRing(admin, 'projects/proj-a/locations/global', 'ring');
  await kms.createCryptoKey(admin, RING, 'key', { ...none, purpose: 'ENCRYPT_DECRYPT' }, false);
  return { ...bed, kms };
}

const enc = (plaintext: string, aad = '') => ({
  plaintext: Buffer.from(plaintext),
  additionalAuthenticatedData: Buffer.from(aad),
  plaintextCrc32c: undefined,
  additionalAuthenticatedDataCrc32c: undefined,
});
const dec = (ciphertext: Buffer, aad = '') => ({
  ciphertext,
  additionalAuthenticatedData: Buffer.from(aad),
  ciphertextCrc32c: undefined,
  additionalAuthenticatedDataCrc32c: undefined,
});

for (const suiteEngine of TEST_ENGINES) {
  describe(`kms key manager on ${suiteEngine.name}`, { skip: suiteEngine.skip }, () => {
    before(() => {
      engine = suiteEngine;
    });
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    it('creates a symmetric key with version 1 as primary and round-trips data with AAD', async () => {
      const { kms } = await setup();
      const key = await kms.getCryptoKey(admin, KEY);
      assert.equal(key.primaryVersionId, 1);
      assert.equal(key.algorithm, 'GOOGLE_SYMMETRIC_ENCRYPTION');
      const e = await kms.encrypt(admin, KEY, enc('hello', 'ctx'));
      assert.equal(e.name, `${KEY}/cryptoKeyVersions/1`);
      assert.equal(e.ciphertextCrc32c, crc32c(e.ciphertext));
      const d = await kms.decrypt(admin, KEY, dec(e.ciphertext, 'ctx'));
      assert.equal(d.plaintext.toString(), 'hello');
      assert.equal(d.usedPrimary, true);
    });

    it('accepts the project number in names and answers with the project id', async () => {
      const { kms } = await setup();
      const e = await kms.encrypt(admin, KEY.replace('proj-a', '111111111111'), enc('x'));
      assert.equal(e.name, `${KEY}/cryptoKeyVersions/1`);
    });

    it('refuses a duplicate key ring with ALREADY_EXISTS', async () => {
      const { kms } = await setup();
      await assert.rejects(kms.createKeyRing(admin, 'projects/proj-a/locations/global', 'ring'), {
        code: 'ERR_ALREADY_EXISTS',
      });
    });

    it('decrypts old ciphertexts after rotation, and new ones use the new primary', async () => {
      const { kms, clock } = await setup();
      const old = await kms.encrypt(admin, KEY, enc('old'));
      const v2 = await kms.createVersion(admin, KEY);
      await kms.updatePrimaryVersion(admin, KEY, String(v2.versionId));
      const fresh = await kms.encrypt(admin, KEY, enc('new'));
      assert.equal(fresh.name, `${KEY}/cryptoKeyVersions/2`);
      const d = await kms.decrypt(admin, KEY, dec(old.ciphertext));
      assert.equal(d.plaintext.toString(), 'old');
      assert.equal(d.usedPrimary, false);
      void clock;
    });

    it('rotates automatically when the rotation time passes', async () => {
      const { kms, clock } = await setup();
      await kms.updateCryptoKey(admin, KEY, { rotationPeriodMs: 86_400_000 }, ['rotation_period']);
      clock.advance(86_400_001);
      assert.deepEqual(await kms.runMaintenance(), { erased: 0, rotated: 1 });
      const key = await kms.getCryptoKey(admin, KEY);
      assert.equal(key.primaryVersionId, 2);
      assert.ok((key.nextRotationTime as number) > clock.now());
    });

    it('refuses a disabled version, and a destroyed one even after restore is no longer possible', async () => {
      const { kms, clock } = await setup();
      const e = await kms.encrypt(admin, KEY, enc('x'));
      await kms.updateVersionState(admin, `${KEY}/cryptoKeyVersions/1`, 'DISABLED');
      await assert.rejects(kms.decrypt(admin, KEY, dec(e.ciphertext)), {
        code: 'ERR_KMS_VERSION_NOT_ENABLED',
        status: 'FAILED_PRECONDITION',
        message: `${KEY}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.`,
      });
      await assert.rejects(kms.encrypt(admin, KEY, enc('x')), { code: 'ERR_KMS_VERSION_NOT_ENABLED' });
      const destroyed = await kms.destroyVersion(admin, `${KEY}/cryptoKeyVersions/1`);
      assert.equal(destroyed.state, 'DESTROY_SCHEDULED');
      await assert.rejects(kms.decrypt(admin, KEY, dec(e.ciphertext)), { code: 'ERR_KMS_VERSION_NOT_ENABLED' });
      clock.advance(30 * 86_400_000);
      assert.equal((await kms.runMaintenance()).erased, 1);
      const version = await kms.getVersion(admin, `${KEY}/cryptoKeyVersions/1`);
      assert.equal(version.state, 'DESTROYED');
      assert.equal(version.sealedMaterial, undefined);
      await assert.rejects(kms.restoreVersion(admin, version.name), { code: 'ERR_KMS_BAD_STATE_CHANGE' });
      await assert.rejects(kms.decrypt(admin, KEY, dec(e.ciphertext)), { message: /current state is: DESTROYED/ });
    });

    it('restores a version scheduled for destruction as DISABLED', async () => {
      const { kms } = await setup();
      const name = `${KEY}/cryptoKeyVersions/1`;
      await kms.destroyVersion(admin, name);
      assert.equal((await kms.restoreVersion(admin, name)).state, 'DISABLED');
      await kms.updateVersionState(admin, name, 'ENABLED');
      await kms.decrypt(admin, KEY, dec((await kms.encrypt(admin, name, enc('x'))).ciphertext));
    });

    const badInputs: [
      string,
      (c: Buffer) => Parameters<Awaited<ReturnType<typeof setup>>['kms']['decrypt']>[2],
      string,
    ][] = [
      [
        'a tampered ciphertext',
        (c) => dec(Buffer.concat([c.subarray(0, -1), Buffer.from([(c.at(-1) as number) ^ 1])]), 'aad'),
        'ERR_KMS_BAD_CIPHERTEXT',
      ],
      ['the wrong AAD', (c) => dec(c, 'other'), 'ERR_KMS_BAD_CIPHERTEXT'],
      [
        'a wrong ciphertext CRC32C',
        (c) => ({ ...dec(c, 'aad'), ciphertextCrc32c: (crc32c(c) + 1) >>> 0 }),
        'ERR_KMS_CHECKSUM_MISMATCH',
      ],
      ['a truncated ciphertext', (c) => dec(c.subarray(0, 10), 'aad'), 'ERR_KMS_BAD_CIPHERTEXT'],
      [
        'a ciphertext naming a version the key lacks',
        (c) => {
          const t = Buffer.from(c);
          t.writeUInt32BE(9, 1);
          return dec(t, 'aad');
        },
        'ERR_KMS_BAD_CIPHERTEXT',
      ],
    ];
    for (const [what, mutate, code] of badInputs) {
      it(`refuses decrypting ${what} with ${code}, writing neither plaintext nor ciphertext anywhere`, async () => {
        const { kms, audit, logger } = await setup();
        const e = await kms.encrypt(admin, KEY, enc('top secret words', 'aad'));
        await assert.rejects(kms.decrypt(admin, KEY, mutate(e.ciphertext)), { code });
        const last = audit.at(-1);
        assert.equal(last?.outcome, 'FAILED');
        assert.equal(last?.status, code);
        const dump = JSON.stringify([audit, logger.entries]);
        assert.ok(!dump.includes('top secret'));
        assert.ok(!dump.includes(e.ciphertext.toString('base64')));
      });
    }

    it('refuses the ciphertext of another key as invalid', async () => {
      const { kms } = await setup();
      await kms.createCryptoKey(admin, RING, 'other', { ...none, purpose: 'ENCRYPT_DECRYPT' }, false);
      const e = await kms.encrypt(admin, `${RING}/cryptoKeys/other`, enc('x'));
      await assert.rejects(kms.decrypt(admin, KEY, dec(e.ciphertext)), {
        code: 'ERR_KMS_BAD_CIPHERTEXT',
        message: 'Decryption failed: the ciphertext is invalid.',
      });
    });

    it('accepts 64 KiB of plaintext and refuses 64 KiB + 1', async () => {
      const { kms } = await setup();
      await kms.encrypt(admin, KEY, { ...enc(''), plaintext: Buffer.alloc(65_536) });
      await assert.rejects(kms.encrypt(admin, KEY, { ...enc(''), plaintext: Buffer.alloc(65_537) }), {
        code: 'ERR_KMS_PLAINTEXT_TOO_LARGE',
        status: 'INVALID_ARGUMENT',
      });
    });

    it('verifies a correct plaintext CRC32C and refuses a wrong one', async () => {
      const { kms } = await setup();
      const ok = await kms.encrypt(admin, KEY, { ...enc('abc'), plaintextCrc32c: crc32c(Buffer.from('abc')) });
      assert.equal(ok.verifiedPlaintextCrc32c, true);
      assert.equal(ok.verifiedAdditionalAuthenticatedDataCrc32c, false);
      await assert.rejects(kms.encrypt(admin, KEY, { ...enc('abc'), plaintextCrc32c: 1 }), {
        message: 'The checksum in field plaintext_crc32c did not match the data in field plaintext.',
      });
    });

    it('refuses unknown and unsupported algorithms', () => {
      assert.throws(() => parseAlgorithm('NOPE_ALGORITHM', 'algorithm'), { code: 'ERR_INVALID_ARGUMENT' });
      assert.throws(() => parseAlgorithm(999, 'algorithm'), { code: 'ERR_INVALID_ARGUMENT' });
      assert.throws(() => parseAlgorithm('HMAC_SHA256', 'algorithm'), { code: 'ERR_KMS_UNSUPPORTED_ALGORITHM' });
      assert.equal(parseAlgorithm(12, 'algorithm'), 'EC_SIGN_P256_SHA256');
      assert.equal(parseAlgorithm('1', 'algorithm'), 'GOOGLE_SYMMETRIC_ENCRYPTION');
    });

    it('denies a caller without the permission like a missing key, and audits the denial', async () => {
      const { kms, audit } = await setup();
      const expected = `Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource '${KEY}' (or it may not exist).`;
      await assert.rejects(kms.decrypt(alice, KEY, dec(Buffer.alloc(40))), {
        code: 'ERR_PERMISSION_DENIED',
        message: expected,
      });
      const missing = `${RING}/cryptoKeys/missing`;
      await assert.rejects(kms.decrypt(alice, missing, dec(Buffer.alloc(40))), { code: 'ERR_PERMISSION_DENIED' });
      const denial = audit.find((a) => a.outcome === 'DENIED');
      assert.equal(denial?.caller?.principal, 'user:alice@example.com');
      assert.equal(denial?.method, 'google.cloud.kms.v1.KeyManagementService.Decrypt');
      assert.equal(denial?.project, 'proj-a');
    });

    it('lets a decrypter decrypt but not encrypt', async () => {
      const { kms, grant } = await setup();
      grant(alice.principal, 'cloudkms.cryptoKeyVersions.useToDecrypt', KEY);
      const e = await kms.encrypt(admin, KEY, enc('x'));
      assert.equal((await kms.decrypt(alice, KEY, dec(e.ciphertext))).plaintext.toString(), 'x');
      await assert.rejects(kms.encrypt(alice, KEY, enc('x')), { code: 'ERR_PERMISSION_DENIED' });
    });

    for (const [algorithm, hash, options] of [
      ['EC_SIGN_P256_SHA256', 'sha256', { dsaEncoding: 'der' }],
      ['EC_SIGN_P384_SHA384', 'sha384', { dsaEncoding: 'der' }],
      ['RSA_SIGN_PSS_2048_SHA256', 'sha256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
      ['RSA_SIGN_PKCS1_2048_SHA256', 'sha256', { padding: constants.RSA_PKCS1_PADDING }],
    ] as const) {
      it(`signs with ${algorithm} and publishes a public key that verifies it`, async () => {
        const { kms } = await setup();
        await kms.createCryptoKey(admin, RING, 'signer', { ...none, purpose: 'ASYMMETRIC_SIGN', algorithm }, false);
        const version = `${RING}/cryptoKeys/signer/cryptoKeyVersions/1`;
        const message = Buffer.from('sign me');
        const digest = createHash(hash).update(message).digest();
        const signed = await kms.asymmetricSign(admin, version, {
          digest: { hash, bytes: digest },
          digestCrc32c: crc32c(digest),
          data: undefined,
          dataCrc32c: undefined,
        });
        assert.equal(signed.verifiedDigestCrc32c, true);
        const pub = await kms.getPublicKey(admin, version);
        assert.equal(pub.pemCrc32c, crc32c(Buffer.from(pub.pem)));
        assert.ok(verify(hash, message, { key: pub.pem, ...options }, signed.signature));
        const wrongHash = hash === 'sha256' ? 'sha384' : 'sha256';
        await assert.rejects(
          kms.asymmetricSign(admin, version, {
            digest: { hash: wrongHash, bytes: createHash(wrongHash).update(message).digest() },
            digestCrc32c: undefined,
            data: undefined,
            dataCrc32c: undefined,
          }),
          { code: 'ERR_KMS_BAD_DIGEST' },
        );
        await assert.rejects(kms.encrypt(admin, `${RING}/cryptoKeys/signer`, enc('x')), {
          code: 'ERR_KMS_WRONG_PURPOSE',
        });
      });
    }

    it('decrypts RSA-OAEP-SHA256 ciphertexts made with the published public key', async () => {
      const { kms } = await setup();
      await kms.createCryptoKey(
        admin,
        RING,
        'dec',
        { ...none, purpose: 'ASYMMETRIC_DECRYPT', algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' },
        false,
      );
      const version = `${RING}/cryptoKeys/dec/cryptoKeyVersions/1`;
      const pub = await kms.getPublicKey(admin, version);
      const ciphertext = publicEncrypt(
        { key: pub.pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from('wrapped'),
      );
      const out = await kms.asymmetricDecrypt(admin, version, { ciphertext, ciphertextCrc32c: crc32c(ciphertext) });
      assert.equal(out.plaintext.toString(), 'wrapped');
      assert.equal(out.verifiedCiphertextCrc32c, true);
    });

    it('refuses an algorithm that does not fit the purpose', async () => {
      const { kms } = await setup();
      await assert.rejects(
        kms.createCryptoKey(
          admin,
          RING,
          'bad',
          { ...none, purpose: 'ENCRYPT_DECRYPT', algorithm: 'EC_SIGN_P256_SHA256' },
          false,
        ),
        { code: 'ERR_KMS_UNSUPPORTED_ALGORITHM' },
      );
    });

    it('lists versions in order with page tokens', async () => {
      const { kms } = await setup();
      await kms.createVersion(admin, KEY);
      await kms.createVersion(admin, KEY);
      const first = await kms.listVersions(admin, KEY, { pageSize: 2, pageToken: undefined });
      assert.deepEqual(
        first.items.map((v) => v.versionId),
        [1, 2],
      );
      assert.equal(first.totalSize, 3);
      const second = await kms.listVersions(admin, KEY, { pageSize: 2, pageToken: first.nextPageToken });
      assert.deepEqual(
        second.items.map((v) => v.versionId),
        [3],
      );
      assert.equal(second.nextPageToken, '');
    });

    it('gives versions created on two replicas at once distinct numbers, every one usable on both', async () => {
      const t = await engine.open();
      opened.push(t);
      const a = await setup(t);
      const bedB = await createKmsTestBed({ db: await t.openAnother(), sealer: a.deps.sealer, clock: a.clock });
      for (const p of ALL) bedB.grant(admin.principal, p, 'projects/proj-a');
      const b = await createKeyManager(bedB.deps);
      const created = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a.kms : b).createVersion(admin, KEY)),
      );
      const ids = created.map((v) => v.versionId).sort((x, y) => x - y);
      assert.deepEqual(ids, [2, 3, 4, 5, 6, 7, 8, 9]);
      await b.updatePrimaryVersion(admin, KEY, '9');
      const e = await a.kms.encrypt(admin, KEY, enc('across replicas'));
      assert.equal(e.name, `${KEY}/cryptoKeyVersions/9`);
      assert.equal((await b.decrypt(admin, KEY, dec(e.ciphertext))).plaintext.toString(), 'across replicas');
    });
  });
}

describe('kms key manager on a SQLite file', () => {
  it('keeps keys across a restart and refuses to start under another root key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kms-'));
    try {
      const rootKey = randomBytes(32);
      const path = join(dir, 'state.db');
      const db1 = openSqliteDatabase({ path });
      const bed1 = await createKmsTestBed({ db: db1, sealer: createSealer(rootKey) });
      for (const p of ALL) bed1.grant(admin.principal, p, 'projects/proj-a');
      const kms1 = await createKeyManager(bed1.deps);
      await kms1.createKeyRing(admin, 'projects/proj-a/locations/global', 'ring');
      await kms1.createCryptoKey(admin, RING, 'key', { ...none, purpose: 'ENCRYPT_DECRYPT' }, false);
      const e = await kms1.encrypt(admin, KEY, enc('survives'));
      await db1.close();

      const db2 = openSqliteDatabase({ path });
      const bed2 = await createKmsTestBed({ db: db2, sealer: createSealer(rootKey) });
      for (const p of ALL) bed2.grant(admin.principal, p, 'projects/proj-a');
      const kms2 = await createKeyManager(bed2.deps);
      assert.equal((await kms2.decrypt(admin, KEY, dec(e.ciphertext))).plaintext.toString(), 'survives');
      await db2.close();

      const db3 = openSqliteDatabase({ path });
      const bed3 = await createKmsTestBed({ db: db3, sealer: createSealer(randomBytes(32)) });
      await assert.rejects(createKeyManager(bed3.deps), { code: 'ERR_WRONG_ROOT_KEY' });
      await db3.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
