// Each algorithm's output verifies with node:crypto the way a Cloud KMS client verifies it.
import assert from 'node:assert/strict';
import { constants, createHash, publicEncrypt, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decryptOaep,
  decryptSymmetric,
  encryptSymmetric,
  generateKeyMaterial,
  signDigest,
  versionIdOfCiphertext,
} from './crypto.ts';
import type { Algorithm } from './enums.ts';

describe('kms crypto', () => {
  const signing: [Algorithm, string, object][] = [
    ['EC_SIGN_P256_SHA256', 'sha256', { dsaEncoding: 'der' }],
    ['EC_SIGN_P384_SHA384', 'sha384', { dsaEncoding: 'der' }],
    ['RSA_SIGN_PSS_2048_SHA256', 'sha256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
    ['RSA_SIGN_PKCS1_2048_SHA256', 'sha256', { padding: constants.RSA_PKCS1_PADDING }],
  ];
  for (const [algorithm, hash, options] of signing) {
    it(`signs a ${hash} digest with ${algorithm} so that node:crypto verifies the message`, async () => {
      const key = await generateKeyMaterial(algorithm);
      const message = Buffer.from(`message for ${algorithm}`);
      for (let i = 0; i < 5; i++) {
        const signature = signDigest(algorithm, key.material, createHash(hash).update(message).digest());
        assert.ok(verify(hash, message, { key: key.publicPem as string, ...options }, signature));
        assert.ok(!verify(hash, Buffer.from('other'), { key: key.publicPem as string, ...options }, signature));
      }
    });
  }

  it('generates an RSA key off the event loop: other callbacks run while it is made', async () => {
    let settled = false;
    const generating = generateKeyMaterial('RSA_SIGN_PKCS1_2048_SHA256').then((key) => {
      settled = true;
      return key;
    });
    // Generated on the event loop, the key would be done (and `settled` set) before this callback could run.
    const pendingWhenTheLoopTurned = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!settled)));
    assert.equal(pendingWhenTheLoopTurned, true);
    assert.ok((await generating).publicPem?.includes('BEGIN PUBLIC KEY'));
  });

  it('decrypts what RSA-OAEP-SHA256 encrypted under the public key', async () => {
    const key = await generateKeyMaterial('RSA_DECRYPT_OAEP_2048_SHA256');
    const ciphertext = publicEncrypt(
      { key: key.publicPem as string, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from('secret'),
    );
    assert.equal(decryptOaep(key.material, ciphertext).toString(), 'secret');
    assert.throws(() => decryptOaep(key.material, Buffer.alloc(256, 1)), { code: 'ERR_KMS_BAD_CIPHERTEXT' });
  });

  it('round-trips symmetric ciphertexts that name their version, and rejects any flipped bit', async () => {
    const key = (await generateKeyMaterial('GOOGLE_SYMMETRIC_ENCRYPTION')).material;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.nat(),
        (plaintext, aad, versionId, flip) => {
          const ciphertext = encryptSymmetric(key, versionId, plaintext, aad);
          assert.equal(versionIdOfCiphertext(ciphertext), versionId);
          assert.deepEqual(new Uint8Array(decryptSymmetric(key, ciphertext, aad)), plaintext);
          const tampered = Buffer.from(ciphertext);
          const bit = flip % (tampered.length * 8);
          tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
          assert.throws(() => decryptSymmetric(key, tampered, aad), { code: 'ERR_KMS_BAD_CIPHERTEXT' });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a ciphertext with another AAD or too short to hold a header', async () => {
    const key = (await generateKeyMaterial('GOOGLE_SYMMETRIC_ENCRYPTION')).material;
    const ciphertext = encryptSymmetric(key, 1, Buffer.from('x'), Buffer.from('a'));
    assert.throws(() => decryptSymmetric(key, ciphertext, Buffer.from('b')), { code: 'ERR_KMS_BAD_CIPHERTEXT' });
    assert.throws(() => versionIdOfCiphertext(Buffer.alloc(10)), { code: 'ERR_KMS_BAD_CIPHERTEXT' });
  });
});
