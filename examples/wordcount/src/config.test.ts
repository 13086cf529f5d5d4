// The launch configuration: what is accepted, and what is refused before the workload trusts anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWordcountConfig } from './config.ts';

export function exampleConfig(): Record<string, unknown> {
  const collaborator = (n: number) => ({
    name: `collaborator-${n}`,
    audience: `//iam.googleapis.com/projects/10${n}/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier`,
    kmsKey: `projects/collab${n}/locations/global/keyRings/kr1/cryptoKeys/key1`,
    api: 'http://127.0.0.1:8080',
    resultSecret: `projects/collab${n}/secrets/wordcount-results`,
  });
  return {
    subscription: 'projects/operator/subscriptions/cs-subscribe',
    pubsub: {
      grpc: '127.0.0.1:8443',
      audience: '//iam.googleapis.com/projects/100/locations/global/workloadIdentityPools/p/providers/v',
      api: 'http://127.0.0.1:8080',
      serviceAccount: 'operator-svc-account@operator.iam.gserviceaccount.com',
    },
    collaborators: [collaborator(1), collaborator(2)],
    state: {
      file: '/tmp/state.json',
      collaborator: 'collaborator-1',
      kmsKey: 'projects/collab1/locations/global/keyRings/kr1/cryptoKeys/state',
    },
  };
}

describe('parseWordcountConfig', () => {
  it('accepts the two-collaborator configuration and fills defaults', () => {
    const config = parseWordcountConfig(JSON.stringify(exampleConfig()));
    assert.deepEqual(
      config.collaborators.map((c) => c.name),
      ['collaborator-1', 'collaborator-2'],
    );
    assert.equal(config.minCount, 1);
    assert.equal(config.resultsIntervalMs, 5000);
  });

  const refusals: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    ['not JSON', () => undefined, /not JSON/],
    ['an unknown key', (c) => Object.assign(c, { extra: true }), /extra/],
    ['no collaborators', (c) => Object.assign(c, { collaborators: [] }), /collaborators/],
    [
      'duplicate names',
      (c) => Object.assign(c, { collaborators: [(c.collaborators as object[])[0], (c.collaborators as object[])[0]] }),
      /unique/,
    ],
    ['an unknown state collaborator', (c) => Object.assign(c.state as object, { collaborator: 'x' }), /unknown/],
    [
      'a malformed key name',
      (c) => Object.assign((c.collaborators as object[])[0] as object, { kmsKey: 'k' }),
      /kmsKey/,
    ],
    ['a minCount of 0', (c) => Object.assign(c, { minCount: 0 }), /minCount/],
    [
      'state in both a file and a secret',
      (c) => Object.assign(c.state as object, { secret: 'projects/collab1/secrets/state' }),
      /exactly one of file and secret/,
    ],
  ];
  for (const [what, change, message] of refusals) {
    it(`refuses ${what}`, () => {
      const config = exampleConfig();
      change(config);
      const text = what === 'not JSON' ? '{' : JSON.stringify(config);
      assert.throws(
        () => parseWordcountConfig(text),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_WORDCOUNT_BAD_CONFIG');
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
