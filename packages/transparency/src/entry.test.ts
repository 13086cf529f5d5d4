import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRecord, Caller } from '@sealroom/core';
import { canonicalJson, decisionOf, kindOf, parseLeaf, toLeaf } from './entry.ts';

const workload: Caller = {
  kind: 'federated',
  principal: 'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/vm1',
  federation: {
    pool: 'projects/1/locations/global/workloadIdentityPools/p',
    subject: 'vm1',
    attributes: { image_digest: 'sha256:abc' },
    groups: [],
  },
  credentialId: 'c1',
  expiresAt: 0,
};
const record = (method: string, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  project: 'p',
  method,
  resource: 'r',
  caller: workload,
  outcome: 'ALLOWED',
  ...extra,
});

test('which audited decisions become leaves (table)', () => {
  const table: [AuditRecord, string | undefined][] = [
    [record('google.identity.sts.v1.SecurityTokenService.ExchangeToken', { outcome: 'DENIED' }), 'sts.exchange'],
    [record('google.cloud.confidentialcomputing.v1.ConfidentialComputing.VerifyAttestation'), 'verifier.token'],
    [record('google.cloud.kms.v1.KeyManagementService.Decrypt', { outcome: 'DENIED' }), 'kms.use'],
    [record('google.cloud.kms.v1.KeyManagementService.Encrypt'), 'kms.use'],
    [record('google.cloud.kms.v1.KeyManagementService.GetPublicKey'), undefined],
    [record('google.cloud.kms.v1.KeyManagementService.CreateCryptoKey'), undefined],
    [record('google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion'), 'secrets.use'],
    [record('google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion'), 'secrets.use'],
    [record('google.cloud.secretmanager.v1.SecretManagerService.GetSecret'), undefined],
    [record('google.iam.credentials.v1.IAMCredentials.GenerateAccessToken'), 'iam.impersonation'],
    [record('google.cloud.kms.v1.KeyManagementService.SetIamPolicy'), 'iam.policy'],
    [record('google.cloud.kms.v1.KeyManagementService.SetIamPolicy', { outcome: 'DENIED' }), undefined],
    [
      record('google.devtools.artifactregistry.v1.ArtifactRegistry.PutManifest', {
        details: { image: 'p/r/i', digest: 'sha256:1', tag: `sha256-${'a'.repeat(64)}.sig` },
      }),
      'registry.signature',
    ],
    [record('google.devtools.artifactregistry.v1.ArtifactRegistry.PutManifest', { details: { tag: 'v1' } }), undefined],
  ];
  for (const [r, kind] of table) assert.equal(kindOf(r), kind, r.method);
});

test('a leaf keeps names, digests and the workload’s attributes, never other details, and is salted', () => {
  const r = record('google.identity.sts.v1.SecurityTokenService.ExchangeToken', {
    details: { subjectTokenDigest: 'd1', issuer: 'https://v', reason: 'long text', failingExpression: 'x == y' },
  });
  const decision = decisionOf(r, '123');
  assert.deepEqual(decision?.facts, {
    subjectTokenDigest: 'd1',
    issuer: 'https://v',
    'attribute.image_digest': 'sha256:abc',
  });
  assert.match(decision?.detailsDigest ?? '', /^[0-9a-f]{64}$/);
  const one = toLeaf(decision!, 0);
  const two = toLeaf(decision!, 0);
  assert.notDeepEqual(one, two, 'two leaves of one decision differ by their salt');
  assert.deepEqual(parseLeaf(one).facts, decision?.facts);
  assert.doesNotMatch(one.toString(), /long text|x == y/);
  const signature = decisionOf(
    record('google.devtools.artifactregistry.v1.ArtifactRegistry.PutManifest', {
      details: { image: 'p/r/i', digest: 'sha256:1', tag: `sha256-${'b'.repeat(64)}.sig` },
    }),
    '123',
  );
  assert.equal(signature?.facts.signedDigest, `sha256:${'b'.repeat(64)}`);
});

test('canonical JSON sorts keys by code unit, leaves out undefined members and keeps the bytes leaves are hashed from', () => {
  const value = {
    b: [1, 'two', undefined, null, { z: true, a: false }],
    a: { é: 1, Z: 2, _: undefined, aa: 'x"y' },
    '': 0,
    c: undefined,
  };
  // Pinned: a leaf's hash, and so every published checkpoint, depends on these exact bytes.
  assert.equal(
    canonicalJson(value),
    '{"":0,"a":{"Z":2,"aa":"x\\"y","é":1},"b":[1,"two",null,null,{"a":false,"z":true}]}',
  );
  assert.equal(canonicalJson([]), '[]');
  assert.equal(canonicalJson({}), '{}');
  assert.equal(canonicalJson({ only: undefined }), '{}');
  assert.equal(canonicalJson('s'), '"s"');
  assert.equal(canonicalJson(undefined), 'null');
});

test('leaf bytes are the canonical JSON of their entry, whatever the decision holds', () => {
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const texts = ['', 'a', 'x"y', 'back\\slash', 'line\nbreak', 'é', '\u2028', '😀', '\u0000', 'Z', 'aa', '_'];
  const text = () => texts[next() % texts.length] as string;
  const factValue = () =>
    [text(), next() % 1000, next() % 2 === 0, -0.5, 1e21][next() % 5] as string | number | boolean;
  for (let i = 0; i < 500; i++) {
    const facts: Record<string, string | number | boolean> = {};
    for (let j = next() % 6; j > 0; j--) facts[`${text()}${j}`] = factValue();
    const leaf = toLeaf(
      {
        kind: 'kms.use',
        project: text(),
        method: text(),
        resource: text(),
        principal: text(),
        outcome: (['ALLOWED', 'DENIED', 'FAILED'] as const)[next() % 3] as 'ALLOWED',
        ...(next() % 2 === 0 ? { status: text() } : {}),
        facts,
        ...(next() % 2 === 0 ? { detailsDigest: 'ab'.repeat(32) } : {}),
      },
      next() * 1000,
    ).toString('utf8');
    assert.equal(leaf, canonicalJson(JSON.parse(leaf)), leaf);
  }
});
