// Tamper suite, the attestation token as STS receives it: every byte of its header, claims and signature
// flipped (XOR 0xFF), every claim changed without signing again; each refused with a token code (invalid_grant).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { createOutboundClient } from '@sealroom/outbound';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { OAUTH_ERROR_OF } from './errors.ts';
import { createIssuerKeys } from './issuer-keys.ts';
import { verifySubjectToken } from './subject-token.ts';
import { exampleClaims } from './testing.ts';

const ISSUER = 'https://verifier.example';
const AUDIENCE = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/v';
const T = 'ERR_FEDERATION_TOKEN_';

describe('tamper suite: attestation tokens at STS', async () => {
  const clock = createFakeClock(Date.UTC(2026, 5, 1));
  const pair = await generateKeyPair('RS256');
  const jwksJson = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }] });
  const claims: Record<string, unknown> = { ...exampleClaims(ISSUER, clock.now()), aud: AUDIENCE };
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(pair.privateKey);
  const [header, payload, signature] = token.split('.').map((p) => Buffer.from(p, 'base64url')) as [
    Buffer,
    Buffer,
    Buffer,
  ];
  // The keys are inline (a provider's jwksJson): nothing is fetched.
  const keys = createIssuerKeys({ clock, outbound: createOutboundClient() });
  const options = { issuerUri: ISSUER, jwksJson, audiences: [AUDIENCE], keys, clock };
  const outcome = async (candidate: string): Promise<string> => {
    try {
      await verifySubjectToken(candidate, options);
      return 'accepted';
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  };
  const join3 = (h: Uint8Array, p: Uint8Array, s: Uint8Array) =>
    [h, p, s].map((part) => Buffer.from(part).toString('base64url')).join('.');

  it('accepts the untouched token', async () => {
    assert.equal((await verifySubjectToken(token, options)).subject, claims.sub);
  });

  /**
   * The check a flipped byte of each part meets first: a complemented header or claims byte is never UTF-8
   * text in a JSON document (every byte of both is ASCII), a signature byte breaks the signature.
   */
  const parts: ReadonlyArray<[string, Buffer, (m: Buffer) => string, readonly string[]]> = [
    ['header', header, (m) => join3(m, payload, signature), ['MALFORMED']],
    ['claims', payload, (m) => join3(header, m, signature), ['MALFORMED']],
    ['signature', signature, (m) => join3(header, payload, m), ['SIGNATURE']],
  ];
  for (const [name, bytes, rebuild, allowed] of parts) {
    it(`refuses every byte of the ${name} flipped, with ${allowed.join(' or ')}`, async (t) => {
      const counts = new Map<string, number>();
      const failures: string[] = [];
      for (let offset = 0; offset < bytes.length; offset++) {
        const mutated = Buffer.from(bytes);
        mutated[offset]! ^= 0xff;
        const code = await outcome(rebuild(mutated));
        if (!allowed.some((a) => code === `${T}${a}`)) failures.push(`${name} @${offset}: ${code}`);
        else assert.equal(OAUTH_ERROR_OF[code as keyof typeof OAUTH_ERROR_OF], 'invalid_grant');
        counts.set(code, (counts.get(code) ?? 0) + 1);
      }
      t.diagnostic(`${bytes.length} cases: ${[...counts].map(([c, n]) => `${c} ${n}`).join(', ')}`);
      assert.deepEqual(failures.slice(0, 25), []);
    });
  }

  it('refuses every claim changed or removed without signing again', async () => {
    const failures: string[] = [];
    for (const [name, value] of Object.entries(claims)) {
      const changed = typeof value === 'number' ? value + 1 : typeof value === 'string' ? `${value}x` : null;
      const { [name]: _, ...without } = claims;
      for (const [what, body] of [
        ['changed', { ...claims, [name]: changed }],
        ['removed', without],
      ] as const) {
        const code = await outcome(join3(header, Buffer.from(JSON.stringify(body)), signature));
        const want = name === 'iss' ? `${T}ISSUER` : `${T}SIGNATURE`;
        if (code !== want) failures.push(`claim ${name} ${what}: ${code}, expected ${want}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
