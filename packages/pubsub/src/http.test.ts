import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { buildRestApp } from '@sealroom/transport';
import { pubsubRoutes } from './http.ts';
import { createTestPubsub, testAuthenticator } from './testing.ts';

async function setup() {
  const t = await createTestPubsub();
  const app = await buildRestApp({
    routes: pubsubRoutes(t.service),
    authenticator: testAuthenticator,
    logger: createMemoryLogger(),
  });
  const call = async (
    method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    user = 'admin',
  ) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer tok-${user}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: res.body ? res.json() : undefined };
  };
  return { t, app, call };
}

test('REST: create a topic and subscription, publish, pull, modify the deadline and acknowledge', async () => {
  const { app, call } = await setup();
  const topic = await call('PUT', '/v1/projects/p1/topics/tp1', { labels: { team: 'a' } });
  assert.deepEqual(topic.json, { name: 'projects/p1/topics/tp1', labels: { team: 'a' }, state: 'ACTIVE' });
  const sub = await call('PUT', '/v1/projects/p1/subscriptions/sub1', {
    topic: 'projects/p1/topics/tp1',
    ackDeadlineSeconds: 20,
    deadLetterPolicy: { deadLetterTopic: 'projects/p1/topics/tp1', maxDeliveryAttempts: 7 },
  });
  assert.equal(sub.status, 200);
  assert.equal(sub.json.ackDeadlineSeconds, 20);
  assert.equal(sub.json.messageRetentionDuration, '604800s');
  assert.deepEqual(sub.json.deadLetterPolicy, { deadLetterTopic: 'projects/p1/topics/tp1', maxDeliveryAttempts: 7 });
  const published = await call('POST', '/v1/projects/p1/topics/tp1:publish', {
    messages: [{ data: Buffer.from('hi').toString('base64'), attributes: { k: 'v' }, orderingKey: 'o' }],
  });
  assert.equal(published.json.messageIds.length, 1);
  const pulled = await call('POST', '/v1/projects/p1/subscriptions/sub1:pull', { maxMessages: 5 });
  const [received] = pulled.json.receivedMessages;
  assert.equal(Buffer.from(received.message.data, 'base64').toString(), 'hi');
  assert.equal(received.message.messageId, published.json.messageIds[0]);
  assert.deepEqual(received.message.attributes, { k: 'v' });
  assert.equal(received.message.orderingKey, 'o');
  assert.match(received.message.publishTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(received.deliveryAttempt, 1);
  const mod = await call('POST', '/v1/projects/p1/subscriptions/sub1:modifyAckDeadline', {
    ackIds: [received.ackId],
    ackDeadlineSeconds: 60,
  });
  assert.deepEqual(mod.json, {});
  assert.deepEqual(
    (await call('POST', '/v1/projects/p1/subscriptions/sub1:acknowledge', { ackIds: [received.ackId] })).json,
    {},
  );
  assert.deepEqual(
    (await call('POST', '/v1/projects/p1/subscriptions/sub1:pull', { maxMessages: 5, returnImmediately: true })).json,
    {},
  );
  const listed = await call('GET', '/v1/projects/p1/subscriptions');
  assert.deepEqual(
    listed.json.subscriptions.map((s: { name: string }) => s.name),
    ['projects/p1/subscriptions/sub1'],
  );
  const patched = await call('PATCH', '/v1/projects/p1/subscriptions/sub1', {
    subscription: { ackDeadlineSeconds: 30 },
    updateMask: 'ackDeadlineSeconds',
  });
  assert.equal(patched.json.ackDeadlineSeconds, 30);
  assert.deepEqual((await call('GET', '/v1/projects/p1/topics/tp1/subscriptions')).json, {
    subscriptions: ['projects/p1/subscriptions/sub1'],
  });
  assert.equal((await call('DELETE', '/v1/projects/p1/subscriptions/sub1')).status, 200);
  assert.equal((await call('DELETE', '/v1/projects/p1/topics/tp1')).status, 200);
  await app.close();
});

test('REST errors are Google-shaped and precise', async () => {
  const { app, call, t } = await setup();
  await call('PUT', '/v1/projects/p1/topics/tp1', {});
  const cases: [string, Awaited<ReturnType<typeof call>>, number, string][] = [
    [
      '10 MB message',
      await call('POST', '/v1/projects/p1/topics/tp1:publish', {
        messages: [{ data: Buffer.alloc(10 * 1000 * 1000 + 1).toString('base64') }],
      }),
      400,
      'ERR_PUBSUB_MESSAGE_TOO_LARGE',
    ],
    [
      '1001 messages',
      await call('POST', '/v1/projects/p1/topics/tp1:publish', {
        messages: Array.from({ length: 1001 }, () => ({ data: 'eA==' })),
      }),
      400,
      'ERR_PUBSUB_TOO_MANY_MESSAGES',
    ],
    [
      'invalid attribute key',
      await call('POST', '/v1/projects/p1/topics/tp1:publish', {
        messages: [{ data: 'eA==', attributes: { goog: 'x' } }],
      }),
      400,
      'ERR_PUBSUB_BAD_ATTRIBUTE',
    ],
    ['unknown field', await call('PUT', '/v1/projects/p1/topics/tp2', { bogus: 1 }), 400, 'ERR_BAD_REQUEST_BODY'],
    ['missing topic', await call('GET', '/v1/projects/p1/topics/nope'), 404, 'ERR_NOT_FOUND'],
    [
      'missing subscription',
      await call('POST', '/v1/projects/p1/subscriptions/nope:pull', { maxMessages: 1 }),
      404,
      'ERR_NOT_FOUND',
    ],
    [
      'no permission',
      await call('POST', '/v1/projects/p1/topics/tp1:publish', { messages: [{ data: 'eA==' }] }, 'mallory'),
      403,
      'ERR_PERMISSION_DENIED',
    ],
    [
      'push config',
      await call('PUT', '/v1/projects/p1/subscriptions/sub9', {
        topic: 'projects/p1/topics/tp1',
        pushConfig: { pushEndpoint: 'https://x' },
      }),
      501,
      'ERR_PUBSUB_UNSUPPORTED_SETTING',
    ],
    [
      'bad ack id',
      await call('POST', '/v1/projects/p1/subscriptions/sub9:acknowledge', { ackIds: ['x'] }),
      404,
      'ERR_NOT_FOUND',
    ],
  ];
  for (const [what, res, status, reason] of cases) {
    assert.equal(res.status, status, what);
    assert.equal(res.json.error.code, status, what);
    assert.equal(res.json.error.details[0].reason, reason, what);
  }
  const denied = cases.find(([w]) => w === 'no permission')?.[1];
  assert.equal(
    denied?.json.error.message,
    "Permission 'pubsub.topics.publish' denied on resource 'projects/p1/topics/tp1' (or it may not exist).",
  );
  const noToken = await app.inject({ method: 'GET', url: '/v1/projects/p1/topics/tp1' });
  assert.equal(noToken.statusCode, 401);
  assert.equal(await t.store.countBacklog('projects/p1/subscriptions/sub9'), 0);
  await app.close();
});

test('REST: a body with a field the method does not know, at the top or nested, is refused in Google words', async () => {
  const { call } = await setup();
  const unknownTop = await call('PUT', '/v1/projects/p1/topics/strict', { labels: {}, colour: 'red' });
  assert.equal(unknownTop.status, 400);
  assert.equal(
    unknownTop.json.error.message,
    'Invalid JSON payload received. Unknown name "colour": Cannot find field.',
  );
  assert.equal((await call('PUT', '/v1/projects/p1/topics/strict', {})).status, 200);
  const nested = await call('PATCH', '/v1/projects/p1/topics/strict', {
    topic: { labels: { a: 'b' }, colour: 'red' },
    updateMask: 'labels',
  });
  assert.equal(nested.status, 400);
  assert.equal(
    nested.json.error.message,
    'Invalid JSON payload received. Unknown name "topic.colour": Cannot find field.',
  );
  const notObject = await call('POST', '/v1/projects/p1/topics/strict:publish', '[1]');
  assert.equal(notObject.status, 400);
  assert.equal(notObject.json.error.message, 'Invalid JSON payload received. Expected an object.');
  const pull = await call('POST', '/v1/projects/p1/subscriptions/none:pull', { maxMessages: 1, wait: true });
  assert.equal(pull.status, 400, 'checked before the subscription is looked up');
});
