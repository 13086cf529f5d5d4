// A Pub/Sub server in a child process for the crash tests: SQLite file, either backend, plaintext gRPC, prints its port.
import { createMemoryLogger } from '@sealroom/core';
import { startGrpcServer } from '@sealroom/transport';
import { pubsubGrpcBindings } from './grpc.ts';
import { createTestPubsub, realClock, type TestBackend, testAuthenticator } from './testing.ts';

const [path = ':memory:', port = '0', backend = 'sql', natsUrl, timeScale] = process.argv.slice(2);
const t = await createTestPubsub({
  backend: backend as TestBackend,
  path,
  clock: realClock(),
  keepStreams: true,
  ...(natsUrl ? { natsUrl } : {}),
  ...(timeScale ? { timeScale: Number(timeScale) } : {}),
});
const server = await startGrpcServer({
  bindings: pubsubGrpcBindings(t.service, { trusted: true, shutdown: new AbortController().signal }),
  authenticator: testAuthenticator,
  logger: createMemoryLogger(),
  port: Number(port),
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
