// The collaborator's key release end to end on `sealroom serve`: an attestation token (from a local OIDC
// issuer), google-auth-library's external_account credential exchanging it at Sealroom's STS, and the
// unmodified @google-cloud/kms client decrypting over REST fallback and over gRPC TLS, allowed by a
// principalSet attribute.image_digest binding and refused for another image digest.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveSharedDir, silentLogger } from '@sealroom/core';
import type { RunningServer } from '@sealroom/server';
import { SignJWT } from 'jose';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-kms-fed-'));
const caFile = join(dir, 'ca.pem');
// grpc-js takes this path when it loads (so the server and client, which load it, are imported after) and reads the
// file on its first TLS channel without explicit roots: the documented way to trust a private CA.
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = caFile;
const { KeyManagementServiceClient } = await import('@google-cloud/kms');
const { ServerConfigSchema, startServer } = await import('@sealroom/server');

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const issuerServer = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/.well-known/openid-configuration')
    res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }));
  else if (req.url === '/jwks')
    res.end(
      JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }),
    );
  else res.writeHead(404).end('{}');
});
let issuerUrl = '';
let server: RunningServer;
let ownerToken = '';
let projectNumber = '';
const PROJECT = 'collab-fed';
const KEY = `projects/${PROJECT}/locations/global/keyRings/kr1/cryptoKeys/key1`;
const GOOD_DIGEST = `sha256:${'a7'.repeat(32)}`;

async function attestationToken(imageDigest: string): Promise<string> {
  const claims = JSON.parse(readFileSync(join(resolveSharedDir(), 'contracts', 'token-claims.example.json'), 'utf8'));
  const now = Math.floor(Date.now() / 1000);
  claims.submods.container.image_digest = imageDigest;
  return new SignJWT({ ...claims, iss: issuerUrl, iat: now - 10, nbf: now - 10, exp: now + 3000 })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
    .sign(privateKey);
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

function credentialFor(tokenFile: string): Record<string, unknown> {
  return {
    type: 'external_account',
    audience: `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${server.url}/v1/token`,
    credential_source: { file: tokenFile },
  };
}

/** The unmodified client over REST fallback (plain HTTP) or over gRPC TLS, against the test server. */
function kmsClient(credentials: Record<string, unknown>, transport: 'rest' | 'grpc') {
  return new KeyManagementServiceClient(
    (transport === 'rest'
      ? {
          credentials,
          fallback: true,
          protocol: 'http',
          apiEndpoint: '127.0.0.1',
          port: Number(new URL(server.url).port),
        }
      : { credentials, apiEndpoint: '127.0.0.1', port: server.grpcPort }) as never,
  );
}

before(async () => {
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuerUrl = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  server = await startServer(
    ServerConfigSchema.parse({ port: 0, grpcPort: 0, dev: true, stateDir: join(dir, 'state'), logLevel: 'silent' }),
    { logger: silentLogger },
  );
  writeFileSync(caFile, server.tls.caPem);
  const { credentials, projects, policies } = server.iam.deps;
  await credentials.ensureUser('owner@example.com', 'dev');
  ownerToken = (
    await credentials.issueAccessToken({ kind: 'user', principal: 'user:owner@example.com', lifetimeMs: 3_600_000 })
  ).accessToken;
  const project = await projects.create(PROJECT, PROJECT, 'user:owner@example.com', Date.now());
  projectNumber = project.projectNumber;
  await policies.update(
    `projects/${projectNumber}`,
    () => [{ role: 'roles/owner', members: ['user:owner@example.com'] }],
    Date.now(),
  );
  const pools = `/v1/projects/${PROJECT}/locations/global/workloadIdentityPools`;
  await api('POST', `${pools}?workloadIdentityPoolId=trusted-workload-pool`, {});
  await api('POST', `${pools}/trusted-workload-pool/providers?workloadIdentityPoolProviderId=attestation-verifier`, {
    oidc: { issuerUri: `${issuerUrl}/`, allowedAudiences: ['https://sts.googleapis.com'] },
    attributeMapping: {
      'google.subject':
        '"gcpcs::"+assertion.submods.container.image_digest+"::"+assertion.submods.gce.project_number+"::"+assertion.submods.gce.instance_id',
      'attribute.image_digest': 'assertion.submods.container.image_digest',
    },
    attributeCondition:
      "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes",
  });
  await api('POST', `/v1/projects/${PROJECT}/locations/global/keyRings?keyRingId=kr1`, {});
  await api('POST', `/v1/projects/${PROJECT}/locations/global/keyRings/kr1/cryptoKeys?cryptoKeyId=key1`, {
    purpose: 'ENCRYPT_DECRYPT',
  });
  const policy = await api('POST', `/v1/${KEY}:getIamPolicy`, {});
  await api('POST', `/v1/${KEY}:setIamPolicy`, {
    policy: {
      etag: policy.etag,
      bindings: [
        { role: 'roles/cloudkms.cryptoKeyEncrypter', members: ['user:owner@example.com'] },
        {
          role: 'roles/cloudkms.cryptoKeyDecrypter',
          members: [
            `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_digest/${GOOD_DIGEST}`,
          ],
        },
      ],
    },
  });
});

after(async () => {
  await server.close();
  await new Promise<void>((resolve) => issuerServer.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('a workload whose image digest is bound decrypts with external_account over REST and gRPC; another digest is refused', async () => {
  const encrypted = await api('POST', `/v1/${KEY}:encrypt`, {
    plaintext: Buffer.from('collaborator-1 words').toString('base64'),
  });
  const ciphertext = Buffer.from(encrypted.ciphertext as string, 'base64');
  const goodFile = join(dir, 'good-token');
  writeFileSync(goodFile, `${await attestationToken(GOOD_DIGEST)}\n`);
  const badFile = join(dir, 'bad-token');
  writeFileSync(badFile, await attestationToken(`sha256:${'b8'.repeat(32)}`));

  const rest = kmsClient(credentialFor(goodFile), 'rest');
  const grpc = kmsClient(credentialFor(goodFile), 'grpc');
  const refused = kmsClient(credentialFor(badFile), 'rest');
  try {
    for (const client of [rest, grpc]) {
      const [out] = await client.decrypt({ name: KEY, ciphertext });
      assert.equal(Buffer.from(out.plaintext as Uint8Array).toString(), 'collaborator-1 words');
    }
    await assert.rejects(refused.decrypt({ name: KEY, ciphertext }), (error: { code?: number; message?: string }) => {
      assert.equal(error.code, 7);
      assert.match(String(error.message), /useToDecrypt/);
      return true;
    });
    await assert.rejects(
      rest.encrypt({ name: KEY, plaintext: Buffer.from('x') }),
      (error: { code?: number }) => error.code === 7,
    );
  } finally {
    await Promise.all([rest.close(), grpc.close(), refused.close()]);
  }
  const logs = await api('POST', '/v2/entries:list', { resourceNames: [`projects/${PROJECT}`], pageSize: 1000 });
  const decrypts = JSON.stringify(logs)
    .split('"methodName"')
    .filter((e) => e.includes('KeyManagementService.Decrypt'));
  assert.ok(
    decrypts.some((e) => e.includes(GOOD_DIGEST)),
    'the allowed federated decrypt is audited with its attributes',
  );
  assert.ok(
    decrypts.some((e) => e.includes('b8'.repeat(32))),
    'the refused federated decrypt is audited with its attributes',
  );
  assert.ok(!JSON.stringify(logs).includes('collaborator-1 words'));
  assert.ok(!JSON.stringify(logs).includes(Buffer.from('collaborator-1 words').toString('base64')));
});

test('a service account key file: @google-cloud/kms signs its own JWT (no token exchange) and encrypts over REST and gRPC', async () => {
  const account = await api('POST', `/v1/projects/${PROJECT}/serviceAccounts`, { accountId: 'key-file-sa' });
  const made = await api('POST', `/v1/projects/-/serviceAccounts/${account.email}/keys`, {});
  const keyFile = JSON.parse(Buffer.from(made.privateKeyData as string, 'base64').toString('utf8'));
  // Nothing listens here: a token exchange would fail the call, so a success is the self-signed JWT's.
  keyFile.token_uri = 'http://127.0.0.1:9/token';
  const policy = await api('POST', `/v1/${KEY}:getIamPolicy`, {});
  const bindings = [
    ...(policy.bindings as unknown[]),
    { role: 'roles/cloudkms.cryptoKeyEncrypter', members: [`serviceAccount:${account.email}`] },
  ];
  await api('POST', `/v1/${KEY}:setIamPolicy`, { policy: { etag: policy.etag, bindings } });
  const rest = kmsClient(keyFile, 'rest');
  const grpc = kmsClient(keyFile, 'grpc');
  try {
    for (const client of [rest, grpc]) {
      for (let i = 0; i < 2; i++) {
        const [out] = await client.encrypt({ name: KEY, plaintext: Buffer.from(`from a key file ${i}`) });
        assert.ok((out.ciphertext as Uint8Array).length > 0);
      }
    }
    // Decrypting is not granted to the account: refused, with the same self-signed JWT.
    await assert.rejects(
      rest.decrypt({ name: KEY, ciphertext: Buffer.from('x') }),
      (error: { code?: number }) => error.code === 7,
    );
  } finally {
    await Promise.all([rest.close(), grpc.close()]);
  }
  const logs = await api('POST', '/v2/entries:list', { resourceNames: [`projects/${PROJECT}`], pageSize: 1000 });
  const text = JSON.stringify(logs);
  assert.ok(text.includes(`serviceAccount:${account.email}`), "the account's encryptions are audited as its own");
});
