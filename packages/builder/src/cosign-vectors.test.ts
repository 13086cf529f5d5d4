// The Confidential Space cosign vectors in ../shared/vectors/cosign, read at run time (never copied).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { computeDigest } from '@sealroom/formats';
import { BuilderError } from './errors.ts';
import { computeKeyId, decodePublicKeyPem, decodeRawStdBase64, type SignatureAlgorithm } from './keys.ts';
import { parseSimpleSigningPayload, verifyCsSignature, verifyRawSignature } from './simple-signing.ts';

const DIR = join(resolveSharedDir(), 'vectors', 'cosign');
const read = (name: string) => readFileSync(join(DIR, name));

interface VectorCase {
  id: string;
  payload: string;
  signature: string;
  image_digest: string;
  check: { public_key: string; algorithm: SignatureAlgorithm };
  expect: {
    signature_valid: boolean;
    cs_verify: 'verified' | 'error' | null;
    cs_error_contains?: string;
    verified_signature?: unknown;
  };
}

const expected = JSON.parse(read('expected.json').toString()) as {
  keys: Record<string, { key_id: string; optional_pub_value: string }>;
  cases: VectorCase[];
  payload_cases: {
    id: string;
    payload?: string;
    payload_text?: string;
    sha256_digest?: string;
    expect: { cs_unmarshal_and_validate: string; cs_error_contains?: string };
  }[];
  pub_field_cases: {
    optional_pub: string | null;
    expect: { ok: boolean; cs_error_contains?: string; decodes_to_file?: string };
  }[];
  key_id_cases: { input: string; expect: { key_id?: string; error_contains?: string } }[];
};

describe('cosign vectors: keys', () => {
  for (const [file, key] of Object.entries(expected.keys)) {
    it(`computes key_id of ${file} as hex SHA-256 of its DER`, () =>
      assert.equal(computeKeyId(read(file)), key.key_id));
  }
  for (const c of expected.key_id_cases) {
    it(`key_id case '${c.input.slice(0, 40)}' → ${c.expect.key_id ?? c.expect.error_contains}`, () => {
      const input =
        c.input === 'contents of ecdsa.pub.pem'
          ? read('ecdsa.pub.pem')
          : c.input.startsWith('contents of ecdsa.pub.pem followed by')
            ? Buffer.concat([read('ecdsa.pub.pem'), Buffer.from('trailing data')])
            : c.input === 'empty'
              ? Buffer.alloc(0)
              : Buffer.from(c.input);
      if (c.expect.key_id) assert.equal(computeKeyId(input), c.expect.key_id);
      else
        assert.throws(
          () => computeKeyId(input),
          (e: Error) => e.message.includes(c.expect.error_contains ?? '?'),
        );
    });
  }
  for (const c of expected.pub_field_cases) {
    it(`optional pub ${c.optional_pub === null ? 'null' : `${c.optional_pub.slice(-6)}`} → ${c.expect.ok ? 'ok' : c.expect.cs_error_contains}`, () => {
      if (c.expect.ok) {
        assert.deepEqual(decodeRawStdBase64(c.optional_pub ?? ''), read(c.expect.decodes_to_file ?? ''));
        return;
      }
      const fn = () =>
        c.optional_pub === null
          ? verifyCsSignature(read('payload-cosign.json'), '', expected.cases[0]?.image_digest ?? '')
          : decodePublicKeyPem(decodeRawStdBase64(c.optional_pub));
      assert.throws(
        fn,
        (e: Error) => e instanceof BuilderError && e.message.includes(c.expect.cs_error_contains ?? '?'),
      );
    });
  }
});

describe('cosign vectors: signatures (Confidential Space semantics)', () => {
  for (const c of expected.cases) {
    it(`${c.id}: raw check ${c.expect.signature_valid ? 'passes' : 'fails'}, CS ${c.expect.cs_verify ?? 'n/a'}`, () => {
      const payload = read(c.payload);
      const signatureText = read(c.signature).toString();
      const key = decodePublicKeyPem(read(c.check.public_key));
      assert.equal(
        verifyRawSignature(key, c.check.algorithm, payload, Buffer.from(signatureText, 'base64')),
        c.expect.signature_valid,
      );
      if (c.expect.cs_verify === 'verified') {
        assert.deepEqual(verifyCsSignature(payload, signatureText, c.image_digest), c.expect.verified_signature);
      } else if (c.expect.cs_verify === 'error') {
        assert.throws(
          () => verifyCsSignature(payload, signatureText, c.image_digest),
          (e: Error) => e instanceof BuilderError && e.message.includes(c.expect.cs_error_contains ?? '?'),
        );
      }
    });
  }
});

describe('cosign vectors: payloads', () => {
  for (const c of expected.payload_cases) {
    it(`${c.id}: parse ${c.expect.cs_unmarshal_and_validate}`, () => {
      const bytes = c.payload ? read(c.payload) : Buffer.from(c.payload_text ?? '');
      if (c.sha256_digest) assert.equal(computeDigest(bytes), c.sha256_digest);
      if (c.expect.cs_unmarshal_and_validate === 'ok') {
        const parsed = parseSimpleSigningPayload(bytes);
        assert.equal(parsed.optional, null);
        assert.match(parsed.manifestDigest, /^sha256:/);
      } else {
        assert.throws(
          () => parseSimpleSigningPayload(bytes),
          (e: Error) => e.message.includes(c.expect.cs_error_contains ?? '?'),
        );
      }
    });
  }
});
