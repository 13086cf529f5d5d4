import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { computeDigest } from '@sealroom/formats';
import { attestImage, PREDICATE_TYPES, verifyAttestation } from './attestation.ts';
import {
  appendSignatureLayers,
  buildSignatureManifest,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
} from './cosign-manifest.ts';
import { parseDsseEnvelope } from './dsse.ts';
import { BuilderError } from './errors.ts';
import { signImage, toTrustedKey, verifyImageSignatures } from './sign.ts';
import { createKeySigner } from './signer.ts';
import { verifyCsSignature } from './simple-signing.ts';

const DIGEST = computeDigest(Buffer.from('image manifest'));
const OTHER_DIGEST = computeDigest(Buffer.from('another manifest'));
const REPO = '127.0.0.1:8080/proj/repo1/wordcount';

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const alice = ecKey();
const bob = rsaKey();
const carol = ecKey();
const mallory = ecKey();
const pem = (k: { publicKey: { export(o: { format: 'pem'; type: 'spki' }): string | Buffer } }) =>
  k.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const trusted = [alice, bob, carol].map((k) => toTrustedKey(pem(k)));

async function sigBy(
  key: { privateKey: Parameters<typeof createKeySigner>[0] },
  digest = DIGEST,
  algorithm?: Parameters<typeof createKeySigner>[1],
): Promise<SignatureLayer> {
  return signImage({ dockerReference: REPO, imageDigest: digest, signer: createKeySigner(key.privateKey, algorithm) });
}

const ERR = (code: string, pattern: RegExp) => (e: unknown) =>
  e instanceof BuilderError && e.code === code && pattern.test(e.message);

describe('signImage', () => {
  it('writes a simple-signing payload Confidential Space verifies, for ECDSA, PKCS#1 v1.5 and PSS keys', async () => {
    for (const [key, algorithm] of [
      [alice, 'ECDSA_P256_SHA256'],
      [bob, 'RSASSA_PKCS1V15_SHA256'],
      [bob, 'RSASSA_PSS_SHA256'],
    ] as const) {
      const layer = await sigBy(key, DIGEST, algorithm);
      assert.equal(layer.descriptor.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
      assert.equal(layer.descriptor.digest, computeDigest(layer.payload));
      const verified = verifyCsSignature(
        layer.payload,
        layer.descriptor.annotations?.[SIGNATURE_ANNOTATION] ?? '',
        DIGEST,
      );
      assert.equal(verified.signature_algorithm, algorithm);
      assert.equal(verified.key_id, toTrustedKey(pem(key)).info.keyId);
    }
  });

  it('writes the payload byte for byte as cosign does (Go struct order, critical.type, sorted optional)', async () => {
    const layer = await sigBy(alice);
    const text = layer.payload.toString();
    assert.ok(
      text.startsWith(
        `{"critical":{"identity":{"docker-reference":"${REPO}"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":{"dev.cosignproject.cosign/pub":"`,
      ),
    );
    assert.ok(text.endsWith('","dev.cosignproject.cosign/sigalg":"ECDSA_P256_SHA256"}}'));
  });
});

describe('verifyImageSignatures (k-of-n)', () => {
  it('accepts 2-of-3 when two trusted keys signed, and reports who', async () => {
    const layers = [await sigBy(alice), await sigBy(bob)];
    const result = verifyImageSignatures({ imageDigest: DIGEST, layers, keys: trusted, threshold: 2 });
    assert.deepEqual(result.signedBy, [trusted[0]?.info.keyId, trusted[1]?.info.keyId].sort());
  });

  it('counts one key once even if it signed twice, and refuses when one signer short', async () => {
    const layers = [await sigBy(alice), await sigBy(alice)];
    assert.throws(
      () => verifyImageSignatures({ imageDigest: DIGEST, layers, keys: trusted, threshold: 2 }),
      ERR('ERR_BUILDER_THRESHOLD_NOT_MET', /1 of the required 2/),
    );
  });

  it('refuses a signature by an untrusted key', async () => {
    const layers = [await sigBy(mallory)];
    assert.throws(
      () => verifyImageSignatures({ imageDigest: DIGEST, layers, keys: trusted, threshold: 1 }),
      ERR('ERR_BUILDER_THRESHOLD_NOT_MET', /any trusted key/),
    );
  });

  it('refuses a signature over another digest', async () => {
    const layers = [await sigBy(alice, OTHER_DIGEST)];
    assert.throws(
      () => verifyImageSignatures({ imageDigest: DIGEST, layers, keys: trusted, threshold: 1 }),
      ERR('ERR_BUILDER_THRESHOLD_NOT_MET', /another digest/),
    );
  });

  it('refuses a tampered payload, whether or not the layer digest was updated', async () => {
    const good = await sigBy(alice);
    const tampered = Buffer.from(good.payload.toString().replace('wordcount', 'wordcounu'));
    const stale = { descriptor: good.descriptor, payload: tampered };
    assert.throws(
      () => verifyImageSignatures({ imageDigest: DIGEST, layers: [stale], keys: trusted, threshold: 1 }),
      ERR('ERR_BUILDER_THRESHOLD_NOT_MET', /layer digest/),
    );
    const rehashed = {
      descriptor: { ...good.descriptor, digest: computeDigest(tampered), size: tampered.length },
      payload: tampered,
    };
    assert.throws(
      () => verifyImageSignatures({ imageDigest: DIGEST, layers: [rehashed], keys: trusted, threshold: 1 }),
      ERR('ERR_BUILDER_THRESHOLD_NOT_MET', /any trusted key/),
    );
  });

  it('refuses thresholds outside 1..n', () => {
    assert.throws(
      () => verifyImageSignatures({ imageDigest: DIGEST, layers: [], keys: trusted, threshold: 4 }),
      ERR('ERR_BUILDER_CONFIG', /between 1/),
    );
  });
});

describe('signature manifests', () => {
  it('co-signing appends one layer per distinct signature and keeps the manifest cosign-shaped', async () => {
    const a = await sigBy(alice);
    const layers = appendSignatureLayers(appendSignatureLayers([], [a]), [a, await sigBy(carol)]);
    assert.equal(layers.length, 2);
    const built = buildSignatureManifest(layers);
    const manifest = JSON.parse(built.manifest.bytes.toString());
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    assert.deepEqual(
      JSON.parse(built.config.bytes.toString()).rootfs.diff_ids,
      layers.map((l) => l.descriptor.digest),
    );
    assert.equal(manifest.layers.length, 2);
  });
});

describe('attestations', () => {
  it('signs an in-toto statement in a DSSE envelope that verifies and binds the image digest', async () => {
    const layer = await attestImage({
      repository: REPO,
      imageDigest: DIGEST,
      predicateType: PREDICATE_TYPES.cyclonedx,
      predicate: { bomFormat: 'CycloneDX' },
      signers: [createKeySigner(alice.privateKey)],
    });
    assert.equal(layer.descriptor.mediaType, 'application/vnd.dsse.envelope.v1+json');
    assert.equal(layer.descriptor.annotations?.predicateType, 'https://cyclonedx.org/bom');
    assert.equal(layer.descriptor.annotations?.[SIGNATURE_ANNOTATION], '');
    const { statement, keyIds } = verifyAttestation(layer.payload, DIGEST, trusted);
    assert.equal(statement._type, 'https://in-toto.io/Statement/v0.1');
    assert.deepEqual(keyIds, [trusted[0]?.info.keyId]);
    assert.throws(
      () => verifyAttestation(layer.payload, OTHER_DIGEST, trusted),
      ERR('ERR_BUILDER_DIGEST_MISMATCH', /subject/),
    );
  });

  it('refuses an envelope whose payload was changed or whose signer is not trusted', async () => {
    const layer = await attestImage({
      repository: REPO,
      imageDigest: DIGEST,
      predicateType: PREDICATE_TYPES.provenance,
      predicate: {},
      signers: [createKeySigner(mallory.privateKey)],
    });
    assert.throws(
      () => verifyAttestation(layer.payload, DIGEST, trusted),
      ERR('ERR_BUILDER_BAD_ENVELOPE', /no DSSE signature/),
    );
    const good = await attestImage({
      repository: REPO,
      imageDigest: DIGEST,
      predicateType: PREDICATE_TYPES.provenance,
      predicate: {},
      signers: [createKeySigner(bob.privateKey)],
    });
    const envelope = parseDsseEnvelope(good.payload);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    statement.predicate = { forged: true };
    const forged = Buffer.from(
      JSON.stringify({ ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') }),
    );
    assert.throws(
      () => verifyAttestation(forged, DIGEST, trusted),
      ERR('ERR_BUILDER_BAD_ENVELOPE', /no DSSE signature/),
    );
  });
});
