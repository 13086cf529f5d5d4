import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIamTestContext } from '@sealroom/iam';
import { buildRestApp } from '@sealroom/transport';
import { createPubsubServiceWith } from './module.ts';

test('the seed flow: publisher and subscriber roles granted with setIamPolicy on the topic and subscription decide who may publish and pull', async () => {
  const iam = await createIamTestContext();
  const owner = await iam.createUser('owner@example.com');
  const writer = await iam.createUser('writer@example.com');
  const reader = await iam.createUser('reader@example.com');
  await iam.createProject('proj-pubsub', 'owner@example.com');
  const module = await createPubsubServiceWith({ emulatorHost: '127.0.0.1', pullWaitMs: 10, purgeIntervalMs: 60_000 })(
    iam.context,
  );
  const app = await buildRestApp({
    routes: module.routes,
    authenticator: iam.context.authenticator,
    logger: iam.logger,
  });
  const call = async (token: string, method: 'GET' | 'PUT' | 'POST', url: string, body: unknown = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: res.json() };
  };
  const topic = 'projects/proj-pubsub/topics/cs-topic';
  const sub = 'projects/proj-pubsub/subscriptions/cs-subscribe';
  assert.equal((await call(owner.accessToken, 'PUT', `/v1/${topic}`)).status, 200);
  assert.equal((await call(owner.accessToken, 'PUT', `/v1/${sub}`, { topic })).status, 200);
  for (const [resource, role, member] of [
    [topic, 'roles/pubsub.publisher', 'user:writer@example.com'],
    [sub, 'roles/pubsub.subscriber', 'user:reader@example.com'],
  ] as const) {
    const current = await call(owner.accessToken, 'POST', `/v1/${resource}:getIamPolicy`);
    assert.equal(current.status, 200);
    const bindings = [...(current.json.bindings ?? []), { role, members: [member] }];
    const set = await call(owner.accessToken, 'POST', `/v1/${resource}:setIamPolicy`, {
      policy: { bindings, etag: current.json.etag },
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
  }
  const publish = (token: string) =>
    call(token, 'POST', `/v1/${topic}:publish`, { messages: [{ data: Buffer.from('secret').toString('base64') }] });
  const pull = (token: string) => call(token, 'POST', `/v1/${sub}:pull`, { maxMessages: 10 });
  assert.equal((await publish(writer.accessToken)).status, 200);
  const denied = await publish(reader.accessToken);
  assert.equal(denied.status, 403);
  assert.equal(
    denied.json.error.message,
    `Permission 'pubsub.topics.publish' denied on resource '${topic}' (or it may not exist).`,
  );
  assert.equal((await pull(writer.accessToken)).status, 403);
  const pulled = await pull(reader.accessToken);
  assert.equal(pulled.status, 200);
  assert.equal(Buffer.from(pulled.json.receivedMessages[0].message.data, 'base64').toString(), 'secret');
  await module.stop?.();
  await app.close();
  await iam.close();
});
