// A StreamingPull stream checks its caller's token again before each delivery and each later request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type Authenticator, CoreError, createMemoryLogger } from '@sealroom/core';
import { type GrpcServer, startGrpcServer } from '@sealroom/transport';
import { pubsubGrpcBindings } from './grpc.ts';
import {
  connectRawSubscriber,
  createTestPubsub,
  type RawSubscriberClient,
  realClock,
  type TestPubsub,
  testCaller,
  text,
} from './testing.ts';

type Loose = Record<string, unknown>;
const T = 'projects/p1/topics/auth-topic';
const S = 'projects/p1/subscriptions/auth-sub';
const shutdown = new AbortController();
let t: TestPubsub;
let host: GrpcServer;
let client: RawSubscriberClient;
/** Whether the reader's token still authenticates (an administrator disabling the account flips it). */
let readerValid = true;

const authenticator: Authenticator = {
  authenticate: async (token) => {
    if (token !== 'tok-reader' || !readerValid) throw new CoreError('ERR_UNAUTHENTICATED', 'Invalid credentials.');
    return testCaller('reader@example.com');
  },
};

before(async () => {
  t = await createTestPubsub({ clock: realClock() });
  t.grants.add('user:reader@example.com pubsub.subscriptions.consume');
  host = await startGrpcServer({
    bindings: pubsubGrpcBindings(t.service, { shutdown: shutdown.signal }),
    authenticator,
    logger: createMemoryLogger(),
  });
  client = connectRawSubscriber(host.port);
  await t.service.createTopic(t.admin, T, {});
  await t.service.createSubscription(t.admin, S, { topic: T });
});

after(async () => {
  shutdown.abort();
  client.close();
  await host.close();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a stream opened with a token that is then disabled delivers nothing more and ends with UNAUTHENTICATED', async () => {
  const metadata = new grpc.Metadata();
  metadata.add('authorization', 'Bearer tok-reader');
  const call = client.StreamingPull(metadata);
  const received: Loose[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (r: Loose) => received.push(...((r.receivedMessages as Loose[] | undefined) ?? [])));
  call.on('error', () => {});
  call.write({ subscription: S, streamAckDeadlineSeconds: 60 });
  await t.service.publish(t.admin, T, [{ data: text('before'), attributes: {}, orderingKey: '' }]);
  await until(() => received.length === 1, 'the message published before the token was disabled');

  readerValid = false;
  await t.service.publish(t.admin, T, [{ data: text('after'), attributes: {}, orderingKey: '' }]);
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    status,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 10_000);
    }),
  ]);
  clearTimeout(timer);
  if (!ended) call.cancel();
  assert.equal(ended?.code, grpc.status.UNAUTHENTICATED, 'the stream must end once its token is disabled');
  assert.equal(received.length, 1, 'nothing is delivered once the token no longer authenticates');
  readerValid = true;
});
