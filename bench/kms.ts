// Benchmark: KMS decrypts per second over REST and gRPC (TLS) on loopback, next to a bare echo route and
// a bare gRPC call on the same servers, and to in-process AES-256-GCM of the same payload, in one run.
// Run: npm exec -- node bench/kms.ts [seconds-per-phase] [concurrency] [payload-bytes]
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createSealer } from '@sealroom/core';
import { GRPC_LOADER_OPTIONS, loadOrCreateDeploymentTls, startGrpcServer } from '@sealroom/transport';
import { kmsProtoDirs } from '../packages/kms/src/grpc.ts';
import { startKmsHarness } from '../packages/kms/src/test-harness.ts';

const SECONDS = Number(process.argv[2] ?? 4);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const PAYLOAD_BYTES = Number(process.argv[4] ?? 1024);

const h = await startKmsHarness({
  extraRoutes: [{ method: 'POST', path: '/v1/echo', auth: 'none', handler: async (r) => r.body }],
});
const base = `http://127.0.0.1:${h.port}`;
const key = 'projects/proj-a/locations/global/keyRings/bench/cryptoKeys/k';
const headers = { authorization: `Bearer ${h.owner.accessToken}`, 'content-type': 'application/json' };
await fetch(`${base}/v1/projects/proj-a/locations/global/keyRings?keyRingId=bench`, {
  method: 'POST',
  headers,
  body: '""',
});
await fetch(`${base}/v1/projects/proj-a/locations/global/keyRings/bench/cryptoKeys?cryptoKeyId=k`, {
  method: 'POST',
  headers,
  body: JSON.stringify({ purpose: 'ENCRYPT_DECRYPT' }),
});
await h.t.grant(key, 'roles/cloudkms.cryptoKeyEncrypterDecrypter', `user:${h.owner.email}`);
const plaintext = randomBytes(PAYLOAD_BYTES);
const encrypted = await fetch(`${base}/v1/${key}:encrypt`, {
  method: 'POST',
  headers,
  body: JSON.stringify({ plaintext: plaintext.toString('base64') }),
});
const { ciphertext } = (await encrypted.json()) as { ciphertext: string };
const decryptBody = JSON.stringify({ ciphertext });

function report(name: string, done: number, failed: number, started: number): number {
  const rate = done / ((performance.now() - started) / 1000);
  console.log(`${name.padEnd(30)} ${rate.toFixed(0).padStart(8)} ops/s  (${done} ok, ${failed} failed)`);
  return rate;
}

async function phase(name: string, run: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  let failed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      if (await run()) done++;
      else failed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return report(name, done, failed, started);
}

const restCall = (path: string, body: string) => async () => {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  await response.arrayBuffer();
  return response.ok;
};

// gRPC over TLS with the deployment CA, a raw grpc-js client (no gax) so the client costs little.
const dir = mkdtempSync(join(tmpdir(), 'bench-kms-'));
const tls = await loadOrCreateDeploymentTls(dir, createSealer(randomBytes(32)), ['localhost']);
const server = await startGrpcServer({
  bindings: h.module.grpc ?? [],
  authenticator: h.t.context.authenticator,
  logger: h.t.logger,
  tls: { keyPem: tls.keyPem, certPem: tls.certPem },
});
const definition = protoLoader.loadSync(
  ['google/cloud/kms/v1/service.proto', 'google/cloud/location/locations.proto'],
  {
    ...GRPC_LOADER_OPTIONS,
    includeDirs: kmsProtoDirs(),
  },
);
const root = grpc.loadPackageDefinition(definition) as unknown as {
  google: {
    cloud: {
      kms: { v1: { KeyManagementService: grpc.ServiceClientConstructor } };
      location: { Locations: grpc.ServiceClientConstructor };
    };
  };
};
const bearer = grpc.credentials.createFromMetadataGenerator((_p, cb) => {
  const metadata = new grpc.Metadata();
  metadata.add('authorization', headers.authorization);
  cb(null, metadata);
});
const creds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(Buffer.from(tls.caPem)), bearer);
const options = { 'grpc.ssl_target_name_override': 'localhost' };
const target = `127.0.0.1:${server.port}`;
const kmsClient = new root.google.cloud.kms.v1.KeyManagementService(target, creds, options);
const locations = new root.google.cloud.location.Locations(target, creds, options);
const unary = (client: grpc.Client, method: string, request: object) => () =>
  new Promise<boolean>((resolve) => {
    (client as unknown as Record<string, (r: object, cb: (e: unknown) => void) => void>)[method]?.(request, (error) => {
      if (error && !firstError) firstError = error;
      resolve(!error);
    });
  });
const ciphertextBytes = Buffer.from(ciphertext, 'base64');
let firstError: unknown;

console.log(
  `bench/kms: ${SECONDS}s per phase, ${CONCURRENCY} concurrent calls, ${PAYLOAD_BYTES}-byte plaintext, loopback, client and server in one process`,
);
{
  const aesKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let done = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) {
      const d = createDecipheriv('aes-256-gcm', aesKey, iv);
      d.setAuthTag(tag);
      d.update(body);
      d.final();
    }
    done += 100;
  }
  report('in-process AES-256-GCM decrypt', done, 0, started);
}
await phase('warm-up (REST decrypt)', restCall(`/v1/${key}:decrypt`, decryptBody));
const restEcho = await phase('REST echo (same server)', restCall('/v1/echo', decryptBody));
const restDecrypt = await phase('REST decrypt', restCall(`/v1/${key}:decrypt`, decryptBody));
await phase('warm-up (gRPC decrypt)', unary(kmsClient, 'Decrypt', { name: key, ciphertext: ciphertextBytes }));
const grpcEcho = await phase(
  'gRPC GetLocation (same server)',
  unary(locations, 'GetLocation', { name: 'projects/proj-a/locations/global' }),
);
const grpcDecrypt = await phase(
  'gRPC decrypt',
  unary(kmsClient, 'Decrypt', { name: key, ciphertext: ciphertextBytes }),
);
if (firstError) console.log(`first gRPC failure: ${String(firstError)}`);
console.log(`REST decrypt / echo = ${(restDecrypt / restEcho).toFixed(2)} (target ≥ 0.5)`);
console.log(`gRPC decrypt / bare call = ${(grpcDecrypt / grpcEcho).toFixed(2)} (target ≥ 0.5)`);
kmsClient.close();
locations.close();
await server.close();
await h.close();
rmSync(dir, { recursive: true, force: true });
