// AES-256-GCM envelopes: round trip, and any change to ciphertext, key or AAD refuses to open.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contributionAad, createDataKey, decryptWithDataKey, encryptWithDataKey } from './envelope.ts';

describe('envelope encryption', () => {
  it('opens what it sealed under the same key and AAD', () => {
    const key = createDataKey();
    const aad = contributionAad('m-1', 'collaborator-1');
    const sealed = encryptWithDataKey(key, Buffer.from('alice'), aad);
    assert.equal(decryptWithDataKey(key, sealed, aad).toString(), 'alice');
  });

  it('refuses another message id, another collaborator or another key', () => {
    const key = createDataKey();
    const sealed = encryptWithDataKey(key, Buffer.from('alice'), contributionAad('m-1', 'c1'));
    for (const [k, aad] of [
      [key, contributionAad('m-2', 'c1')],
      [key, contributionAad('m-1', 'c2')],
      [createDataKey(), contributionAad('m-1', 'c1')],
    ] as const) {
      assert.throws(() => decryptWithDataKey(k, sealed, aad), { code: 'ERR_WORKLOAD_ENVELOPE_INVALID' });
    }
  });

  it('refuses every single-byte change and every truncation (property)', () => {
    const key = createDataKey();
    const aad = contributionAad('id', 'c');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (plain, at, flip) => {
        const sealed = encryptWithDataKey(key, plain, aad);
        const changed = Buffer.from(sealed);
        const index = at % changed.length;
        changed[index] = (changed[index] ?? 0) ^ flip;
        assert.throws(() => decryptWithDataKey(key, changed, aad));
        assert.throws(() => decryptWithDataKey(key, sealed.subarray(0, index), aad));
        assert.deepEqual(new Uint8Array(decryptWithDataKey(key, sealed, aad)), plain);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes distinct (message id, collaborator) pairs as distinct AAD (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (a, b, c, d) => {
        fc.pre(a !== c || b !== d);
        assert.notDeepEqual(contributionAad(a, b), contributionAad(c, d));
      }),
    );
  });
});
