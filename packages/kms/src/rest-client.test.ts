// The unmodified @google-cloud/kms client over its REST fallback, against Sealroom's KMS on loopback.
import assert from 'node:assert/strict';
import { constants, createHash, publicEncrypt, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { crc32c } from '@sealroom/core';
import { OAuth2Client } from 'google-auth-library';
import { type KmsHarness, startKmsHarness } from './testing.ts';

const LOCATION = 'projects/proj-a/locations/global';
const RING = `${LOCATION}/keyRings/ring`;

function clientFor(port: number, accessToken: string): KeyManagementServiceClient {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 3_600_000 });
  return new KeyManagementServiceClient({
    fallback: true,
    protocol: 'http',
    apiEndpoint: '127.0.0.1',
    port,
    authClient: authClient as never,
  });
}

describe('@google-cloud/kms over REST fallback', () => {
  let h: KmsHarness;
  let owner: KeyManagementServiceClient;
  before(async () => {
    h = await startKmsHarness();
    owner = clientFor(h.port, h.owner.accessToken);
    await owner.createKeyRing({ parent: LOCATION, keyRingId: 'ring', keyRing: {} });
    await owner.createCryptoKey({ parent: RING, cryptoKeyId: 'sym', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    await owner.createCryptoKey({
      parent: RING,
      cryptoKeyId: 'sig',
      cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } },
    });
    await owner.createCryptoKey({
      parent: RING,
      cryptoKeyId: 'dec',
      cryptoKey: { purpose: 'ASYMMETRIC_DECRYPT', versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' } },
    });
  });
  after(async () => {
    await owner.close();
    await h.close();
  });

  it('lets the owner administer keys but not use them without a grant', async () => {
    const [key] = await owner.getCryptoKey({ name: `${RING}/cryptoKeys/sym` });
    assert.equal(key.purpose, 'ENCRYPT_DECRYPT');
    assert.equal(key.primary?.name, `${RING}/cryptoKeys/sym/cryptoKeyVersions/1`);
    await assert.rejects(
      owner.encrypt({ name: `${RING}/cryptoKeys/sym`, plaintext: Buffer.from('x') }),
      (error: { code?: number; message: string }) => {
        assert.equal(error.code, 7); // gax maps the HTTP 403 body to PERMISSION_DENIED
        assert.match(error.message, /cloudkms\.cryptoKeyVersions\.useToEncrypt/);
        return true;
      },
    );
  });

  it('encrypts and decrypts for a user granted encrypterDecrypter, with verified checksums', async () => {
    const user = await h.t.createUser('worker@example.com');
    await h.t.grant(`${RING}/cryptoKeys/sym`, 'roles/cloudkms.cryptoKeyEncrypterDecrypter', 'user:worker@example.com');
    const client = clientFor(h.port, user.accessToken);
    try {
      const plaintext = Buffer.from('collaborator data');
      const aad = Buffer.from('context');
      const [enc] = await client.encrypt({
        name: `${RING}/cryptoKeys/sym`,
        plaintext,
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(plaintext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      });
      assert.equal(enc.verifiedPlaintextCrc32c, true);
      assert.equal(enc.verifiedAdditionalAuthenticatedDataCrc32c, true);
      assert.equal(Number(enc.ciphertextCrc32c?.value), crc32c(enc.ciphertext as Uint8Array));
      const ciphertext = enc.ciphertext as Uint8Array;
      const [dec] = await client.decrypt({
        name: `${RING}/cryptoKeys/sym`,
        ciphertext,
        additionalAuthenticatedData: aad,
        ciphertextCrc32c: { value: crc32c(ciphertext) },
      });
      assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'collaborator data');
      assert.equal(Number(dec.plaintextCrc32c?.value), crc32c(plaintext));
      await assert.rejects(
        client.decrypt({
          name: `${RING}/cryptoKeys/sym`,
          ciphertext,
          additionalAuthenticatedData: Buffer.from('other'),
        }),
        (error: { code?: number; message: string }) => {
          assert.equal(error.code, 3);
          assert.match(error.message, /Decryption failed: the ciphertext is invalid\./);
          return true;
        },
      );
    } finally {
      await client.close();
    }
  });

  it('stops a user whose binding was removed at once, though its allowed decisions are reused', async () => {
    await owner.createCryptoKey({ parent: RING, cryptoKeyId: 'revoked', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const name = `${RING}/cryptoKeys/revoked`;
    const user = await h.t.createUser('leaver@example.com');
    const client = clientFor(h.port, user.accessToken);
    try {
      const [policy] = await owner.getIamPolicy({ resource: name } as never);
      const [granted] = await owner.setIamPolicy({
        resource: name,
        policy: {
          bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:leaver@example.com'] }],
          etag: policy.etag,
        },
      } as never);
      // Asked twice: the second answer may come from the decision cache.
      for (let i = 0; i < 2; i++) await client.encrypt({ name, plaintext: Buffer.from(`before ${i}`) });
      await owner.setIamPolicy({ resource: name, policy: { bindings: [], etag: granted.etag } } as never);
      await assert.rejects(
        client.encrypt({ name, plaintext: Buffer.from('after') }),
        (error: { code?: number; message: string }) => {
          assert.equal(error.code, 7);
          assert.match(error.message, /cloudkms\.cryptoKeyVersions\.useToEncrypt/);
          return true;
        },
      );
    } finally {
      await client.close();
    }
  });

  it('signs for a service account and the public key verifies the signature', async () => {
    const project = await h.t.deps.projects.get('proj-a');
    assert.ok(project);
    const sa = await h.t.deps.serviceAccounts.create(project, 'signer', 'Signer', '');
    await h.t.grant(`${RING}/cryptoKeys/sig`, 'roles/cloudkms.signerVerifier', `serviceAccount:${sa.email}`);
    const token = await h.t.deps.credentials.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${sa.email}`,
      lifetimeMs: 3_600_000,
    });
    const client = clientFor(h.port, token.accessToken);
    try {
      const version = `${RING}/cryptoKeys/sig/cryptoKeyVersions/1`;
      const message = Buffer.from('release the results');
      const digest = createHash('sha256').update(message).digest();
      const [signed] = await client.asymmetricSign({
        name: version,
        digest: { sha256: digest },
        digestCrc32c: { value: crc32c(digest) },
      });
      assert.equal(signed.verifiedDigestCrc32c, true);
      const [pub] = await client.getPublicKey({ name: version });
      assert.equal(pub.algorithm, 'EC_SIGN_P256_SHA256');
      assert.equal(Number(pub.pemCrc32c?.value), crc32c(Buffer.from(pub.pem as string)));
      assert.ok(
        verify('sha256', message, { key: pub.pem as string, dsaEncoding: 'der' }, signed.signature as Uint8Array),
      );
    } finally {
      await client.close();
    }
  });

  it('decrypts RSA-OAEP for a decrypter and lists, disables and destroys versions for the owner', async () => {
    const user = await h.t.createUser('unwrapper@example.com');
    await h.t.grant(`${RING}/cryptoKeys/dec`, 'roles/cloudkms.cryptoKeyDecrypter', 'user:unwrapper@example.com');
    await h.t.grant(`${RING}/cryptoKeys/dec`, 'roles/cloudkms.publicKeyViewer', 'user:unwrapper@example.com');
    const client = clientFor(h.port, user.accessToken);
    try {
      const version = `${RING}/cryptoKeys/dec/cryptoKeyVersions/1`;
      const [pub] = await client.getPublicKey({ name: version });
      const ciphertext = publicEncrypt(
        { key: pub.pem as string, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from('dek'),
      );
      const [out] = await client.asymmetricDecrypt({ name: version, ciphertext });
      assert.equal(Buffer.from(out.plaintext as Uint8Array).toString(), 'dek');
      const [created] = await owner.createCryptoKeyVersion({ parent: `${RING}/cryptoKeys/dec`, cryptoKeyVersion: {} });
      assert.equal(created.name, `${RING}/cryptoKeys/dec/cryptoKeyVersions/2`);
      const [versions] = await owner.listCryptoKeyVersions({ parent: `${RING}/cryptoKeys/dec` });
      assert.deepEqual(
        versions.map((v) => v.name?.split('/').at(-1)),
        ['1', '2'],
      );
      const [disabled] = await owner.updateCryptoKeyVersion({
        cryptoKeyVersion: { name: version, state: 'DISABLED' },
        updateMask: { paths: ['state'] },
      });
      assert.equal(disabled.state, 'DISABLED');
      await assert.rejects(
        client.asymmetricDecrypt({ name: version, ciphertext }),
        (error: { code?: number; message: string }) => {
          assert.equal(error.code, 9);
          assert.match(error.message, /is not enabled, current state is: DISABLED/);
          return true;
        },
      );
      const [destroyed] = await owner.destroyCryptoKeyVersion({ name: version });
      assert.equal(destroyed.state, 'DESTROY_SCHEDULED');
      assert.ok(destroyed.destroyTime);
    } finally {
      await client.close();
    }
  });

  it('gets and sets IAM policies on keys, refusing a stale etag with ABORTED', async () => {
    const [policy] = await owner.getIamPolicy({ resource: `${RING}/cryptoKeys/sym` } as never);
    const [set] = await owner.setIamPolicy({
      resource: `${RING}/cryptoKeys/sym`,
      policy: {
        bindings: [{ role: 'roles/cloudkms.cryptoKeyDecrypter', members: ['user:someone@example.com'] }],
        etag: policy.etag,
      },
    } as never);
    assert.deepEqual(set.bindings?.[0]?.members, ['user:someone@example.com']);
    await assert.rejects(
      owner.setIamPolicy({ resource: `${RING}/cryptoKeys/sym`, policy: { bindings: [], etag: policy.etag } } as never),
      (error: { code?: number }) => error.code === 10,
    );
    const [rings] = await owner.listKeyRings({ parent: LOCATION });
    assert.deepEqual(
      rings.map((r) => r.name),
      [RING],
    );
  });
});
