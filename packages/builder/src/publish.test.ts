// Build → push → co-sign → attest against the Sealroom registry, then copy to docker-registry and verify there.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openOciLayout, pullToLayout, pushFromLayout, toDigestTag } from '@sealroom/formats';
import { RegistryClient } from '@sealroom/registry';
import {
  type DistributionRegistry,
  findDistributionBinary,
  type RegistryTestServer,
  startDistributionRegistry,
  startRegistryTestServer,
} from '@sealroom/registry/testing';
import {
  attestImage,
  buildProvenancePredicate,
  buildSbomPredicate,
  PREDICATE_TYPES,
  verifyAttestation,
} from './attestation.ts';
import { type BuiltImage, buildImage } from './build.ts';
import { BuilderError } from './errors.ts';
import { CYCLONEDX_MEDIA_TYPE, fetchAttachments, pushAttachments, pushImage, pushReferrer } from './publish.ts';
import { toCustomRuntime } from './runtime.ts';
import { signImage, toTrustedKey, verifyImageSignatures } from './sign.ts';
import { createKeySigner } from './signer.ts';
import { verifyCsSignature } from './simple-signing.ts';

const work = mkdtempSync(join(tmpdir(), 'sealroom-publish-'));
const NAME = 'builder-proj/images/tiny';
const keys = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('rsa', { modulusLength: 2048 })];
const signers = keys.map((k) => createKeySigner(k.privateKey));
const trusted = keys.map((k) => toTrustedKey(k.publicKey.export({ format: 'pem', type: 'spki' }).toString()));
let server: RegistryTestServer;
let client: RegistryClient;
let image: BuiltImage;

before(async () => {
  server = await startRegistryTestServer();
  const { accessToken } = await server.iam.createUser('builder@example.com');
  await server.iam.createProject('builder-proj', 'builder@example.com');
  const created = await fetch(
    `${server.baseUrl}/v1/projects/builder-proj/locations/us-central1/repositories?repositoryId=images`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: '{"format":"DOCKER"}',
    },
  );
  assert.equal(created.status, 200);
  client = new RegistryClient({ baseUrl: server.baseUrl, username: 'oauth2accesstoken', password: accessToken });
  const src = join(work, 'src');
  cpSync(join(import.meta.dirname, '..', 'fixtures', 'tiny-app'), src, { recursive: true });
  const fakeNode = join(work, 'node');
  writeFileSync(fakeNode, '#!/bin/sh\n');
  chmodSync(fakeNode, 0o755);
  image = await buildImage({
    dir: src,
    runtime: toCustomRuntime([{ imagePath: '/usr/local/bin/node', hostPath: fakeNode }]),
  });
});
after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('publishing a signed image', () => {
  it('pushes the image, lets two collaborators co-sign it, and verifies 2-of-2 from what the registry returns', async () => {
    const digest = await pushImage(client, image, NAME, 'v1');
    assert.equal(digest, image.digest);
    for (const signer of signers) {
      await pushAttachments(client, NAME, digest, '.sig', [
        await signImage({ dockerReference: `${server.host}/${NAME}`, imageDigest: digest, signer }),
      ]);
    }
    assert.ok((await client.listTags(NAME)).includes(toDigestTag(digest, '.sig')));
    const layers = await fetchAttachments(client, NAME, digest, '.sig');
    assert.equal(layers.length, 2);
    const result = verifyImageSignatures({ imageDigest: digest, layers, keys: trusted, threshold: 2 });
    assert.equal(result.signedBy.length, 2);
    for (const layer of layers)
      verifyCsSignature(
        layer.payload,
        layer.descriptor.annotations?.['dev.cosignproject.cosign/signature'] ?? '',
        digest,
      );
  });

  it('refuses the signatures for another image digest', async () => {
    const layers = await fetchAttachments(client, NAME, image.digest, '.sig');
    const other = `sha256:${'0'.repeat(64)}`;
    assert.throws(
      () => verifyImageSignatures({ imageDigest: other, layers, keys: trusted, threshold: 1 }),
      BuilderError,
    );
  });

  it('attaches provenance and a CycloneDX SBOM as DSSE attestations under .att', async () => {
    const att = [
      await attestImage({
        repository: NAME,
        imageDigest: image.digest,
        predicateType: PREDICATE_TYPES.provenance,
        predicate: buildProvenancePredicate(image),
        signers: [signers[0] as (typeof signers)[0]],
      }),
      await attestImage({
        repository: NAME,
        imageDigest: image.digest,
        predicateType: PREDICATE_TYPES.cyclonedx,
        predicate: buildSbomPredicate(image),
        signers: [signers[0] as (typeof signers)[0]],
      }),
    ];
    await pushAttachments(client, NAME, image.digest, '.att', att);
    const fetched = await fetchAttachments(client, NAME, image.digest, '.att');
    const statements = fetched.map((l) => verifyAttestation(l.payload, image.digest, trusted).statement);
    assert.deepEqual(statements.map((s) => s.predicateType).sort(), [
      'https://cyclonedx.org/bom',
      'https://slsa.dev/provenance/v1',
    ]);
    const provenance = statements.find((s) => s.predicateType === PREDICATE_TYPES.provenance)?.predicate as {
      buildDefinition: { externalParameters: { source: { digest: { sha256: string } } } };
    };
    assert.equal(
      `sha256:${provenance.buildDefinition.externalParameters.source.digest.sha256}`,
      image.inputs.sourceDigest,
    );
  });

  it('attaches the SBOM as an OCI 1.1 referrer that the referrers API lists', async () => {
    const sbom = Buffer.from(JSON.stringify(buildSbomPredicate(image)));
    const digest = await pushReferrer(client, NAME, image.blobs.manifest.descriptor, {
      artifactType: CYCLONEDX_MEDIA_TYPE,
      payload: sbom,
    });
    const referrers = await client.listReferrers(NAME, image.digest, CYCLONEDX_MEDIA_TYPE);
    assert.deepEqual(
      referrers.map((r) => r.digest),
      [digest],
    );
    const manifest = JSON.parse((await client.getManifest(NAME, digest)).bytes.toString('utf8'));
    assert.deepEqual(await client.getBlob(NAME, manifest.layers[0].digest), sbom);
  });

  it('keeps image and signatures verifiable after a round trip through docker-registry', {
    skip: !findDistributionBinary() && 'docker-registry is not installed',
  }, async () => {
    const distribution: DistributionRegistry = await startDistributionRegistry();
    try {
      const layout = await openOciLayout(join(work, 'transit'), { create: true });
      const other = new RegistryClient({ baseUrl: distribution.baseUrl });
      for (const ref of ['v1', toDigestTag(image.digest, '.sig')]) {
        const descriptor = await pullToLayout(client, NAME, ref, layout, ref);
        await pushFromLayout(other, layout, descriptor, 'mirror/tiny', ref);
      }
      assert.equal(await other.resolve('mirror/tiny', 'v1'), image.digest);
      const layers = await fetchAttachments(other, 'mirror/tiny', image.digest, '.sig');
      assert.equal(
        verifyImageSignatures({ imageDigest: image.digest, layers, keys: trusted, threshold: 2 }).signedBy.length,
        2,
      );
      const sbomDigest = await pushReferrer(other, 'mirror/tiny', image.blobs.manifest.descriptor, {
        artifactType: CYCLONEDX_MEDIA_TYPE,
        payload: Buffer.from('{}'),
      });
      assert.deepEqual(
        (await other.listReferrers('mirror/tiny', image.digest)).map((r) => r.digest),
        [sbomDigest],
      );
    } finally {
      await distribution.stop();
    }
  });
});
