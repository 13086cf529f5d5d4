import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createLocalJWKSet, decodeProtectedHeader, importX509, jwtVerify } from 'jose';
import { BASE_URL, IMAGE_DIGEST, cosignSignature, createFixture } from './test-fixture.ts';
import type { Fixture, Json } from './test-fixture.ts';

const schema = JSON.parse(readFileSync(join(resolveSharedDir(), 'contracts', 'token-claims.schema.json'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const validateClaims = ajv.compile(schema);

describe('verifier: soft platform → evidence → token', () => {
  let f: Fixture;
  before(async () => {
    f = await createFixture();
  });
  after(async () => {
    await f.app.close();
    await f.t.close();
  });

  async function attestAndVerify(extra: Record<string, unknown> = {}, imageFamily?: 'confidential-space-debug') {
    const platform = await f.boot(imageFamily);
    const challenge = await f.createChallenge();
    const evidence = await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'));
    return f.verify(challenge.name, await f.body(evidence.tpm, challenge.name, extra));
  }

  it('creates single-use challenges with a 32-byte nonce', async () => {
    const challenge = await f.createChallenge();
    assert.match(challenge.name, /^projects\/operator-project\/locations\/us-central1\/challenges\/[0-9a-f-]{36}$/);
    assert.equal(Buffer.from(challenge.tpmNonce, 'base64').length, 32);
  });

  it('issues an RS256 token whose claims match the contract schema and verify against the published JWKS', async () => {
    const nonces = ['0123456789abcdef', 'another-nonce-value'];
    const res = await attestAndVerify({
      options: { audience: 'https://collaborator.example', nonce: nonces, signatureType: 'SIGNATURE_TYPE_OIDC' },
      signedEntities: [
        { containerImageSignatures: [cosignSignature('payload-ecdsa-p256-sha256.json', 'ecdsa-p256-sha256.sig')] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json.partialErrors, []);
    const token = res.json.attestationToken as string;
    const discovery = (await f.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    assert.equal(discovery.issuer, BASE_URL);
    assert.equal(discovery.jwks_uri, `${BASE_URL}/.well-known/jwks`);
    const jwks = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks' })).json();
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: BASE_URL,
      audience: 'https://collaborator.example',
      currentDate: new Date(f.clock.now()),
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.ok(jwks.keys.some((k: { kid: string }) => k.kid === protectedHeader.kid));
    assert.ok(validateClaims(payload), JSON.stringify(validateClaims.errors));
    assert.equal(payload.exp! - payload.iat!, 3600);
    assert.deepEqual(payload.eat_nonce, nonces);
    assert.equal(payload.hwmodel, 'SOFTWARE');
    assert.equal(payload.dbgstat, 'disabled-since-boot');
    assert.deepEqual(payload.google_service_accounts, ['operator-sa@operator-project.iam.gserviceaccount.com']);
    assert.equal(
      payload.sub,
      'https://www.googleapis.com/compute/v1/projects/operator-project/zones/us-central1-a/instances/vm1',
    );
    const submods = payload.submods as Json;
    assert.deepEqual(submods.gce, {
      zone: 'us-central1-a',
      project_id: 'operator-project',
      project_number: f.projectNumber,
      instance_name: 'vm1',
      instance_id: '6920867375712861823',
    });
    assert.equal(submods.container.image_digest, IMAGE_DIGEST);
    assert.deepEqual(submods.container.args, ['/nodejs/bin/node', '/app/main.js']);
    assert.deepEqual(submods.container.env_override, {});
    assert.deepEqual(submods.container.cmd_override, []);
    assert.deepEqual(
      submods.container.image_signatures.map((s: { key_id: string }) => s.key_id),
      ['0f13e0b97bd5b669cd5b36ff31211d42f9478adffe4b3131d24b5b75a6bbf630'],
    );
    assert.deepEqual(submods.confidential_space, {
      support_attributes: ['LATEST', 'STABLE', 'USABLE'],
      monitoring_enabled: { memory: false },
    });
  });

  it('records the issued token in the audit log by the digests of its claims and of the token, never the token', async () => {
    const res = await attestAndVerify();
    const token = res.json.attestationToken as string;
    const entries = await f.t.deps.audit.list(f.projectNumber, { pageSize: 1000, newestFirst: true });
    const issued = entries
      .map((e) => (e.body as { protoPayload: { methodName: string; metadata?: Record<string, unknown> } }).protoPayload)
      .find((p) => p.methodName.endsWith('.VerifyAttestation') && p.metadata?.claimsDigest !== undefined);
    const payload = Buffer.from(token.split('.')[1] ?? '', 'base64url');
    assert.equal(issued?.metadata?.claimsDigest, createHash('sha256').update(payload).digest('hex'));
    assert.equal(issued?.metadata?.tokenDigest, createHash('sha256').update(token).digest('hex').slice(0, 32));
    assert.doesNotMatch(JSON.stringify(entries), new RegExp(token.split('.')[2] ?? 'x'));
  });

  it('carries the output policy of the measured image config into submods.sealroom; a config that is not the measured one is refused', async () => {
    const policy = { min_collaborators: 2, min_count: 1 };
    const blob = Buffer.from(
      JSON.stringify({ config: { Labels: { 'sealroom.output_policy': JSON.stringify(policy), other: 'x' } } }),
    );
    const imageId = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const attest = async (config: Buffer) => {
      const platform = await f.boot('confidential-space', undefined, undefined, imageId);
      const challenge = await f.createChallenge();
      const evidence = await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'));
      return f.verify(
        challenge.name,
        await f.body(evidence.tpm, challenge.name, { sealroomImageConfig: config.toString('base64') }),
      );
    };
    const res = await attest(blob);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const payload: Json = JSON.parse(
      Buffer.from((res.json.attestationToken as string).split('.')[1] ?? '', 'base64url').toString(),
    );
    assert.ok(validateClaims({ ...payload }), JSON.stringify(validateClaims.errors));
    assert.deepEqual(payload.submods.sealroom.output_policy, policy);
    assert.match(payload.submods.sealroom.output_policy_digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(payload.submods.container.image_id, imageId);
    // One byte of the config changed: its labels are no longer those of the measured image.
    const other = Buffer.from(blob.toString().replace('"other":"x"', '"other":"y"'));
    const refused = await attest(other);
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.json), /ERR_VERIFIER_IMAGE_CONFIG_MISMATCH/);
  });

  it('defaults the audience to STS and gives a debug image dbgstat enabled and no support attributes', async () => {
    const res = await attestAndVerify({}, 'confidential-space-debug');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const { payload } = await jwtVerify(res.json.attestationToken, createLocalJWKSet(await f.module.verifier.jwks()), {
      currentDate: new Date(f.clock.now()),
    });
    assert.equal(payload.aud, 'https://sts.googleapis.com');
    assert.equal(payload.dbgstat, 'enabled');
    assert.deepEqual((payload.submods as Json).confidential_space.support_attributes, []);
    assert.ok(validateClaims(payload), JSON.stringify(validateClaims.errors));
  });

  it('issues PKI tokens whose x5c chain ends at the published PKI root', async () => {
    const res = await attestAndVerify({ options: { signatureType: 'SIGNATURE_TYPE_PKI' } });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const header = decodeProtectedHeader(res.json.attestationToken);
    assert.equal(header.x5c?.length, 2);
    const rootPem = (await f.app.inject({ method: 'GET', url: '/.well-known/attestation-pki-root' })).body;
    const leaf = new X509Certificate(Buffer.from(header.x5c![0]!, 'base64'));
    assert.ok(leaf.verify(new X509Certificate(rootPem).publicKey));
    await jwtVerify(res.json.attestationToken, await importX509(leaf.toString(), 'RS256'), {
      currentDate: new Date(f.clock.now()),
    });
  });

  it('reports an image signature over another digest as a partial error and leaves it out of the token', async () => {
    const res = await attestAndVerify({
      signedEntities: [
        {
          containerImageSignatures: [
            cosignSignature('payload-tampered-ecdsa-p256-sha256.json', 'ecdsa-p256-sha256.sig'),
            { ...cosignSignature('payload-ecdsa-p256-sha256.json', 'ecdsa-p256-sha256.sig') },
          ],
        },
      ],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json.partialErrors.map((e: Json) => e.details[0].reason),
      ['ERR_VERIFIER_IMAGE_SIGNATURE'],
    );
  });

  it('refuses callers without confidentialcomputing permissions as GCP does', async () => {
    const res = await f.app.inject({
      method: 'POST',
      url: '/v1/projects/operator-project/locations/us-central1/challenges',
      headers: { authorization: `Bearer ${f.strangerToken}` },
      payload: {},
    });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().error.message, /\(or it may not exist\)/);
  });
});
