import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam/testing';
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

test('a publisher whose allow is cached is refused at once when setIamPolicy removes it, and when it is disabled', async () => {
  // A clock that never moves: nothing ages out of the decision cache, only IAM changes can drop it.
  const iam = await createIamTestContext({ clock: createFakeClock(Date.UTC(2026, 0, 1)) });
  const owner = await iam.createUser('owner@example.com');
  const writer = await iam.createUser('writer@example.com');
  const project = await iam.createProject('proj-cache', 'owner@example.com');
  const robot = await iam.deps.serviceAccounts.create(project, 'publisher-bot', '', '');
  const robotToken = (
    await iam.deps.credentials.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${robot.email}`,
      lifetimeMs: 600_000,
    })
  ).accessToken;
  const module = await createPubsubServiceWith({ emulatorHost: '127.0.0.1', pullWaitMs: 10, purgeIntervalMs: 60_000 })(
    iam.context,
  );
  const app = await buildRestApp({
    routes: module.routes,
    authenticator: iam.context.authenticator,
    logger: iam.logger,
  });
  const call = async (token: string, url: string, body: unknown = {}, method: 'PUT' | 'POST' = 'POST') => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, json: res.json() };
  };
  const topic = 'projects/proj-cache/topics/cached';
  assert.equal((await call(owner.accessToken, `/v1/${topic}`, {}, 'PUT')).status, 200);
  const setBindings = async (members: string[]) => {
    const current = await call(owner.accessToken, `/v1/${topic}:getIamPolicy`);
    const policy = { bindings: [{ role: 'roles/pubsub.publisher', members }], etag: current.json.etag };
    assert.equal((await call(owner.accessToken, `/v1/${topic}:setIamPolicy`, { policy })).status, 200);
  };
  await setBindings(['user:writer@example.com', `serviceAccount:${robot.email}`]);
  const publish = (token: string) =>
    call(token, `/v1/${topic}:publish`, { messages: [{ data: Buffer.from('m').toString('base64') }] });
  for (const token of [writer.accessToken, robotToken]) {
    assert.equal((await publish(token)).status, 200);
    assert.equal((await publish(token)).status, 200, 'allowed again, from the cache');
  }
  await setBindings([`serviceAccount:${robot.email}`]);
  assert.equal((await publish(writer.accessToken)).status, 403, 'the removed binding no longer grants');
  assert.equal((await publish(robotToken)).status, 200);
  await iam.deps.serviceAccounts.setDisabled(robot, true);
  assert.equal((await publish(robotToken)).status, 401, 'a disabled account is refused on its next use');
  await module.stop?.();
  await app.close();
  await iam.close();
});
