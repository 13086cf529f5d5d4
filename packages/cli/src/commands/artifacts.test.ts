// The supply-chain command lines against a live server: repositories, build, sign, verify-image, attest.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { findDistributionBinary, startDistributionRegistry } from '@sealroom/registry/testing';
import type { RunningServer } from '@sealroom/server';
import { type CliTestBed, startCliTestBed } from '../testing.ts';

let server: RunningServer;
let dir: string;
let host: string;
let digest: string;

let bed: CliTestBed;
const cli = (...argv: string[]) => bed.cli(...argv);
const ok = (...argv: string[]) => bed.ok(...argv);

function writeKeyPair(name: string, kind: 'ec' | 'rsa'): void {
  const pair =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, `${name}.key`), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(join(dir, `${name}.pub`), pair.publicKey.export({ format: 'pem', type: 'spki' }));
}

before(async () => {
  bed = await startCliTestBed({ name: 'artifacts' });
  ({ server, dir } = bed);
  host = new URL(server.url).host;
  await ok('auth', 'login', 'builder@example.com');
  await ok('projects', 'create', 'builder-1');
  await ok('config', 'set', 'project', 'builder-1');
  cpSync(join(import.meta.dirname, '..', '..', '..', 'builder', 'fixtures', 'tiny-app'), join(dir, 'app'), {
    recursive: true,
  });
  writeFileSync(join(dir, 'node'), '#!/bin/sh\n');
  chmodSync(join(dir, 'node'), 0o755);
  for (const [name, kind] of [
    ['alice', 'ec'],
    ['bob', 'rsa'],
    ['mallory', 'ec'],
  ] as const)
    writeKeyPair(name, kind);
});

after(() => bed.close());

it('creates and lists a docker repository with gcloud flags', async () => {
  await ok('artifacts', 'repositories', 'create', 'repo1', '--repository-format=docker', '--location=us-central1');
  const list = JSON.parse(await ok('artifacts', 'repositories', 'list', '--location=us-central1', '--format=json'));
  assert.deepEqual(
    list.map((r: { name: string }) => r.name),
    ['projects/builder-1/locations/us-central1/repositories/repo1'],
  );
  const policy = JSON.parse(
    await ok(
      'artifacts',
      'repositories',
      'add-iam-policy-binding',
      'repo1',
      '--location=us-central1',
      '--member=serviceAccount:operator-sa@builder-1.iam.gserviceaccount.com',
      '--role=roles/artifactregistry.reader',
      '--format=json',
    ),
  );
  assert.deepEqual(policy.bindings, [
    {
      role: 'roles/artifactregistry.reader',
      members: ['serviceAccount:operator-sa@builder-1.iam.gserviceaccount.com'],
    },
  ]);
});

it('builds and pushes, printing imageReference, digest, configDigest and layers; the same source gives the same digest', async () => {
  const tag = `${host}/builder-1/repo1/tiny:v1`;
  const built = JSON.parse(
    await ok(
      'build',
      join(dir, 'app'),
      '--tag',
      tag,
      '--node-binary',
      join(dir, 'node'),
      '--predicates-dir',
      join(dir, 'pred'),
      '--attach-sbom',
      '--format=json',
    ),
  );
  digest = built.digest;
  assert.equal(built.imageReference, `${host}/builder-1/repo1/tiny@${digest}`);
  const token = (await ok('auth', 'print-access-token')).trim();
  const referrers = await fetch(`${server.url}/v2/builder-1/repo1/tiny/referrers/${digest}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const index = (await referrers.json()) as { manifests: { artifactType?: string }[] };
  assert.deepEqual(
    index.manifests.map((m) => m.artifactType),
    ['application/vnd.cyclonedx+json'],
  );
  assert.equal(built.layers.length, 2);
  const again = JSON.parse(
    await ok('build', join(dir, 'app'), '--node-binary', join(dir, 'node'), '--no-push', '--format=json'),
  );
  assert.equal(again.digest, digest);
  const layout = join(dir, 'layout');
  await ok('build', join(dir, 'app'), '--node-binary', join(dir, 'node'), '--no-push', '--oci-layout', layout);
  const onBase = JSON.parse(
    await ok('build', join(dir, 'app'), '--base', `oci:${layout}@${digest}`, '--no-push', '--format=json'),
  );
  assert.equal(onBase.layers.length, 3);
  assert.deepEqual(onBase.layers.slice(0, 2), built.layers);
  const images = JSON.parse(
    await ok('artifacts', 'docker', 'images', 'list', `${host}/builder-1/repo1`, '--format=json'),
  );
  assert.deepEqual(
    images.map((i: { tags: string[] }) => i.tags),
    [['v1']],
  );
});

it('co-signs with two keys, verifies 2-of-2, and refuses when one trusted signer is missing', async () => {
  const image = `${host}/builder-1/repo1/tiny@${digest}`;
  await ok('sign', image, '--key', join(dir, 'alice.key'));
  await ok('sign', image, '--key', join(dir, 'bob.key'));
  const verified = JSON.parse(
    await ok(
      'verify-image',
      image,
      '--key',
      join(dir, 'alice.pub'),
      '--key',
      join(dir, 'bob.pub'),
      '--threshold=2',
      '--format=json',
    ),
  );
  assert.equal(verified.signedBy.length, 2);
  const short = await cli(
    'verify-image',
    image,
    '--key',
    join(dir, 'alice.pub'),
    '--key',
    join(dir, 'mallory.pub'),
    '--threshold=2',
  );
  assert.equal(short.code, 1);
  assert.match(short.stderr, /1 of the required 2 trusted keys/);
  const described = JSON.parse(
    await ok('artifacts', 'docker', 'images', 'describe', `${host}/builder-1/repo1/tiny:v1`, '--format=json'),
  );
  assert.equal(described.image_summary.digest, digest);
  assert.deepEqual(described.tags, ['v1']);
  assert.equal(described.signatures.length, 2);
});

it('signs with a KMS asymmetric key (kms://) and verifies with that key and a file key, 2-of-2', async () => {
  await ok('kms', 'keyrings', 'create', 'signing', '--location=global');
  await ok(
    'kms',
    'keys',
    'create',
    'image-signer',
    '--keyring=signing',
    '--location=global',
    '--purpose=asymmetric-signing',
    '--default-algorithm=ec-sign-p256-sha256',
  );
  // Like Cloud KMS, owners do not sign by default: the signer role is granted on the key.
  await ok(
    'kms',
    'keys',
    'add-iam-policy-binding',
    'image-signer',
    '--keyring=signing',
    '--location=global',
    '--member=user:builder@example.com',
    '--role=roles/cloudkms.signerVerifier',
  );
  const kmsKey =
    'kms://projects/builder-1/locations/global/keyRings/signing/cryptoKeys/image-signer/cryptoKeyVersions/1';
  const image = `${host}/builder-1/repo1/tiny@${digest}`;
  const signed = JSON.parse(await ok('sign', image, '--key', kmsKey, '--format=json'));
  assert.equal(signed.signature_algorithm, 'ECDSA_P256_SHA256');
  const verified = JSON.parse(
    await ok('verify-image', image, '--key', kmsKey, '--key', join(dir, 'alice.pub'), '--format=json'),
  );
  assert.equal(verified.signedBy.length, 2);
  assert.ok(verified.signedBy.includes(signed.key_id));
});

it('attaches provenance written by build as a DSSE attestation', async () => {
  const image = `${host}/builder-1/repo1/tiny@${digest}`;
  const result = JSON.parse(
    await ok(
      'attest',
      image,
      '--key',
      join(dir, 'alice.key'),
      '--predicate',
      join(dir, 'pred', 'provenance.json'),
      '--type',
      'slsaprovenance1',
      '--format=json',
    ),
  );
  assert.equal(result.predicateType, 'https://slsa.dev/provenance/v1');
  assert.ok(JSON.parse(readFileSync(join(dir, 'pred', 'sbom.cdx.json'), 'utf8')).bomFormat === 'CycloneDX');
  const described = JSON.parse(await ok('artifacts', 'docker', 'images', 'describe', image, '--format=json'));
  assert.deepEqual(described.attestations, ['https://slsa.dev/provenance/v1']);
});

it('builds, signs and verifies against another registry on loopback without sending it the Sealroom token', {
  skip: !findDistributionBinary() && 'docker-registry is not installed',
}, async () => {
  const distribution = await startDistributionRegistry();
  try {
    const tag = `${distribution.host}/mirror/tiny:v1`;
    const built = JSON.parse(
      await ok('build', join(dir, 'app'), '--tag', tag, '--node-binary', join(dir, 'node'), '--format=json'),
    );
    const image = `${distribution.host}/mirror/tiny@${built.digest}`;
    await ok('sign', image, '--key', join(dir, 'alice.key'));
    const verified = JSON.parse(await ok('verify-image', image, '--key', join(dir, 'alice.pub'), '--format=json'));
    assert.equal(verified.signedBy.length, 1);
  } finally {
    await distribution.stop();
  }
});
