import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createMemoryLogger } from '@sealroom/core';
import { type GrpcServer, startGrpcServer } from '@sealroom/transport';
import { pubsubGrpcBindings } from './grpc.ts';
import {
  connectRawSubscriber,
  createTestPubsub,
  type RawSubscriberClient,
  realClock,
  skipReason,
  TEST_BACKENDS,
  type TestPubsub,
  testAuthenticator,
  text,
} from './testing.ts';

type Loose = Record<string, unknown>;

for (const backend of TEST_BACKENDS) {
  describe(`[${backend}] StreamingPull`, { skip: skipReason(backend) }, () => {
    const T = 'projects/p1/topics/stream-topic';
    const shutdown = new AbortController();
    let t: TestPubsub;
    let host: GrpcServer;
    let client: RawSubscriberClient;

    before(async () => {
      // Real deadlines: a busy machine must not make the client's leases expire under it (a redelivery).
      t = await createTestPubsub({ backend, clock: realClock(), timeScale: 1 });
      host = await startGrpcServer({
        bindings: pubsubGrpcBindings(t.service, { trusted: true, shutdown: shutdown.signal }),
        authenticator: testAuthenticator,
        logger: createMemoryLogger(),
      });
      client = connectRawSubscriber(host.port);
      await t.service.createTopic(t.admin, T, {});
    });

    after(async () => {
      client.close();
      await host.close();
      await t.close();
    });

    /** Opens a stream and collects its responses and final status. */
    function open() {
      const call = client.StreamingPull();
      const responses: Loose[] = [];
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('data', (r: Loose) => responses.push(r));
      call.on('error', () => {});
      const received = () => responses.flatMap((r) => (r.receivedMessages as Loose[] | undefined) ?? []);
      return { call, responses, status, received };
    }

    async function until(check: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 5000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    async function subscription(id: string): Promise<string> {
      const name = `projects/p1/subscriptions/${id}`;
      await t.service.createSubscription(t.admin, name, { topic: T });
      return name;
    }

    test('a first request without stream_ack_deadline_seconds or subscription ends the stream with INVALID_ARGUMENT', async () => {
      const name = await subscription('s-proto');
      const noDeadline = open();
      noDeadline.call.write({ subscription: name });
      assert.equal((await noDeadline.status).code, grpc.status.INVALID_ARGUMENT);
      const noName = open();
      noName.call.write({ streamAckDeadlineSeconds: 10 });
      assert.equal((await noName.status).code, grpc.status.INVALID_ARGUMENT);
    });

    test('flow control holds deliveries at max_outstanding_messages until acks on the stream return credit', async () => {
      const name = await subscription('s-flow');
      await t.service.publish(
        t.admin,
        T,
        ['a', 'b', 'c', 'd', 'e'].map((d) => ({ data: text(d), attributes: {}, orderingKey: '' })),
      );
      const s = open();
      s.call.write({ subscription: name, streamAckDeadlineSeconds: 60, maxOutstandingMessages: 2 });
      await until(() => s.received().length === 2, 'the first two messages');
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(s.received().length, 2, 'no third message while two are outstanding');
      s.call.write({ ackIds: s.received().map((r) => r.ackId) });
      await until(() => s.received().length === 4, 'two more after the acks');
      const ackIds = s
        .received()
        .slice(2)
        .map((r) => r.ackId as string);
      s.call.write({ modifyDeadlineAckIds: ackIds, modifyDeadlineSeconds: [0, 0] });
      await until(() => s.received().length >= 5, 'the nacked messages or the last one');
      s.call.write({});
      s.call.cancel();
      const status = await s.status;
      assert.notEqual(status.code, grpc.status.OK);
    });

    test('flow control by bytes: a stream gets messages while the outstanding bytes are under max_outstanding_bytes', async () => {
      const name = await subscription('s-bytes');
      const kib = new Uint8Array(1024);
      await t.service.publish(
        t.admin,
        T,
        [1, 2, 3].map(() => ({ data: kib, attributes: {}, orderingKey: '' })),
      );
      const s = open();
      s.call.write({ subscription: name, streamAckDeadlineSeconds: 60, maxOutstandingBytes: 1500 });
      await until(() => s.received().length === 2, 'two messages (the second crosses the byte limit)');
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(s.received().length, 2);
      s.call.write({ ackIds: s.received().map((r) => r.ackId) });
      await until(() => s.received().length === 3, 'the third after the acks');
      s.call.cancel();
      await s.status;
    });

    test('a client half-close and a server shutdown both end the stream with UNAVAILABLE, never OK', async () => {
      const name = await subscription('s-close');
      const halfClosed = open();
      halfClosed.call.write({ subscription: name, streamAckDeadlineSeconds: 10 });
      halfClosed.call.end();
      assert.equal((await halfClosed.status).code, grpc.status.UNAVAILABLE);
      const open2 = open();
      open2.call.write({ subscription: name, streamAckDeadlineSeconds: 10 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      shutdown.abort();
      assert.equal((await open2.status).code, grpc.status.UNAVAILABLE);
    });
  });
}
