import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam/testing';
import type { IamTestContext } from '@sealroom/iam/testing';
import { createLocalJWKSet } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { createServiceAccountTokenVerifier } from './sa-tokens.ts';

const CHALLENGE = 'projects/p/locations/us-central1/challenges/c1';

describe('service-account ID tokens from the iam issuer', () => {
  const clock = createFakeClock(Date.UTC(2026, 5, 1));
  let t: IamTestContext;
  let verifyTokens: ReturnType<typeof createServiceAccountTokenVerifier>;
  before(async () => {
    t = await createIamTestContext({ clock, baseUrl: 'http://127.0.0.1:8080' });
    const keys: JWTVerifyGetKey = async (header, token) =>
      createLocalJWKSet(await t.deps.idTokens.jwks())(header, token);
    verifyTokens = createServiceAccountTokenVerifier({ issuer: t.deps.idTokens.issuer, keys, now: () => clock.now() });
  });
  after(() => t.close());

  const sign = (audience: string, email?: string) =>
    t.deps.idTokens.sign({ audience, subject: '112233', ...(email === undefined ? {} : { email }) });

  it('accepts tokens for the challenge and returns their emails once each', async () => {
    const a = await sign(CHALLENGE, 'a@p.iam.gserviceaccount.com');
    const b = await sign(CHALLENGE, 'b@p.iam.gserviceaccount.com');
    assert.deepEqual(await verifyTokens([a, b, a], CHALLENGE), [
      'a@p.iam.gserviceaccount.com',
      'b@p.iam.gserviceaccount.com',
    ]);
  });

  const refusals: ReadonlyArray<[string, () => Promise<string>]> = [
    ['a token for another audience', () => sign('https://other.example', 'a@p.iam.gserviceaccount.com')],
    ['a token without an email', () => sign(CHALLENGE)],
    ['a forged token', async () => `${(await sign(CHALLENGE, 'a@p.iam.gserviceaccount.com')).slice(0, -4)}AAAA`],
  ];
  for (const [name, make] of refusals) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(verifyTokens([await make()], CHALLENGE), { code: 'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN' });
    });
  }

  it('refuses an expired token', async () => {
    const token = await sign(CHALLENGE, 'a@p.iam.gserviceaccount.com');
    clock.advance(2 * 3600_000);
    await assert.rejects(verifyTokens([token], CHALLENGE), { code: 'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN' });
  });
});
