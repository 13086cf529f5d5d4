// Property tests for the parsers that read outside input: PEM keys, raw base64, payloads, DSSE envelopes, tar.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDsseEnvelope } from './dsse.ts';
import { BuilderError } from './errors.ts';
import { decodePublicKeyPem, decodeRawStdBase64, toRawStdBase64 } from './keys.ts';
import { parseSimpleSigningPayload } from './simple-signing.ts';
import { readTar, writeTar } from './tar.ts';

const onlyBuilderErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BuilderError, String(error));
  }
};

describe('parsers (property)', () => {
  it('refuse arbitrary bytes with a BuilderError and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        onlyBuilderErrors(() => decodePublicKeyPem(Buffer.from(bytes)));
        onlyBuilderErrors(() => parseSimpleSigningPayload(bytes));
        onlyBuilderErrors(() => parseDsseEnvelope(bytes));
        onlyBuilderErrors(() => decodeRawStdBase64(Buffer.from(bytes).toString('latin1')));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trip any bytes through unpadded standard base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toRawStdBase64(bytes);
        assert.ok(!text.includes('='));
        assert.deepEqual(decodeRawStdBase64(text), Buffer.from(bytes));
      }),
    );
  });

  it('find the same key_id in a PEM whatever text precedes the block', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    const keyId = decodePublicKeyPem(pem).keyId;
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }).filter((s) => !s.includes('-----BEGIN')),
        (prefix) => {
          assert.equal(decodePublicKeyPem(prefix + pem).keyId, keyId);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('read a corrupted archive without hanging, refusing it only with a BuilderError', () => {
    const archive = writeTar([
      { type: 'file', path: `${'d'.repeat(120)}/long-name.txt`, content: Buffer.alloc(700, 1) },
      { type: 'file', path: 'app/index.mjs', content: Buffer.from('console.log(1)') },
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(archive.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        (flips) => {
          const copy = Buffer.from(archive);
          for (const [at, value] of flips) copy[at] = value;
          onlyBuilderErrors(() => readTar(copy));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('read arbitrary bytes as a tar without hanging, refusing them only with a BuilderError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        onlyBuilderErrors(() => readTar(Buffer.from(bytes)));
      }),
      { numRuns: 200 },
    );
  });
});
