// Which keys can check which signatures: the key a JWKS names by kid must fit the token's alg, or the token is refused.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { createOutboundClient } from '@sealroom/outbound';
import { createIssuerKeys } from './issuer-keys.ts';
import { verifySubjectToken } from './subject-token.ts';
import { exampleClaims } from './testing.ts';

const ISSUER = 'https://verifier.example';
const AUDIENCE = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/v';
const clock = createFakeClock(Date.UTC(2026, 5, 1));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const jwk = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) => ({
  ...key.export({ format: 'jwk' }),
  kid,
  ...extra,
});
const jwksJson = JSON.stringify({
  keys: [
    jwk(rsa.publicKey, 'rsa'),
    jwk(rsaSmall.publicKey, 'rsa-1024'),
    jwk(p256.publicKey, 'p256'),
    jwk(p384.publicKey, 'p384'),
    jwk(rsa.publicKey, 'rsa-for-ps256', { alg: 'PS256' }),
    jwk(rsa.publicKey, 'rsa-for-enc', { use: 'enc' }),
  ],
});

/** A compact JWS signed with node:crypto (jose will not sign with keys too small to be safe). */
function signToken(header: Record<string, unknown>, signer: KeyObject): string {
  const claims = { ...exampleClaims(ISSUER, clock.now()), aud: AUDIENCE };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const dsaEncoding = header.alg === 'ES256' ? 'ieee-p1363' : undefined;
  const signature = sign('sha256', Buffer.from(input), dsaEncoding ? { key: signer, dsaEncoding } : signer);
  return `${input}.${signature.toString('base64url')}`;
}

async function outcome(alg: 'RS256' | 'ES256', kid: string, signer: KeyObject): Promise<string> {
  const token = signToken({ alg, kid }, signer);
  const keys = createIssuerKeys({ clock, outbound: createOutboundClient() });
  try {
    await verifySubjectToken(token, { issuerUri: ISSUER, jwksJson, audiences: [AUDIENCE], keys, clock });
    return 'accepted';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe('issuer keys by alg', () => {
  const cases: ReadonlyArray<[string, 'RS256' | 'ES256', string, KeyObject, string]> = [
    ['an RS256 token under a 2048-bit RSA key', 'RS256', 'rsa', rsa.privateKey, 'accepted'],
    ['an ES256 token under a P-256 key', 'ES256', 'p256', p256.privateKey, 'accepted'],
    ['an RS256 token whose kid names an EC key', 'RS256', 'p256', rsa.privateKey, 'ERR_FEDERATION_TOKEN_KID'],
    ['an ES256 token whose kid names an RSA key', 'ES256', 'rsa', p256.privateKey, 'ERR_FEDERATION_TOKEN_KID'],
    ['an ES256 token whose kid names a P-384 key', 'ES256', 'p384', p256.privateKey, 'ERR_FEDERATION_TOKEN_KID'],
    ['an RS256 token under a 1024-bit RSA key', 'RS256', 'rsa-1024', rsaSmall.privateKey, 'ERR_FEDERATION_TOKEN_KID'],
    [
      'an RS256 token under a key published for PS256',
      'RS256',
      'rsa-for-ps256',
      rsa.privateKey,
      'ERR_FEDERATION_TOKEN_KID',
    ],
    [
      'an RS256 token under a key published for encryption',
      'RS256',
      'rsa-for-enc',
      rsa.privateKey,
      'ERR_FEDERATION_TOKEN_KID',
    ],
    [
      'an RS256 token signed by another key than its kid names',
      'RS256',
      'rsa',
      rsaSmall.privateKey,
      'ERR_FEDERATION_TOKEN_SIGNATURE',
    ],
    [
      'an ES256 token signed by another key than its kid names',
      'ES256',
      'p256',
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      'ERR_FEDERATION_TOKEN_SIGNATURE',
    ],
  ];
  for (const [name, alg, kid, signer, expected] of cases) {
    it(`${expected === 'accepted' ? 'accepts' : `refuses with ${expected}`} ${name}`, async () => {
      assert.equal(await outcome(alg, kid, signer), expected);
    });
  }

  it('refuses a token with a crit or b64 header, which name extensions nothing here understands', async () => {
    const keys = createIssuerKeys({ clock, outbound: createOutboundClient() });
    const options = { issuerUri: ISSUER, jwksJson, audiences: [AUDIENCE], keys, clock };
    for (const extra of [{ crit: ['x-ext'], 'x-ext': 1 }, { crit: ['b64'], b64: false }, { b64: true }]) {
      const token = signToken({ alg: 'RS256', kid: 'rsa', ...extra }, rsa.privateKey);
      await assert.rejects(verifySubjectToken(token, options), { code: 'ERR_FEDERATION_TOKEN_SIGNATURE' });
    }
    assert.equal(
      (await verifySubjectToken(signToken({ alg: 'RS256', kid: 'rsa' }, rsa.privateKey), options)).kid,
      'rsa',
    );
  });
});
