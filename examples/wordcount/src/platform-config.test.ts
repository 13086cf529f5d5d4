// The short launch configuration: the collaborator set only, expanded with the tutorial's names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPlatformConfig, formatCollaboratorsValue, parseCollaboratorsValue } from './platform-config.ts';

const VALUE =
  'collab1/111/trusted-workload-pool/attestation-verifier/kr1/key1/tee.collaborator1.com,collab2/222/pool/prov/kr2/key2/tee.collaborator2.com;ingress=8081';

test('parses each collaborator and the ingress port, and formats back to the same value', () => {
  const parsed = parseCollaboratorsValue(VALUE);
  assert.equal(parsed.ingressPort, 8081);
  assert.deepEqual(parsed.collaborators[1], {
    project: 'collab2',
    projectNumber: '222',
    pool: 'pool',
    provider: 'prov',
    keyRing: 'kr2',
    key: 'key2',
    serverName: 'tee.collaborator2.com',
  });
  assert.equal(formatCollaboratorsValue(parsed), VALUE);
});

test('expands to the full configuration: audiences in the universe, keys, result and state secrets, no pubsub', () => {
  const config = buildPlatformConfig({
    ...parseCollaboratorsValue('collab1/111/trusted-workload-pool/attestation-verifier/kr1/key1'),
    operatorProject: 'operator-project',
    api: 'http://127.0.0.1:8080',
    universeDomain: 'googleapis.com',
  });
  assert.equal(config.subscription, 'projects/operator-project/subscriptions/cs-subscribe');
  assert.equal(config.pubsub, undefined);
  assert.deepEqual(config.collaborators, [
    {
      name: 'collab1',
      audience:
        '//iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier',
      kmsKey: 'projects/collab1/locations/global/keyRings/kr1/cryptoKeys/key1',
      api: 'http://127.0.0.1:8080',
      resultSecret: 'projects/collab1/secrets/wordcount-results',
    },
  ]);
  assert.deepEqual(config.state, {
    secret: 'projects/collab1/secrets/wordcount-state',
    collaborator: 'collab1',
    kmsKey: 'projects/collab1/locations/global/keyRings/kr1/cryptoKeys/state',
  });
  assert.equal(config.ingressPort, undefined);
});

test('refuses a malformed collaborator, an unknown option, or ingress without server names', () => {
  for (const bad of [
    '',
    'collab1/111/pool/prov/kr1',
    'collab1/NaN/pool/prov/kr1/key1',
    'Collab1/111/pool/prov/kr1/key1',
    'collab1/111/pool/prov/kr1/key1;egress=1',
    'collab1/111/pool/prov/kr1/key1;ingress=8081',
    'collab1/111/pool/prov/kr1/key1/tee.c1.com;ingress=70000',
  ])
    assert.throws(() => parseCollaboratorsValue(bad), { code: 'ERR_WORDCOUNT_BAD_CONFIG' }, bad);
});
