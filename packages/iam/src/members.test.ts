import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Caller } from '@sealroom/core';
import { memberMatches, parseMember } from './members.ts';

const U = 'googleapis.com';
const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/trusted-workload-pool';
const federated: Caller = {
  kind: 'federated',
  principal: `principal://iam.${U}/${POOL}/subject/gcpcs::sha256:abc::1::2`,
  credentialId: 'x',
  expiresAt: Number.MAX_SAFE_INTEGER,
  federation: {
    pool: POOL,
    subject: 'gcpcs::sha256:abc::1::2',
    attributes: { image_reference: 'us-docker.pkg.dev/p/repo1/tee@sha256:abc', image_digest: 'sha256:abc' },
    groups: ['readers'],
  },
};
const user: Caller = {
  kind: 'user',
  principal: 'user:alice@example.com',
  credentialId: 'y',
  expiresAt: Number.MAX_SAFE_INTEGER,
};

test('members of every accepted form parse and match the callers they designate', () => {
  const cases: [string, Caller | undefined, boolean][] = [
    ['user:alice@example.com', user, true],
    ['user:ALICE@example.com', user, true],
    ['user:bob@example.com', user, false],
    ['serviceAccount:alice@example.com', user, false],
    ['domain:example.com', user, true],
    ['allUsers', undefined, true],
    ['allAuthenticatedUsers', undefined, false],
    ['allAuthenticatedUsers', user, true],
    [`principal://iam.${U}/${POOL}/subject/gcpcs::sha256:abc::1::2`, federated, true],
    [`principal://iam.${U}/${POOL}/subject/other`, federated, false],
    [
      `principalSet://iam.${U}/${POOL}/attribute.image_reference/us-docker.pkg.dev/p/repo1/tee@sha256:abc`,
      federated,
      true,
    ],
    [
      `principalSet://iam.${U}/${POOL}/attribute.image_reference/us-docker.pkg.dev/p/repo1/tee@sha256:def`,
      federated,
      false,
    ],
    [`principalSet://iam.${U}/${POOL}/attribute.image_digest/sha256:abc`, federated, true],
    [`principalSet://iam.${U}/${POOL}/group/readers`, federated, true],
    [`principalSet://iam.${U}/${POOL}/*`, federated, true],
    [
      `principalSet://iam.${U}/projects/999999999999/locations/global/workloadIdentityPools/other-pool/*`,
      federated,
      false,
    ],
    [`principalSet://iam.${U}/${POOL}/*`, user, false],
  ];
  for (const [text, caller, expected] of cases) {
    assert.equal(memberMatches(parseMember(text, U), caller), expected, text);
  }
});

test('group: members match only the deployment-managed groups a user or service account is in, never mapped google.groups', () => {
  const group = parseMember('group:readers@example.com', U);
  const managed = new Set(['readers@example.com']);
  const asserted: Caller = {
    ...federated,
    federation: { ...(federated.federation as NonNullable<Caller['federation']>), groups: ['readers@example.com'] },
  };
  assert.equal(memberMatches(group, asserted), false);
  assert.equal(memberMatches(group, asserted, managed), false);
  assert.equal(memberMatches(group, user), false);
  assert.equal(memberMatches(group, user, managed), true);
  assert.equal(memberMatches(group, user, new Set(['writers@example.com'])), false);
  const deleted = parseMember(
    'deleted:serviceAccount:sa-one@p1-proj.iam.gserviceaccount.com?uid=123456789012345678901',
    U,
  );
  assert.equal(memberMatches(deleted, user, managed), false);
});

test('malformed members are refused with the reason', () => {
  for (const bad of [
    'alice@example.com',
    'user:not-an-email',
    'robot:x@y.com',
    `principal://iam.example.org/${POOL}/subject/s`,
    `principal://iam.${U}/projects/abc/locations/global/workloadIdentityPools/p/subject/s`,
    `principal://iam.${U}/${POOL}/subject/`,
    `principal://iam.${U}/${POOL}/subject/${'x'.repeat(128)}`,
    `principalSet://iam.${U}/${POOL}/attribute.Bad-Name/v`,
    `principalSet://iam.${U}/${POOL}/nothing`,
    'deleted:serviceAccount:sa@p.iam.gserviceaccount.com',
    'deleted:robot:x@y.com?uid=1',
  ]) {
    assert.throws(
      () => parseMember(bad, U),
      (e: Error & { code?: string }) => e.code === 'ERR_IAM_INVALID_MEMBER',
      bad,
    );
  }
});

test('the universe domain is configurable', () => {
  assert.doesNotThrow(() => parseMember(`principalSet://iam.example.org/${POOL}/*`, 'example.org'));
});
