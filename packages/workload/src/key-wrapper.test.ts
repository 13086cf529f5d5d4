// Data-key wrapping through a KMS-shaped client, and the cache that unwraps each batch key once.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32c } from '@sealroom/core';
import { createDataKey } from './envelope.ts';
import { type KmsCryptoClient, createDataKeyCache, createKmsKeyWrapper } from './key-wrapper.ts';

/** A KMS stand-in with one AES-GCM key, counting calls and checking the request checksums. */
function fakeKms() {
  const kek = randomBytes(32);
  const calls = { encrypt: 0, decrypt: 0 };
  const client: KmsCryptoClient = {
    async encrypt(request) {
      calls.encrypt += 1;
      assert.equal(request.plaintextCrc32c?.value, crc32c(request.plaintext));
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', kek, iv);
      cipher.setAAD(request.additionalAuthenticatedData ?? Buffer.alloc(0));
      const body = Buffer.concat([cipher.update(request.plaintext), cipher.final()]);
      return [{ ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]), verifiedPlaintextCrc32c: true }];
    },
    async decrypt(request) {
      calls.decrypt += 1;
      assert.equal(request.ciphertextCrc32c?.value, crc32c(request.ciphertext));
      const c = Buffer.from(request.ciphertext);
      const decipher = createDecipheriv('aes-256-gcm', kek, c.subarray(0, 12));
      decipher.setAAD(request.additionalAuthenticatedData ?? Buffer.alloc(0));
      decipher.setAuthTag(c.subarray(c.length - 16));
      const plaintext = Buffer.concat([decipher.update(c.subarray(12, c.length - 16)), decipher.final()]);
      return [{ plaintext, plaintextCrc32c: { value: String(crc32c(plaintext)) } }];
    },
  };
  return { client, calls };
}

describe('createKmsKeyWrapper', () => {
  it('wraps and unwraps a data key, bound to the AAD given', async () => {
    const { client } = fakeKms();
    const wrapper = createKmsKeyWrapper(client, 'projects/p/locations/global/keyRings/r/cryptoKeys/k');
    const key = createDataKey();
    const aad = Buffer.from('collaborator-1');
    const wrapped = await wrapper.wrap(key, aad);
    assert.deepEqual(await wrapper.unwrap(wrapped, aad), key);
    await assert.rejects(wrapper.unwrap(wrapped, Buffer.from('collaborator-2')));
  });

  it('refuses a plaintext whose checksum from KMS does not match', async () => {
    const client: KmsCryptoClient = {
      encrypt: async () => [{ ciphertext: Buffer.from('x') }],
      decrypt: async () => [{ plaintext: Buffer.from('key'), plaintextCrc32c: { value: '1' } }],
    };
    await assert.rejects(createKmsKeyWrapper(client, 'k').unwrap(Buffer.from('w')), {
      code: 'ERR_WORKLOAD_ENVELOPE_INVALID',
    });
  });
});

describe('createDataKeyCache', () => {
  it('unwraps each wrapped key once, concurrent callers included', async () => {
    const { client, calls } = fakeKms();
    const wrapper = createKmsKeyWrapper(client, 'k');
    const wrapped = await wrapper.wrap(createDataKey());
    const cache = createDataKeyCache({ unwrap: (w) => wrapper.unwrap(w) });
    const keys = await Promise.all([cache.get(wrapped), cache.get(wrapped), cache.get(Buffer.from(wrapped))]);
    assert.equal(calls.decrypt, 1);
    assert.deepEqual(keys[0], keys[2]);
  });

  it('does not remember a failed unwrap, and drops the oldest key beyond its size', async () => {
    let failures = 1;
    const cache = createDataKeyCache({
      maxEntries: 2,
      unwrap: async (w) => {
        if (failures-- > 0) throw new Error('unavailable');
        return Buffer.from(w);
      },
    });
    await assert.rejects(cache.get(Buffer.from('a')));
    assert.deepEqual(await cache.get(Buffer.from('a')), Buffer.from('a'));
    await cache.get(Buffer.from('b'));
    await cache.get(Buffer.from('c'));
    assert.equal(cache.size, 2);
  });
});
