// Pub/Sub on `sealroom serve`: the unmodified @google-cloud/pubsub client over gRPC TLS with the deployment
// CA, bearer tokens checked by the server's IAM, the seed's publisher/subscriber bindings deciding access; on the
// SQL backend and on NATS JetStream (`pubsub.backend`), one server after the other on one state directory.
import { TEST_DIR } from './pubsub-tls-env.ts';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { NATS_TEST_URL, skipReason, TEST_BACKENDS } from '@sealroom/pubsub/testing';
import type { RunningServer } from '@sealroom/server';
import { startDevTestServer } from '../support/dev-server.ts';
import { OAuth2Client } from 'google-auth-library';

const dir = TEST_DIR;
after(() => rmSync(dir, { recursive: true, force: true }));

for (const backend of TEST_BACKENDS) {
  describe(`[${backend}] Pub/Sub on sealroom serve`, { skip: skipReason(backend) }, () => {
    const PROJECT = `collab-pubsub-${backend}`;
    let server: RunningServer;

    async function tokenFor(email: string): Promise<string> {
      const { credentials } = server.iam.deps;
      await credentials.ensureUser(email, 'dev');
      return (await credentials.issueAccessToken({ kind: 'user', principal: `user:${email}`, lifetimeMs: 3_600_000 }))
        .accessToken;
    }

    async function rest(token: string, method: string, path: string, body?: unknown) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: Google API JSON, checked field by field.
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    }

    /** The client as an application configures it: endpoint and credentials only. */
    function client(token: string): PubSub {
      const authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
      return new PubSub({
        projectId: PROJECT,
        apiEndpoint: `127.0.0.1:${server.grpcPort}`,
        emulatorMode: false,
        authClient,
      });
    }

    before(async () => {
      server = await startDevTestServer(dir, {
        only: ['pubsub'],
        ...(backend === 'nats' ? { pubsub: { backend: NATS_TEST_URL } } : {}),
      });
      assert.equal(server.tls.caPath, process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH);
    });

    after(async () => {
      // Deleting them drops the subscription's consumer and the topic's stream on NATS.
      const owner = await tokenFor('owner@example.com');
      await rest(owner, 'DELETE', `/v1/projects/${PROJECT}/subscriptions/cs-subscribe`);
      await rest(owner, 'DELETE', `/v1/projects/${PROJECT}/topics/cs-topic`);
      await server.close();
    });

    test('a collaborator publishes and the operator’s subscriber receives over gRPC TLS; each is refused the other’s permission', async () => {
      const owner = await tokenFor('owner@example.com');
      const collab = await tokenFor('collab@example.com');
      const operator = await tokenFor('operator@example.com');
      assert.equal((await rest(owner, 'POST', '/v1/projects', { projectId: PROJECT })).status, 200);
      const topic = `projects/${PROJECT}/topics/cs-topic`;
      const sub = `projects/${PROJECT}/subscriptions/cs-subscribe`;
      assert.equal((await rest(owner, 'PUT', `/v1/${topic}`, {})).status, 200);
      assert.equal((await rest(owner, 'PUT', `/v1/${sub}`, { topic })).status, 200);
      for (const [resource, role, member] of [
        [topic, 'roles/pubsub.publisher', 'user:collab@example.com'],
        [sub, 'roles/pubsub.subscriber', 'user:operator@example.com'],
      ] as const) {
        const current = await rest(owner, 'POST', `/v1/${resource}:getIamPolicy`, {});
        const set = await rest(owner, 'POST', `/v1/${resource}:setIamPolicy`, {
          policy: { etag: current.json.etag, bindings: [{ role, members: [member] }] },
        });
        assert.equal(set.status, 200);
      }

      const publisher = client(collab);
      const ids = await Promise.all(
        ['w1', 'w2', 'w3'].map((word) => publisher.topic('cs-topic').publishMessage({ data: Buffer.from(word) })),
      );
      assert.equal(ids.length, 3);
      await assert.rejects(publisher.subscription('cs-subscribe').seek(new Date()), { code: 12 });

      const subscriber = client(operator);
      await assert.rejects(subscriber.topic('cs-topic').publishMessage({ data: Buffer.from('x') }), { code: 7 });
      const subscription = subscriber.subscription('cs-subscribe');
      const words = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        const timer = setTimeout(() => reject(new Error(`received ${seen.length} of 3`)), 20_000);
        subscription.on('error', reject);
        subscription.on('message', (m: Message) => {
          seen.push(m.data.toString());
          m.ack();
          if (seen.length === 3) {
            clearTimeout(timer);
            resolve(seen);
          }
        });
      });
      assert.deepEqual(words.sort(), ['w1', 'w2', 'w3']);
      await subscription.close();
      await Promise.all([publisher.close(), subscriber.close()]);
    });

    test('topic and subscription IAM policies work through the unmodified client over gRPC (one IAMPolicy service for every resource)', async () => {
      const owner = await tokenFor('owner@example.com');
      const outsider = await tokenFor('outsider@example.com');
      const pubsub = client(owner);
      try {
        const topic = pubsub.topic('cs-topic');
        const [policy] = await topic.iam.getPolicy();
        assert.ok(policy.bindings?.some((b) => b.role === 'roles/pubsub.publisher'));
        const [updated] = (await topic.iam.setPolicy({
          bindings: [...(policy.bindings ?? []), { role: 'roles/pubsub.viewer', members: ['user:reader@example.com'] }],
          etag: policy.etag,
        } as never)) as unknown as [{ bindings?: { role?: string | null }[] }];
        assert.ok(updated.bindings?.some((b) => b.role === 'roles/pubsub.viewer'));
        const [granted] = await pubsub
          .subscription('cs-subscribe')
          .iam.testPermissions(['pubsub.subscriptions.consume', 'pubsub.topics.publish']);
        assert.deepEqual(granted, { 'pubsub.subscriptions.consume': true, 'pubsub.topics.publish': true });
        const [stale] = [policy.etag];
        await assert.rejects(
          topic.iam.setPolicy({ bindings: policy.bindings ?? [], etag: stale } as never),
          (error: { code?: number }) => error.code === 10,
        );
        const stranger = client(outsider);
        try {
          await assert.rejects(
            stranger.topic('cs-topic').iam.getPolicy(),
            (error: { code?: number }) => error.code === 7,
          );
        } finally {
          await stranger.close();
        }
      } finally {
        await pubsub.close();
      }
    });
  });
}
