// The gRPC kit with a real grpc-js client: bearer tokens to callers, SealroomError to status, UNIMPLEMENTED.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { after, before, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CoreError, type Caller, silentLogger } from '@sealroom/core';
import { GRPC_LOADER_OPTIONS, type GrpcServer, startGrpcServer } from './server.ts';

const gaxMain = createRequire(import.meta.url).resolve('google-gax');
const includeDirs = [join(gaxMain.slice(0, gaxMain.lastIndexOf(`${sep}build${sep}`)), 'build', 'protos')];
const PROTO = 'google/cloud/location/locations.proto';

let server: GrpcServer;
let client: grpc.Client &
  Record<
    string,
    (req: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Record<string, unknown>) => void) => void
  >;
const seen: (Caller | undefined)[] = [];
let authentications = 0;
let revoked = false;

before(async () => {
  server = await startGrpcServer({
    logger: silentLogger,
    authenticator: {
      authenticate: async (token) => {
        authentications += 1;
        if (token !== 'good' || revoked) throw new CoreError('ERR_UNAUTHENTICATED', 'bad token');
        return { kind: 'user', principal: 'user:a@example.com', credentialId: 'c', expiresAt: Date.now() + 60_000 };
      },
    },
    bindings: [
      {
        protoFiles: [PROTO],
        includeDirs,
        service: 'google.cloud.location.Locations',
        unary: {
          GetLocation: async (request, context) => {
            seen.push(context.caller);
            if (request.name === 'missing') throw new CoreError('ERR_NOT_FOUND', 'Location missing not found.');
            if (request.name === 'boom') throw new Error('secret internals');
            if (request.name === 'later') {
              // What a long-lived stream does before each delivery: the token is checked again, not remembered.
              revoked = true;
              await context.reauthenticate?.();
            }
            return { name: request.name, locationId: 'global' };
          },
        },
      },
    ],
  });
  const definition = protoLoader.loadSync(PROTO, { ...GRPC_LOADER_OPTIONS, includeDirs });
  const Locations = (
    grpc.loadPackageDefinition(definition) as unknown as {
      google: { cloud: { location: { Locations: grpc.ServiceClientConstructor } } };
    }
  ).google.cloud.location.Locations;
  client = new Locations(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as typeof client;
});

after(async () => {
  client.close();
  await server.close();
});

const call = (method: string, request: object, token?: string) =>
  new Promise<{ error: grpc.ServiceError | null; response: Record<string, unknown> | undefined }>((resolve) => {
    const metadata = new grpc.Metadata();
    if (token) metadata.add('authorization', `Bearer ${token}`);
    client[method]?.(request, metadata, (error, response) => resolve({ error, response }));
  });

it('hands the authenticated caller to the handler and returns its message', async () => {
  const { error, response } = await call('getLocation', { name: 'projects/p/locations/global' }, 'good');
  assert.equal(error, null);
  assert.equal(response?.locationId, 'global');
  assert.equal(seen.at(-1)?.principal, 'user:a@example.com');
});

it('refuses a missing or invalid token with UNAUTHENTICATED', async () => {
  assert.equal((await call('getLocation', { name: 'x' })).error?.code, grpc.status.UNAUTHENTICATED);
  assert.equal((await call('getLocation', { name: 'x' }, 'bad')).error?.code, grpc.status.UNAUTHENTICATED);
});

it('maps a SealroomError to its status and hides unexpected errors as INTERNAL', async () => {
  const missing = await call('getLocation', { name: 'missing' }, 'good');
  assert.equal(missing.error?.code, grpc.status.NOT_FOUND);
  assert.equal(missing.error?.details, 'Location missing not found.');
  const boom = await call('getLocation', { name: 'boom' }, 'good');
  assert.equal(boom.error?.code, grpc.status.INTERNAL);
  assert.ok(!boom.error?.details.includes('secret'));
});

it('answers UNIMPLEMENTED for a method without a handler', async () => {
  assert.equal((await call('listLocations', { name: 'projects/p' }, 'good')).error?.code, grpc.status.UNIMPLEMENTED);
});

/** A unary call whose body is RAW bytes, not a serialised message, as a fuzzer or a broken client sends. */
const rawCall = (method: string, raw: Buffer, token?: string) =>
  new Promise<grpc.ServiceError | null>((resolve) => {
    const metadata = new grpc.Metadata();
    if (token) metadata.add('authorization', `Bearer ${token}`);
    client.makeUnaryRequest(
      `/google.cloud.location.Locations/${method}`,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      raw,
      metadata,
      (error) => resolve(error),
    );
  });

it('answers INVALID_ARGUMENT, not INTERNAL, to a body that is not the request message, and never calls the handler', async () => {
  const calls = seen.length;
  const bodies = [
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), // a truncated varint tag
    Buffer.from([0x0a, 0x7f, 0x61]), // field 1 (name) claims 127 bytes, carries 1
    Buffer.from([0x08, 0x96]), // field 1 sent as a varint, cut short
    Buffer.from('{"name":"projects/p"}'), // JSON where protobuf is expected
    Buffer.from([0x08, 0x01]), // field 1 (a string) sent as a varint: the wrong type
    Buffer.from([0x0a, 0x02, 0xc3, 0x28]), // field 1 is not UTF-8
  ];
  for (const body of bodies) {
    const error = await rawCall('GetLocation', body, 'good');
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT, `${body.toString('hex')}: ${error?.details}`);
    assert.match(error?.details ?? '', /not a valid protocol buffer/);
  }
  assert.equal(seen.length, calls, 'the handler never saw a malformed request');
  const anonymous = await rawCall('GetLocation', Buffer.from([0xff, 0xff]));
  assert.equal(anonymous?.code, grpc.status.UNAUTHENTICATED, 'authentication is still checked first');
});

it('lets a handler authenticate the call’s token again, so a credential revoked mid-call stops it', async () => {
  const before = authentications;
  const { error } = await call('GetLocation', { name: 'later' }, 'good');
  revoked = false;
  assert.equal(authentications - before, 2);
  assert.equal(error?.code, grpc.status.UNAUTHENTICATED);
});
