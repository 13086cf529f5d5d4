// Benchmark: KMS encrypt and decrypt of 1 KiB over REST, and decrypt over gRPC (TLS), against `sealroom serve`
// in its own process, next to a bare Node hello-world, the same server's /healthz and a bare unary gRPC call, with
// the load from wrk and from a gRPC worker process (the performance goals).
// Run: npm exec -- node bench/kms.ts [seconds-per-phase] [connections]
import { kmsProtoDirs } from '../packages/kms/src/grpc.ts';
import { apiOf } from './lib/api.ts';
import { startRun } from './lib/measure.ts';
import { startHelloWorld, startSealroom } from './lib/processes.ts';
import { setUpKms } from './lib/scenarios.ts';

const run = startRun('kms', 'KMS encrypt/decrypt of 1 KiB over REST and gRPC');
const hello = await startHelloWorld();
const server = await startSealroom();
try {
  const api = apiOf(server.url);
  const token = await api.login('bench@example.com');
  await api.createProject(token, 'bench-kms');
  const { key, encryptBody, decryptBody, ciphertext } = await setUpKms(
    api,
    token,
    'bench-kms',
    'user:bench@example.com',
  );
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  await run.http('hello-world (bare node:http)', hello, { path: '/' });
  await run.http('GET /healthz', server, { path: '/healthz' });
  await run.http('KMS encrypt 1 KiB (REST)', server, {
    method: 'POST',
    path: `/v1/${key}:encrypt`,
    headers,
    body: encryptBody,
  });
  await run.http('KMS decrypt 1 KiB (REST)', server, {
    method: 'POST',
    path: `/v1/${key}:decrypt`,
    headers,
    body: decryptBody,
  });
  const grpc = { target: server.grpcTarget, caPem: server.caPem, token, includeDirs: kmsProtoDirs() };
  await run.grpc('gRPC GetLocation (bare unary, bearer)', server.pid, {
    ...grpc,
    protoFiles: ['google/cloud/location/locations.proto'],
    service: 'google.cloud.location.Locations',
    method: 'GetLocation',
    request: { name: 'projects/bench-kms/locations/global' },
  });
  await run.grpc('gRPC KMS decrypt 1 KiB', server.pid, {
    ...grpc,
    protoFiles: ['google/cloud/kms/v1/service.proto'],
    service: 'google.cloud.kms.v1.KeyManagementService',
    method: 'Decrypt',
    request: { name: key, ciphertext },
    bytesFields: ['ciphertext'],
  });
  run.finish([
    {
      row: 'KMS encrypt 1 KiB (REST)',
      of: 'GET /healthz',
      atLeast: 1 / 3,
      p99BelowMs: 20,
      label: 'REST encrypt / healthz',
    },
    {
      row: 'KMS decrypt 1 KiB (REST)',
      of: 'GET /healthz',
      atLeast: 1 / 3,
      p99BelowMs: 20,
      label: 'REST decrypt / healthz',
    },
    {
      row: 'gRPC KMS decrypt 1 KiB',
      of: 'gRPC GetLocation (bare unary, bearer)',
      atLeast: 1 / 3,
      label: 'gRPC decrypt / bare unary call',
    },
  ]);
} finally {
  await server.stop();
  await hello.stop();
}
