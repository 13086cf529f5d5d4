// Cross-tenant group binding on `sealroom serve`: a tenant that maps a constant google.groups in its own pool
// gets a federated token that the other tenant's `group:` bindings refuse — KMS decrypt and a basic role, over
// REST and over gRPC TLS — while a member of the deployment-managed group is granted both.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { silentLogger } from '@sealroom/core';
import { BOOTSTRAP_ADMIN, type RunningServer, ServerConfigSchema, startServer } from '@sealroom/server';
import { OAuth2Client } from 'google-auth-library';
import { SignJWT } from 'jose';
import { bearerRest, type Json } from '../support/rest.ts';
import { GROUP, KEY, setUpTenantA } from '../support/tenant-a.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-groups-'));
let server: RunningServer;
const tokens: Record<string, string> = {};
let ciphertext = '';
let forged = '';

const { rest, ok } = bearerRest(() => server.url);

function kms(token: string): KeyManagementServiceClient {
  const bearer = grpc.credentials.createFromMetadataGenerator((_p, callback) => {
    const metadata = new grpc.Metadata();
    metadata.add('authorization', `Bearer ${token}`);
    callback(null, metadata);
  });
  return new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port: server.grpcPort,
    sslCreds: grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(Buffer.from(server.tls.caPem)),
      bearer,
    ),
    projectId: 'tenant-a',
    authClient: new OAuth2Client(),
  } as never);
}

before(async () => {
  server = await startServer(
    ServerConfigSchema.parse({ port: 0, grpcPort: 0, dev: true, stateDir: join(dir, 'state'), logLevel: 'silent' }),
    { logger: silentLogger },
  );
  const { credentials } = server.iam.deps;
  for (const email of [BOOTSTRAP_ADMIN, 'alice@example.com', 'carol@example.com', 'mallory@example.com']) {
    await credentials.ensureUser(email, 'dev');
    tokens[email.split('@')[0] as string] = (
      await credentials.issueAccessToken({ kind: 'user', principal: `user:${email}`, lifetimeMs: 3_600_000 })
    ).accessToken;
  }
  const { alice, admin, mallory } = tokens as { alice: string; admin: string; mallory: string };

  // Tenant A: a key whose decrypters, and a project whose viewers, are the group kmsusers@a.example.
  ciphertext = await setUpTenantA(ok, alice);
  // The deployment administrator puts Carol in the group; nobody else is in it.
  await ok(admin, 'POST', '/v1/admin/groups', { email: GROUP });
  await ok(admin, 'POST', `/v1/admin/groups/${GROUP}:addMember`, { member: 'user:carol@example.com' });

  // Tenant B: its own pool, whose provider trusts Mallory's own key and maps a constant google.groups.
  const b = (await ok(mallory, 'POST', '/v1/projects', { projectId: 'tenant-b' })).response;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pools = '/v1/projects/tenant-b/locations/global/workloadIdentityPools';
  await ok(mallory, 'POST', `${pools}?workloadIdentityPoolId=b-pool`, {});
  await ok(mallory, 'POST', `${pools}/b-pool/providers?workloadIdentityPoolProviderId=forger`, {
    oidc: {
      issuerUri: 'https://forger.example',
      jwksJson: JSON.stringify({
        keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'f1', alg: 'RS256', use: 'sig' }],
      }),
    },
    attributeMapping: { 'google.subject': 'assertion.sub', 'google.groups': `['${GROUP}']` },
  });
  const audience = `//iam.googleapis.com/projects/${b.projectNumber}/locations/global/workloadIdentityPools/b-pool/providers/forger`;
  const now = Math.floor(Date.now() / 1000);
  const subjectToken = await new SignJWT({ sub: 'mallory-workload' })
    .setProtectedHeader({ alg: 'RS256', kid: 'f1' })
    .setIssuer('https://forger.example')
    .setAudience(audience)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + 1800)
    .sign(privateKey);
  const exchanged = await fetch(`${server.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: subjectToken,
    }).toString(),
  });
  assert.equal(exchanged.status, 200, await exchanged.clone().text());
  forged = ((await exchanged.json()) as Json).access_token;
  // The exchange itself is legitimate: the token carries the group its own pool asserted.
  const caller = await server.iam.context.authenticator.authenticate(forged);
  assert.deepEqual(caller.federation?.groups, [GROUP]);
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('over REST, the forged group is refused KMS decrypt and the basic role; the real member is granted both', async () => {
  const decrypt = await rest(forged, 'POST', `/v1/${KEY}:decrypt`, { ciphertext });
  assert.equal(decrypt.status, 403);
  assert.match(decrypt.json.error.message, /cloudkms\.cryptoKeyVersions\.useToDecrypt.*\(or it may not exist\)/);
  assert.equal((await rest(forged, 'GET', '/v1/projects/tenant-a')).status, 403);
  assert.equal((await rest(forged, 'GET', '/v1/projects/tenant-a/locations/global/keyRings')).status, 403);

  const carol = tokens.carol as string;
  const plain = await rest(carol, 'POST', `/v1/${KEY}:decrypt`, { ciphertext });
  assert.equal(plain.status, 200);
  assert.equal(Buffer.from(plain.json.plaintext, 'base64').toString(), 'secret of A');
  assert.equal((await rest(carol, 'GET', '/v1/projects/tenant-a')).status, 200);
  assert.equal((await rest(carol, 'GET', '/v1/projects/tenant-a/locations/global/keyRings')).status, 200);
});

test('over gRPC TLS, the forged group is refused KMS decrypt and the basic role; the real member is granted both', async () => {
  const attacker = kms(forged);
  const member = kms(tokens.carol as string);
  try {
    const refused = (error: { code?: number }) => error.code === grpc.status.PERMISSION_DENIED;
    await assert.rejects(attacker.decrypt({ name: KEY, ciphertext: Buffer.from(ciphertext, 'base64') }), refused);
    await assert.rejects(attacker.listKeyRings({ parent: 'projects/tenant-a/locations/global' }), refused);
    const [plain] = await member.decrypt({ name: KEY, ciphertext: Buffer.from(ciphertext, 'base64') });
    assert.equal(Buffer.from(plain.plaintext as Uint8Array).toString(), 'secret of A');
    const [rings] = await member.listKeyRings({ parent: 'projects/tenant-a/locations/global' });
    assert.deepEqual(
      rings.map((r) => r.name),
      ['projects/tenant-a/locations/global/keyRings/kr1'],
    );
  } finally {
    await attacker.close();
    await member.close();
  }
});
