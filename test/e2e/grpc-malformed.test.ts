// Every gRPC method of KMS and Pub/Sub on a real server, called with bodies that are not its request message:
// INVALID_ARGUMENT every time (never INTERNAL, which official clients retry as a server fault).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { silentLogger } from '@sealroom/core';
import { type RunningServer, resolveServerConfig, startServer } from '@sealroom/server';
import { GRPC_LOADER_OPTIONS } from '@sealroom/transport';
import fc from 'fast-check';

let server: RunningServer;
let stateDir: string;
let client: grpc.Client;
let token: string;

interface Method {
  readonly path: string;
  readonly bidi: boolean;
  /** The request's first field with its descriptor type, to send it with a wrong wire type. */
  readonly firstField: { number: number; type: string } | undefined;
}
const methods: Method[] = [];

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-grpc-'));
  server = await startServer(
    resolveServerConfig({ port: 0, grpcPort: 0, stateDir, only: ['kms', 'pubsub'], logLevel: 'silent' }, {}),
    { logger: silentLogger },
  );
  const { credentials } = server.iam.deps;
  await credentials.ensureUser('fuzzer@example.com', 'dev');
  token = (
    await credentials.issueAccessToken({ kind: 'user', principal: 'user:fuzzer@example.com', lifetimeMs: 3_600_000 })
  ).accessToken;
  client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createSsl(Buffer.from(server.tls.caPem)));
  for (const binding of server.modules.flatMap((m) => m.grpc ?? [])) {
    const definition = protoLoader.loadSync([...binding.protoFiles], {
      ...GRPC_LOADER_OPTIONS,
      includeDirs: [...binding.includeDirs],
    });
    const service = definition[binding.service] as protoLoader.ServiceDefinition;
    for (const spec of Object.values(service)) {
      if (spec.requestStream !== spec.responseStream) continue; // none in these services
      const type = spec.requestType.type as { field?: { number: number; type: string }[] };
      const first = type.field?.[0];
      methods.push({
        path: spec.path,
        bidi: spec.requestStream,
        firstField: first && { number: first.number, type: first.type },
      });
    }
  }
});

after(async () => {
  client?.close();
  await server?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const metadata = () => {
  const m = new grpc.Metadata();
  m.add('authorization', `Bearer ${token}`);
  return m;
};
const raw = (bytes: Buffer) => bytes;
/** A valid request may wait (a Pull long-polls, a stream stays open); malformed ones answer at once. */
const CALL_DEADLINE_MS = 3000;

/** Calls METHOD with BODY as raw bytes; resolves with the status code and details it ended with. */
function callRaw(method: Method, body: Buffer): Promise<{ code: number; details: string }> {
  const deadline = Date.now() + CALL_DEADLINE_MS;
  return new Promise((resolve) => {
    if (!method.bidi) {
      client.makeUnaryRequest(method.path, raw, raw, body, metadata(), { deadline }, (error) =>
        resolve({ code: error?.code ?? grpc.status.OK, details: error?.details ?? '' }),
      );
      return;
    }
    const stream = client.makeBidiStreamRequest(method.path, raw, raw, metadata(), { deadline });
    stream.on('data', () => {});
    stream.on('error', (error: grpc.ServiceError) => resolve({ code: error.code, details: error.details }));
    stream.on('end', () => resolve({ code: grpc.status.OK, details: 'ended' }));
    stream.write(body);
  });
}

/** A body whose first field carries the wrong wire type: a varint for a length-delimited field, else bytes. */
function mistyped(method: Method): Buffer | undefined {
  const field = method.firstField;
  if (!field) return undefined;
  const lengthDelimited = ['TYPE_STRING', 'TYPE_BYTES', 'TYPE_MESSAGE'].includes(field.type);
  const tag = field.number * 8 + (lengthDelimited ? 0 : 2);
  if (tag > 127) return undefined;
  return Buffer.from(lengthDelimited ? [tag, 1] : [tag, 1, 0x41]);
}

test('a body that is not protobuf, or has a field of the wrong type, is INVALID_ARGUMENT on every KMS and Pub/Sub method', async () => {
  assert.ok(methods.some((m) => m.path === '/google.cloud.kms.v1.KeyManagementService/Decrypt'));
  assert.ok(methods.some((m) => m.path === '/google.pubsub.v1.Publisher/Publish'));
  assert.ok(methods.some((m) => m.path === '/google.pubsub.v1.Subscriber/StreamingPull' && m.bidi));
  let checked = 0;
  for (const method of methods) {
    // Methods Sealroom does not offer answer UNIMPLEMENTED whatever the body.
    if ((await callRaw(method, Buffer.alloc(0))).code === grpc.status.UNIMPLEMENTED) continue;
    checked += 1;
    const bodies = [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x7f, 0x61]), mistyped(method)];
    for (const body of bodies) {
      if (!body) continue;
      const { code, details } = await callRaw(method, body);
      assert.equal(code, grpc.status.INVALID_ARGUMENT, `${method.path} ${body.toString('hex')}: ${code} ${details}`);
      assert.match(details, /not a valid protocol buffer/);
    }
  }
  assert.ok(checked >= 20, `${checked} methods checked`);
});

test('arbitrary bytes sent to any method never end in INTERNAL or UNKNOWN', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: methods.length - 1 }),
      fc.uint8Array({ maxLength: 64 }),
      async (index, bytes) => {
        const method = methods[index] as Method;
        const { code, details } = await callRaw(method, Buffer.from(bytes));
        assert.ok(
          code !== grpc.status.INTERNAL && code !== grpc.status.UNKNOWN,
          `${method.path} ${Buffer.from(bytes).toString('hex')}: ${code} ${details}`,
        );
      },
    ),
    { numRuns: 300, seed: 12 },
  );
});
