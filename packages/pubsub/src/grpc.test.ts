import { TEST_TLS_DIR } from './grpc-test-env.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { createMemoryLogger, createSealer } from '@sealroom/core';
import { type GrpcServer, loadOrCreateDeploymentTls, startGrpcServer } from '@sealroom/transport';
import { OAuth2Client } from 'google-auth-library';
import { pubsubGrpcBindings } from './grpc.ts';
import {
  createTestPubsub,
  realClock,
  skipReason,
  TEST_BACKENDS,
  type TestPubsub,
  testAuthenticator,
} from './testing.ts';

/** One deployment CA for the whole file: grpc-js reads the CA file named by the environment once. */
const sealer = createSealer(randomBytes(32));
after(() => rmSync(TEST_TLS_DIR, { recursive: true, force: true }));

for (const backend of TEST_BACKENDS) {
  describe(`[${backend}] the official client over gRPC`, { skip: skipReason(backend) }, () => {
    const shutdown = new AbortController();
    let t: TestPubsub;
    let tlsHost: GrpcServer;
    let plainHost: GrpcServer;

    before(async () => {
      // Real deadlines: a busy machine must not make the client's leases expire under it (a redelivery).
      t = await createTestPubsub({ backend, clock: realClock(), timeScale: 1 });
      const tls = await loadOrCreateDeploymentTls(TEST_TLS_DIR, sealer, ['localhost', '127.0.0.1']);
      // grpc-js ignores NODE_EXTRA_CA_CERTS; GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (set by grpc-test-env) names this CA.
      assert.equal(tls.caPath, process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH);
      const logger = createMemoryLogger();
      tlsHost = await startGrpcServer({
        bindings: pubsubGrpcBindings(t.service, { shutdown: shutdown.signal }),
        authenticator: testAuthenticator,
        logger,
        tls: { keyPem: tls.keyPem, certPem: tls.certPem },
      });
      plainHost = await startGrpcServer({
        bindings: pubsubGrpcBindings(t.service, { trusted: true, shutdown: shutdown.signal }),
        authenticator: testAuthenticator,
        logger,
      });
    });

    after(async () => {
      shutdown.abort();
      await tlsHost.close();
      await plainHost.close();
      await t.close();
    });

    function clientFor(user: string): PubSub {
      const authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: `tok-${user}`, expiry_date: Date.now() + 3600_000 });
      return new PubSub({ projectId: 'p1', apiEndpoint: `localhost:${tlsHost.port}`, emulatorMode: false, authClient });
    }

    function collect(
      pubsub: PubSub,
      subscription: string,
      count: number,
      onMessage: (m: Message, seen: Message[]) => void,
    ): Promise<Message[]> {
      const sub = pubsub.subscription(subscription, { flowControl: { maxMessages: 100 } });
      const seen: Message[] = [];
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} messages arrived`)), 20_000);
        sub.on('error', reject);
        sub.on('message', (m: Message) => {
          seen.push(m);
          onMessage(m, seen);
          if (seen.length === count) {
            clearTimeout(timer);
            void sub.close().then(() => resolve(seen));
          }
        });
      });
    }

    test('the unmodified client publishes and a subscription.on("message") subscriber receives, acks and nacks over authenticated TLS gRPC', async () => {
      const pubsub = clientFor('admin');
      const [topic] = await pubsub.createTopic('tls-topic');
      await topic.createSubscription('tls-sub', { ackDeadlineSeconds: 10 });
      const ids = await Promise.all(
        ['one', 'two', 'three'].map((data) =>
          topic.publishMessage({ data: Buffer.from(data), attributes: { n: data } }),
        ),
      );
      assert.equal(new Set(ids).size, 3);
      let nacked = false;
      const seen = await collect(pubsub, 'tls-sub', 4, (m) => {
        if (m.data.toString() === 'two' && !nacked) {
          nacked = true;
          m.nack();
        } else {
          m.ack();
        }
      });
      assert.deepEqual(seen.map((m) => m.data.toString()).sort(), ['one', 'three', 'two', 'two']);
      assert.equal(seen.find((m) => m.data.toString() === 'one')?.attributes.n, 'one');
      assert.ok(ids.includes(seen[0]?.id as string));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await t.store.countBacklog('projects/p1/subscriptions/tls-sub'), 0, 'every ack reached the server');
      await pubsub.close();
    });

    test('a caller without pubsub.topics.publish is refused with PERMISSION_DENIED, and gains it when granted', async () => {
      const admin = clientFor('admin');
      await admin.createTopic('locked-topic');
      const mallory = clientFor('mallory');
      await assert.rejects(
        mallory.topic('locked-topic').publishMessage({ data: Buffer.from('x') }),
        (e: { code: number; details: string }) => {
          assert.equal(e.code, 7);
          assert.match(
            e.details,
            /Permission 'pubsub.topics.publish' denied on resource 'projects\/p1\/topics\/locked-topic' \(or it may not exist\)/,
          );
          return true;
        },
      );
      t.grants.add('user:mallory@example.com pubsub.topics.publish');
      assert.equal(typeof (await mallory.topic('locked-topic').publishMessage({ data: Buffer.from('x') })), 'string');
      await Promise.all([admin.close(), mallory.close()]);
    });

    test('a tool using PUBSUB_EMULATOR_HOST publishes and receives over the plaintext port', async () => {
      process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${plainHost.port}`;
      const pubsub = new PubSub({ projectId: 'p1' });
      delete process.env.PUBSUB_EMULATOR_HOST;
      const [topic] = await pubsub.createTopic('emu-topic');
      await topic.createSubscription('emu-sub');
      await topic.publishMessage({ data: Buffer.from('hello emulator') });
      const seen = await collect(pubsub, 'emu-sub', 1, (m) => m.ack());
      assert.equal(seen[0]?.data.toString(), 'hello emulator');
      await pubsub.close();
    });

    test('bad input over gRPC gets precise statuses: oversized message, missing topic', async () => {
      const pubsub = clientFor('admin');
      const [topic] = await pubsub.createTopic('limits-topic');
      await assert.rejects(
        topic.publishMessage({ data: Buffer.alloc(10 * 1000 * 1000 + 1) }),
        (e: { code: number; details: string }) => {
          assert.equal(e.code, 3);
          assert.match(e.details, /Request payload size exceeds the limit: 10000000 bytes/);
          return true;
        },
      );
      await assert.rejects(pubsub.topic('no-such-topic').publishMessage({ data: Buffer.from('x') }), { code: 5 });
      await pubsub.close();
    });

    test('with message ordering, the unmodified client receives each ordering key in publish order', async () => {
      const pubsub = clientFor('admin');
      const [topic] = await pubsub.createTopic('ordered-topic');
      await topic.createSubscription('ordered-sub', { enableMessageOrdering: true });
      const publisher = pubsub.topic('ordered-topic', { messageOrdering: true });
      const published: Promise<string>[] = [];
      for (let i = 1; i <= 5; i++) {
        for (const key of ['k', 'j']) {
          published.push(publisher.publishMessage({ data: Buffer.from(`${key}${i}`), orderingKey: key }));
        }
      }
      await Promise.all(published);
      const seen = await collect(pubsub, 'ordered-sub', 10, (m) => m.ack());
      const byKey = (key: string) => seen.filter((m) => m.orderingKey === key).map((m) => m.data.toString());
      assert.deepEqual(byKey('k'), ['k1', 'k2', 'k3', 'k4', 'k5']);
      assert.deepEqual(byKey('j'), ['j1', 'j2', 'j3', 'j4', 'j5']);
      await pubsub.close();
    });
  });
}
