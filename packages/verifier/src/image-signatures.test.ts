import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { verifyImageSignature, verifyImageSignatures } from './image-signatures.ts';

const dir = join(resolveSharedDir(), 'vectors', 'cosign');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
const read = (name: string): Buffer => readFileSync(join(dir, name));
const sig = (name: string): Buffer => Buffer.from(read(name).toString('latin1'), 'base64');

interface Case {
  id: string;
  payload: string;
  signature: string;
  image_digest: string;
  expect: { cs_verify: string | null; verified_signature?: unknown };
}

describe('cosign image signatures (shared vectors, Confidential Space semantics)', () => {
  for (const c of expected.cases as Case[]) {
    if (c.expect.cs_verify === null) continue;
    it(`${c.id}: ${c.expect.cs_verify}`, () => {
      const input = { payload: read(c.payload), signature: sig(c.signature) };
      if (c.expect.cs_verify === 'verified') {
        assert.deepEqual(verifyImageSignature(input, c.image_digest), c.expect.verified_signature);
      } else {
        assert.throws(() => verifyImageSignature(input, c.image_digest), { code: 'ERR_VERIFIER_IMAGE_SIGNATURE' });
      }
    });
  }

  it('refuses a payload whose critical type is not a cosign signature', () => {
    const input = { payload: read('payload-invalid-critical-type.json'), signature: sig('ecdsa-p256-sha256.sig') };
    assert.throws(() => verifyImageSignature(input, expected.running_image_digest), {
      code: 'ERR_VERIFIER_IMAGE_SIGNATURE',
    });
  });

  it('refuses a payload with no key (optional is null)', () => {
    const input = { payload: read('payload-cosign.json'), signature: sig('ecdsa-p256-sha256.sig') };
    assert.throws(() => verifyImageSignature(input, expected.running_image_digest), {
      code: 'ERR_VERIFIER_IMAGE_SIGNATURE',
    });
  });

  it('keeps the good signatures and reports the bad ones as partial errors', () => {
    const good = { payload: read('payload-ecdsa-p256-sha256.json'), signature: sig('ecdsa-p256-sha256.sig') };
    const bad = { payload: read('payload-tampered-ecdsa-p256-sha256.json'), signature: sig('ecdsa-p256-sha256.sig') };
    const result = verifyImageSignatures([good, bad], expected.running_image_digest);
    assert.equal(result.verified.length, 1);
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ['ERR_VERIFIER_IMAGE_SIGNATURE'],
    );
  });
});

describe('image signature payloads from hostile input', () => {
  it('give only ERR_VERIFIER_IMAGE_SIGNATURE, never a crash', async () => {
    const { default: fc } = await import('fast-check');
    const seed = read('payload-ecdsa-p256-sha256.json');
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 700 }),
      fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, value]) => {
        const copy = Buffer.from(seed);
        copy[at] = value;
        return copy;
      }),
      fc.json().map((text) => Buffer.from(text)),
    );
    fc.assert(
      fc.property(payloads, fc.uint8Array({ maxLength: 80 }), (payload, signature) => {
        try {
          verifyImageSignature({ payload, signature }, expected.running_image_digest);
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'ERR_VERIFIER_IMAGE_SIGNATURE');
        }
      }),
      { numRuns: 300 },
    );
  });
});
