// `sealroom serve` with KMS and Secret Manager: the real client over gRPC TLS (deployment CA) and REST,
// then a restart that keeps keys, versions, policies and secrets, and a refusal under another root key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { silentLogger } from '@sealroom/core';
import { type RunningServer, ServerConfigSchema, startServer } from '@sealroom/server';
import { OAuth2Client } from 'google-auth-library';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-kms-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RING = 'projects/collab-kms/locations/global/keyRings/kr1';
const KEY = `${RING}/cryptoKeys/key1`;

function config(rootKeyFile?: string) {
  return ServerConfigSchema.parse({
    port: 0,
    grpcPort: 0,
    dev: true,
    stateDir: join(dir, 'state'),
    logLevel: 'silent',
    ...(rootKeyFile ? { rootKeyFile } : {}),
  });
}

async function tokenFor(server: RunningServer, email: string): Promise<string> {
  const { credentials } = server.iam.deps;
  await credentials.ensureUser(email, 'dev');
  return (await credentials.issueAccessToken({ kind: 'user', principal: `user:${email}`, lifetimeMs: 3_600_000 }))
    .accessToken;
}

function grpcClient(server: RunningServer, token: string): KeyManagementServiceClient {
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
    projectId: 'collab-kms',
    authClient: new OAuth2Client(),
  } as never);
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of Google API shapes, checked field by field.
type Json = Record<string, any>;

async function rest(server: RunningServer, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

test('keys, versions, policies and secrets survive a restart; another root key is refused', async () => {
  let server = await startServer(config(), { logger: silentLogger });
  let token = await tokenFor(server, 'owner@example.com');
  await server.iam.deps.projects.create('collab-kms', 'collab-kms', 'user:owner@example.com', Date.now());
  await server.iam.deps.policies.update(
    `projects/${(await server.iam.deps.projects.get('collab-kms'))?.projectNumber}`,
    () => [{ role: 'roles/owner', members: ['user:owner@example.com'] }],
    Date.now(),
  );
  let kms = grpcClient(server, token);
  await kms.createKeyRing({ parent: 'projects/collab-kms/locations/global', keyRingId: 'kr1', keyRing: {} });
  await kms.createCryptoKey({ parent: RING, cryptoKeyId: 'key1', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
  const [policy] = await kms.getIamPolicy({ resource: KEY } as never);
  await kms.setIamPolicy({
    resource: KEY,
    policy: {
      etag: policy.etag,
      bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:owner@example.com'] }],
    },
  } as never);
  await kms.createCryptoKeyVersion({ parent: KEY, cryptoKeyVersion: {} });
  const [enc] = await kms.encrypt({ name: KEY, plaintext: Buffer.from('kept across restarts') });
  await kms.close();
  const secret = await rest(server, token, 'POST', '/v1/projects/collab-kms/secrets?secretId=s1', {
    replication: { automatic: {} },
  });
  assert.equal(secret.status, 200);
  await rest(server, token, 'POST', '/v1/projects/collab-kms/secrets/s1:addVersion', {
    payload: { data: Buffer.from('pw').toString('base64') },
  });
  await rest(server, token, 'POST', '/v1/projects/collab-kms/secrets/s1:setIamPolicy', {
    policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members: ['user:owner@example.com'] }] },
  });
  await server.close();

  server = await startServer(config(), { logger: silentLogger });
  token = await tokenFor(server, 'owner@example.com');
  kms = grpcClient(server, token);
  try {
    const [dec] = await kms.decrypt({ name: KEY, ciphertext: enc.ciphertext as Uint8Array });
    assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'kept across restarts');
    const [versions] = await kms.listCryptoKeyVersions({ parent: KEY });
    assert.equal(versions.length, 2);
    const [kept] = await kms.getIamPolicy({ resource: KEY } as never);
    assert.deepEqual(kept.bindings?.[0]?.members, ['user:owner@example.com']);
  } finally {
    await kms.close();
  }
  const accessed = await rest(server, token, 'GET', '/v1/projects/collab-kms/secrets/s1/versions/latest:access');
  assert.equal(accessed.status, 200, JSON.stringify(accessed.json));
  assert.equal(Buffer.from(accessed.json.payload.data, 'base64').toString(), 'pw');
  await server.close();

  const otherKey = join(dir, 'other.key');
  writeFileSync(otherKey, randomBytes(32).toString('base64'), { mode: 0o600 });
  await assert.rejects(
    startServer(config(otherKey), { logger: silentLogger }),
    (e: Error & { code?: string }) => e.code === 'ERR_WRONG_ROOT_KEY',
  );
});
