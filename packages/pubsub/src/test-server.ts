// A Pub/Sub server in a child process for the crash test: SQLite file, plaintext gRPC, prints its port.
import { createMemoryLogger } from '@sealroom/core';
import { startGrpcServer } from '@sealroom/transport';
import { pubsubGrpcBindings } from './grpc.ts';
import { createTestPubsub, realClock, testAuthenticator } from './test-support.ts';

const [path = ':memory:', port = '0'] = process.argv.slice(2);
const t = await createTestPubsub({ path, clock: realClock() });
const server = await startGrpcServer({
  bindings: pubsubGrpcBindings(t.service, { trusted: true, shutdown: new AbortController().signal }),
  authenticator: testAuthenticator,
  logger: createMemoryLogger(),
  port: Number(port),
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
