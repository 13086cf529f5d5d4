// Tamper suite, the signed things the verifier accepts besides TPM evidence: service-account ID tokens (every
// byte of their header, claims and signature, every claim changed) and cosign image signatures (every byte of
// payload and signature). Each is refused: the token with its code, the image signature left out of the token.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { verifyImageSignatures } from './image-signatures.ts';
import { createServiceAccountTokenVerifier } from './sa-tokens.ts';
import { Layout, Tally, attemptAsync, codeOf, flipEveryByte, flipEveryByteAsync } from './tamper-kit.ts';
import type { Outcome } from './tamper-kit.ts';

const NOW = Date.UTC(2026, 5, 1);
const ISSUER = 'http://127.0.0.1:8080/accounts';
const CHALLENGE = 'projects/operator-project/locations/us-central1/challenges/5c3e1a90-7a8b-4f0e-9d3c-2b1a0f9e8d7c';
const SA_TOKEN = 'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN';

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

describe('tamper suite: service-account ID tokens', async () => {
  const keys = await generateKeyPair('RS256');
  const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'sa1', alg: 'RS256' }] });
  const verify = createServiceAccountTokenVerifier({ issuer: ISSUER, keys: jwks, now: () => NOW });
  const now = Math.floor(NOW / 1000);
  const claims = {
    iss: ISSUER,
    aud: CHALLENGE,
    sub: '112233445566778899',
    iat: now,
    exp: now + 3600,
    email: 'operator-sa@operator-project.iam.gserviceaccount.com',
    email_verified: true,
  };
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', kid: 'sa1' }) =>
    new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(keys.privateKey);
  const token = await sign(claims);
  const [header, payload, signature] = token.split('.').map((p) => Buffer.from(p, 'base64url')) as [
    Buffer,
    Buffer,
    Buffer,
  ];
  const check = (candidate: string) => attemptAsync(() => verify([candidate], CHALLENGE));

  it('the untouched token gives its email', async () => {
    assert.deepEqual(await verify([token], CHALLENGE), [claims.email]);
  });

  it('every byte of its header, claims and signature', async (t) => {
    const tally = new Tally();
    const whole = (part: Buffer) => new Layout().field('bytes', part.length, SA_TOKEN).regions;
    await flipEveryByteAsync(tally, 'header', header, whole(header), (m) =>
      check(`${b64url(m)}.${b64url(payload)}.${b64url(signature)}`),
    );
    await flipEveryByteAsync(tally, 'claims', payload, whole(payload), (m) =>
      check(`${b64url(header)}.${b64url(m)}.${b64url(signature)}`),
    );
    await flipEveryByteAsync(tally, 'signature', signature, whole(signature), (m) =>
      check(`${b64url(header)}.${b64url(payload)}.${b64url(m)}`),
    );
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('every claim and header field changed or removed, without signing again', async (t) => {
    const tally = new Tally();
    const unsigned = (h: object, p: object) =>
      `${b64url(Buffer.from(JSON.stringify(h)))}.${b64url(Buffer.from(JSON.stringify(p)))}.${b64url(signature)}`;
    const changed = (value: unknown) =>
      typeof value === 'number' ? value + 1 : typeof value === 'boolean' ? !value : `${value}x`;
    for (const [name, value] of Object.entries(claims)) {
      const { [name]: _, ...without } = claims as Record<string, unknown>;
      tally.record(
        `claim ${name} changed`,
        SA_TOKEN,
        await check(unsigned({ alg: 'RS256', kid: 'sa1' }, { ...claims, [name]: changed(value) })),
      );
      tally.record(`claim ${name} removed`, SA_TOKEN, await check(unsigned({ alg: 'RS256', kid: 'sa1' }, without)));
    }
    for (const [name, value] of Object.entries({ alg: 'RS256', kid: 'sa1' })) {
      tally.record(
        `header ${name} changed`,
        SA_TOKEN,
        await check(unsigned({ alg: 'RS256', kid: 'sa1', [name]: `${value}x` }, claims)),
      );
    }
    tally.record('alg none', SA_TOKEN, await check(`${b64url(Buffer.from('{"alg":"none"}'))}.${b64url(payload)}.`));
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  describe('every claim the verifier checks set wrong, signed with the right key', () => {
    const { email_verified: _, ...unverified } = claims;
    const { exp: __, ...noExp } = claims;
    const cases: ReadonlyArray<[string, Record<string, unknown>, RegExp, Record<string, unknown>?]> = [
      ['another issuer', { ...claims, iss: 'https://accounts.google.com' }, /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['another audience (another challenge)', { ...claims, aud: `${CHALLENGE}0` }, /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['expired', { ...claims, iat: now - 7200, exp: now - 3600 }, /ERR_JWT_EXPIRED/],
      ['not yet valid', { ...claims, nbf: now + 3600 }, /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['no exp', noExp, /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['no verified email', unverified, /no verified email/],
      ['email not verified', { ...claims, email_verified: false }, /no verified email/],
      ['an email that is not a string', { ...claims, email: 42 }, /no verified email/],
      ['another key id', claims, /ERR_JWKS_NO_MATCHING_KEY/, { alg: 'RS256', kid: 'sa2' }],
    ];
    for (const [name, payloadClaims, reason, header] of cases) {
      it(`refuses a token with ${name}`, async () => {
        await assert.rejects(verify([await sign(payloadClaims, header)], CHALLENGE), {
          code: SA_TOKEN,
          message: reason,
        });
      });
    }
  });
});

describe('tamper suite: cosign image signatures (shared vectors)', () => {
  const dir = join(resolveSharedDir(), 'vectors', 'cosign');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const read = (name: string): Buffer => readFileSync(join(dir, name));
  const sig = (name: string): Buffer => Buffer.from(read(name).toString('latin1'), 'base64');
  const samples = (
    expected.cases as Array<{
      id: string;
      payload: string;
      signature: string;
      image_digest: string;
      expect: { cs_verify: string | null };
    }>
  ).filter((c) => c.expect.cs_verify === 'verified');

  it('has verified samples of every algorithm', () => {
    assert.ok(samples.length >= 3);
  });

  for (const c of samples) {
    it(`${c.id}: every byte of the payload and the signature is refused and left out of the token`, (t) => {
      const payload = read(c.payload);
      const signature = sig(c.signature);
      const tally = new Tally();
      // The list as the verifier runs it: nothing verified (so nothing in the token), one partial error.
      const refused = (input: { payload: Uint8Array; signature: Uint8Array }): Outcome => {
        const { verified, errors } = verifyImageSignatures([input], c.image_digest);
        if (verified.length > 0 || errors.length !== 1) return { accepted: verified };
        return { code: codeOf(errors[0]) };
      };
      const region = (part: Buffer) => new Layout().field('bytes', part.length, 'ERR_VERIFIER_IMAGE_SIGNATURE').regions;
      flipEveryByte(tally, 'payload', payload, region(payload), (m) => refused({ payload: m, signature }));
      flipEveryByte(tally, 'signature', signature, region(signature), (m) => refused({ payload, signature: m }));
      t.diagnostic(tally.summary());
      tally.assertClean();
    });
  }
});
