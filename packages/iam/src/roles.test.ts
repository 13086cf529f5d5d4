import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKnownRole, roleGrants } from './roles/index.ts';

test('the role catalogue grants what Google documents and basic roles never grant data-plane use', () => {
  const table: [string, string, boolean][] = [
    ['roles/cloudkms.cryptoKeyDecrypter', 'cloudkms.cryptoKeyVersions.useToDecrypt', true],
    ['roles/cloudkms.cryptoKeyDecrypter', 'cloudkms.cryptoKeyVersions.useToEncrypt', false],
    ['roles/cloudkms.admin', 'cloudkms.cryptoKeyVersions.useToDecrypt', false],
    ['roles/cloudkms.signerVerifier', 'cloudkms.cryptoKeyVersions.viewPublicKey', true],
    ['roles/iam.workloadIdentityUser', 'iam.serviceAccounts.getAccessToken', true],
    ['roles/iam.serviceAccountTokenCreator', 'iam.serviceAccounts.getOpenIdToken', true],
    ['roles/pubsub.publisher', 'pubsub.topics.publish', true],
    ['roles/pubsub.subscriber', 'pubsub.subscriptions.consume', true],
    ['roles/artifactregistry.reader', 'artifactregistry.repositories.downloadArtifacts', true],
    ['roles/artifactregistry.reader', 'artifactregistry.repositories.uploadArtifacts', false],
    ['roles/confidentialcomputing.workloadUser', 'confidentialcomputing.challenges.verify', true],
    ['roles/secretmanager.secretAccessor', 'secretmanager.versions.access', true],
    ['roles/logging.logWriter', 'logging.logEntries.create', true],
    ['roles/owner', 'resourcemanager.projects.setIamPolicy', true],
    ['roles/owner', 'cloudkms.cryptoKeys.create', true],
    ['roles/owner', 'cloudkms.cryptoKeyVersions.useToDecrypt', false],
    ['roles/owner', 'secretmanager.versions.access', false],
    ['roles/owner', 'iam.serviceAccounts.getAccessToken', false],
    ['roles/editor', 'resourcemanager.projects.setIamPolicy', false],
    ['roles/editor', 'pubsub.topics.create', true],
    ['roles/viewer', 'pubsub.topics.get', true],
    ['roles/viewer', 'pubsub.topics.create', false],
  ];
  for (const [role, permission, expected] of table)
    assert.equal(roleGrants(role, permission), expected, `${role} ${permission}`);
  assert.equal(isKnownRole('roles/made.up'), false);
});
