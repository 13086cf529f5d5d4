import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createFixture, toTpmJson } from './test-fixture.ts';
import type { Fixture } from './test-fixture.ts';

/** Over a real socket: the older verifyAttestation shape, and a relying party using jose's remote JWKS. */
describe('verifier over a real socket', () => {
  let f: Fixture;
  let base: string;
  before(async () => {
    f = await createFixture();
    base = await f.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await f.app.close();
    await f.t.close();
  });

  it('answers the location lookup the launcher makes first', async () => {
    const res = await fetch(`${base}/v1/projects/operator-project/locations/us-central1`, {
      headers: { authorization: `Bearer ${f.workloadToken}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      name: 'projects/operator-project/locations/us-central1',
      locationId: 'us-central1',
    });
  });

  it('verifyAttestation issues an oidcClaimsToken a relying party verifies through discovery and JWKS', async () => {
    const headers = { authorization: `Bearer ${f.workloadToken}`, 'content-type': 'application/json' };
    const platform = await f.boot();
    const challenge = (await (
      await fetch(`${base}/v1/projects/operator-project/locations/us-central1/challenges`, {
        method: 'POST',
        headers,
        body: '{}',
      })
    ).json()) as { name: string; tpmNonce: string };
    const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
    const res = await fetch(`${base}/v1/${challenge.name}:verifyAttestation`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        challenge: challenge.name,
        gcpCredentials: { serviceAccountIdTokens: [await f.signSaToken(challenge.name)] },
        tpmAttestation: toTpmJson(evidence),
        tokenOptions: {
          audience: 'https://collaborator.example',
          nonce: ['nonce-of-the-party'],
          tokenType: 'TOKEN_TYPE_OIDC',
        },
      }),
    });
    assert.equal(res.status, 200);
    const { oidcClaimsToken } = (await res.json()) as { oidcClaimsToken: string };
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    // The issuer is the configured base URL; the relying party reaches the JWKS on this socket.
    const jwksUrl = new URL(new URL(discovery.jwks_uri).pathname, base);
    const { payload } = await jwtVerify(oidcClaimsToken, createRemoteJWKSet(jwksUrl), {
      audience: 'https://collaborator.example',
      currentDate: new Date(f.clock.now()),
    });
    assert.equal(payload.eat_nonce, 'nonce-of-the-party');
    assert.equal(payload.swname, 'CONFIDENTIAL_SPACE');
  });
});
