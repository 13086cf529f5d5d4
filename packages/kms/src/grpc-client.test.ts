// The unmodified @google-cloud/kms client on its default gRPC transport, over TLS with the deployment CA.
import assert from 'node:assert/strict';
import { createHash, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { crc32c, createSealer } from '@sealroom/core';
import { OAuth2Client } from 'google-auth-library';
import { type GrpcServer, iamPolicyBinding, loadOrCreateDeploymentTls, startGrpcServer } from '@sealroom/transport';
import { kmsProtoDirs } from './grpc.ts';
import { type KmsHarness, startKmsHarness } from './testing.ts';

const LOCATION = 'projects/proj-a/locations/global';
const RING = `${LOCATION}/keyRings/ring`;

describe('@google-cloud/kms over gRPC with TLS', () => {
  let h: KmsHarness;
  let server: GrpcServer;
  let caPem: string;
  let dir: string;
  const clients: KeyManagementServiceClient[] = [];

  const clientFor = (accessToken: string) => {
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.add('authorization', `Bearer ${accessToken}`);
      callback(null, metadata);
    });
    const client = new KeyManagementServiceClient({
      apiEndpoint: '127.0.0.1',
      port: server.port,
      sslCreds: grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(Buffer.from(caPem)), bearer),
      'grpc.ssl_target_name_override': 'localhost',
      projectId: 'proj-a',
      authClient: new OAuth2Client(),
    } as never);
    clients.push(client);
    return client;
  };

  before(async () => {
    h = await startKmsHarness({ listen: false });
    dir = mkdtempSync(join(tmpdir(), 'kms-grpc-'));
    const tls = await loadOrCreateDeploymentTls(dir, createSealer(randomBytes(32)), ['localhost']);
    caPem = tls.caPem;
    server = await startGrpcServer({
      bindings: [...(h.module.grpc ?? []), iamPolicyBinding(h.module.routes, kmsProtoDirs())],
      authenticator: h.t.context.authenticator,
      logger: h.t.logger,
      tls: { keyPem: tls.keyPem, certPem: tls.certPem },
    });
  });
  after(async () => {
    for (const client of clients) await client.close();
    await server.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates keys, encrypts and decrypts with a user token, checksums included', async () => {
    const owner = clientFor(h.owner.accessToken);
    await owner.createKeyRing({ parent: LOCATION, keyRingId: 'ring', keyRing: {} });
    const [key] = await owner.createCryptoKey({
      parent: RING,
      cryptoKeyId: 'sym',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', labels: { team: 'a' } },
    });
    assert.equal(key.primary?.state, 'ENABLED');
    assert.equal(key.labels?.team, 'a');
    const user = await h.t.createUser('grpc-user@example.com');
    await h.t.grant(
      `${RING}/cryptoKeys/sym`,
      'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      'user:grpc-user@example.com',
    );
    const client = clientFor(user.accessToken);
    const plaintext = Buffer.from('over grpc');
    const [enc] = await client.encrypt({
      name: `${RING}/cryptoKeys/sym`,
      plaintext,
      plaintextCrc32c: { value: crc32c(plaintext) },
    });
    assert.equal(enc.verifiedPlaintextCrc32c, true);
    assert.equal(enc.name, `${RING}/cryptoKeys/sym/cryptoKeyVersions/1`);
    const ciphertext = enc.ciphertext as Uint8Array;
    assert.equal(Number(enc.ciphertextCrc32c?.value), crc32c(ciphertext));
    const [dec] = await client.decrypt({ name: `${RING}/cryptoKeys/sym`, ciphertext });
    assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'over grpc');
    await assert.rejects(
      client.decrypt({ name: `${RING}/cryptoKeys/sym`, ciphertext: ciphertext.subarray(1) }),
      (error: { code?: number; details?: string }) => {
        assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
        return true;
      },
    );
    await assert.rejects(
      owner.encrypt({ name: `${RING}/cryptoKeys/sym`, plaintext }),
      (error: { code?: number }) => error.code === grpc.status.PERMISSION_DENIED,
    );
  });

  it('signs with a service-account token and verifies against getPublicKey', async () => {
    const owner = clientFor(h.owner.accessToken);
    await owner.createCryptoKey({
      parent: RING,
      cryptoKeyId: 'sig',
      cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P384_SHA384' } },
    });
    const project = await h.t.deps.projects.get('proj-a');
    assert.ok(project);
    const sa = await h.t.deps.serviceAccounts.create(project, 'grpc-signer', 'Signer', '');
    await h.t.grant(`${RING}/cryptoKeys/sig`, 'roles/cloudkms.signerVerifier', `serviceAccount:${sa.email}`);
    const token = await h.t.deps.credentials.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${sa.email}`,
      lifetimeMs: 3_600_000,
    });
    const client = clientFor(token.accessToken);
    const version = `${RING}/cryptoKeys/sig/cryptoKeyVersions/1`;
    const message = Buffer.from('result digest');
    const digest = createHash('sha384').update(message).digest();
    const [signed] = await client.asymmetricSign({
      name: version,
      digest: { sha384: digest },
      digestCrc32c: { value: crc32c(digest) },
    });
    assert.equal(signed.verifiedDigestCrc32c, true);
    const [pub] = await client.getPublicKey({ name: version });
    assert.equal(pub.algorithm, 'EC_SIGN_P384_SHA384');
    assert.ok(
      verify('sha384', message, { key: pub.pem as string, dsaEncoding: 'der' }, signed.signature as Uint8Array),
    );
  });

  it('serves IAMPolicy and Locations beside KeyManagementService', async () => {
    const owner = clientFor(h.owner.accessToken);
    const resource = `${RING}/cryptoKeys/sym`;
    const [policy] = await owner.getIamPolicy({ resource } as never);
    const [set] = await owner.setIamPolicy({
      resource,
      policy: {
        bindings: [{ role: 'roles/cloudkms.publicKeyViewer', members: ['user:x@example.com'] }],
        etag: policy.etag,
      },
    } as never);
    assert.deepEqual(set.bindings?.find((b) => b.role === 'roles/cloudkms.publicKeyViewer')?.members, [
      'user:x@example.com',
    ]);
    assert.notDeepEqual(Buffer.from(set.etag as Uint8Array), Buffer.from(policy.etag as Uint8Array));
    await assert.rejects(
      owner.setIamPolicy({ resource, policy: { bindings: [], etag: policy.etag } } as never),
      (error: { code?: number }) => error.code === grpc.status.ABORTED,
    );
    // The generated typing says ILocation; at run time gax resolves to [response, …] like every call.
    const result: unknown = await owner.getLocation({ name: LOCATION });
    const location = (Array.isArray(result) ? result[0] : result) as { locationId?: string };
    assert.equal(location.locationId, 'global');
  });

  it('refuses a call without a token as UNAUTHENTICATED', async () => {
    const client = new KeyManagementServiceClient({
      apiEndpoint: '127.0.0.1',
      port: server.port,
      sslCreds: grpc.credentials.createSsl(Buffer.from(caPem)),
      'grpc.ssl_target_name_override': 'localhost',
      projectId: 'proj-a',
      authClient: new OAuth2Client(),
    } as never);
    clients.push(client);
    await assert.rejects(
      client.getKeyRing({ name: RING }),
      (error: { code?: number }) => error.code === grpc.status.UNAUTHENTICATED,
    );
  });
});
