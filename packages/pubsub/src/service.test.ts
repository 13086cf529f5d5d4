import assert from 'node:assert/strict';
import type { OutgoingMessage, ReceivedMessage } from './model.ts';
import {
  ALL_TEST_BACKENDS,
  createTestPubsub,
  decode,
  type TestBackend,
  type TestPubsub,
  testCaller,
  testEachBackend,
  text,
} from './testing.ts';

const T = 'projects/p1/topics/orders';
const S = 'projects/p1/subscriptions/orders-sub';

function msg(data: string, attributes: Record<string, string> = {}, orderingKey = ''): OutgoingMessage {
  return { data: text(data), attributes, orderingKey };
}

async function setup(backend: TestBackend, spec: Record<string, unknown> = {}) {
  const t = await createTestPubsub({ backend });
  await t.service.createTopic(t.admin, T, {});
  await t.service.createSubscription(t.admin, S, { topic: T, ...spec });
  return t;
}

/**
 * Pulls until `done` accepts a batch. Time moves on between tries: the fake clock on SQL, real time on NATS
 * (whose server keeps the deadlines), so a test waits for an event, never for a fixed time.
 */
async function pullUntil(
  t: TestPubsub,
  subscription: string,
  done: (batch: ReceivedMessage[]) => boolean,
  max = 10,
): Promise<ReceivedMessage[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const batch = await t.service.pull(t.admin, subscription, max, true);
    if (done(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`no batch as expected on ${subscription} within 30 s`);
    t.clock.advance(1000);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Fake-clock tests run on the SQL store, on SQLite and on PostgreSQL; NATS keeps time on its own server. */
const SQL_ONLY: readonly TestBackend[] = ['sql', 'postgres'];

/** This suite is the Pub/Sub store suite of both SQL engines as well as of NATS. */
function testEach(name: string, fn: (backend: TestBackend) => Promise<void>, backends = ALL_TEST_BACKENDS): void {
  testEachBackend(name, fn, backends);
}

testEach(
  'publish assigns increasing message ids and every subscription receives messages published after it was created',
  async (backend) => {
    const t = await setup(backend);
    const before = Date.now();
    const first = await t.service.publish(t.admin, T, [msg('a'), msg('b', { k: 'v' })]);
    const after = Date.now();
    await t.service.createSubscription(t.admin, 'projects/p1/subscriptions/late', { topic: T });
    const second = await t.service.publish(t.admin, T, [msg('c')]);
    assert.equal(first.length, 2);
    assert.ok(Number(first[1]) > Number(first[0]) && Number(second[0]) > Number(first[1]));
    const early = await t.service.pull(t.admin, S, 10, true);
    assert.deepEqual(
      early.map((r) => decode(r.message.data)),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(early[1]?.message.attributes, { k: 'v' });
    assert.equal(early[0]?.message.messageId, first[0]);
    const publishTime = early[0]?.message.publishTime as number;
    // SQL stamps the service's clock; JetStream its own (the server's) when it stored the message.
    if (backend !== 'nats') assert.equal(publishTime, t.clock.now());
    else assert.ok(publishTime >= before - 1000 && publishTime <= after + 1000);
    const late = await t.service.pull(t.admin, 'projects/p1/subscriptions/late', 10, true);
    assert.deepEqual(
      late.map((r) => decode(r.message.data)),
      ['c'],
    );
  },
);

testEach(
  'an acknowledged message is not delivered again; an unacknowledged one comes back after its deadline',
  async (backend) => {
    const t = await setup(backend, { ackDeadlineSeconds: 30 });
    await t.service.publish(t.admin, T, [msg('keep'), msg('drop')]);
    const got = await t.service.pull(t.admin, S, 10, true);
    await t.service.acknowledge(t.admin, S, [got.find((r) => decode(r.message.data) === 'drop')?.ackId as string]);
    const seen: string[] = [];
    const again = await pullUntil(t, S, (batch) => {
      seen.push(...batch.map((r) => decode(r.message.data)));
      return batch.length > 0;
    });
    assert.deepEqual(seen, ['keep']);
    assert.deepEqual(
      again.map((r) => decode(r.message.data)),
      ['keep'],
    );
    assert.notEqual(again[0]?.ackId, got[0]?.ackId);
    assert.equal(await t.store.countBacklog(S), 1);
  },
);

testEach(
  'the lease lasts its deadline: nothing comes back a second before it ends',
  async (backend) => {
    const t = await setup(backend, { ackDeadlineSeconds: 30 });
    await t.service.publish(t.admin, T, [msg('keep')]);
    await t.service.pull(t.admin, S, 10, true);
    t.clock.advance(29_000);
    assert.equal((await t.service.pull(t.admin, S, 10, true)).length, 0);
    t.clock.advance(1_000);
    assert.equal((await t.service.pull(t.admin, S, 10, true)).length, 1);
  },
  SQL_ONLY,
);

testEach('modifyAckDeadline 0 is a nack: the message is delivered again with a new ack id', async (backend) => {
  const t = await setup(backend, { ackDeadlineSeconds: 600 });
  await t.service.publish(t.admin, T, [msg('x')]);
  const [x] = await t.service.pull(t.admin, S, 10, true);
  await t.service.modifyAckDeadline(t.admin, S, [x?.ackId as string], 0);
  const [again] = await pullUntil(t, S, (batch) => batch.length > 0);
  assert.equal(decode(again?.message.data as Uint8Array), 'x');
  assert.notEqual(again?.ackId, x?.ackId);
});

testEach(
  'modifyAckDeadline 0 is a nack (redelivered at once) and a positive value extends the lease',
  async (backend) => {
    const t = await setup(backend);
    await t.service.publish(t.admin, T, [msg('x'), msg('y')]);
    const [x, y] = await t.service.pull(t.admin, S, 10, true);
    await t.service.modifyAckDeadline(t.admin, S, [x?.ackId as string], 0);
    await t.service.modifyAckDeadline(t.admin, S, [y?.ackId as string], 120);
    assert.deepEqual(
      (await t.service.pull(t.admin, S, 10, true)).map((r) => decode(r.message.data)),
      ['x'],
    );
    t.clock.advance(60_000);
    const afterMinute = await t.service.pull(t.admin, S, 10, true);
    assert.deepEqual(
      afterMinute.map((r) => decode(r.message.data)),
      ['x'],
    );
    t.clock.advance(61_000);
    assert.deepEqual((await t.service.pull(t.admin, S, 10, true)).map((r) => decode(r.message.data)).sort(), [
      'x',
      'y',
    ]);
  },
  SQL_ONLY,
);

testEach(
  'an extended lease outlives the subscription deadline; the message comes back once the extension ends',
  async (backend) => {
    const t = await setup(backend, { ackDeadlineSeconds: 10 });
    await t.service.publish(t.admin, T, [msg('y')]);
    const [y] = await t.service.pull(t.admin, S, 10, true);
    await t.service.modifyAckDeadline(t.admin, S, [y?.ackId as string], 60);
    const [again] = await pullUntil(t, S, (batch) => batch.length > 0);
    assert.equal(decode(again?.message.data as Uint8Array), 'y');
    assert.equal(await t.store.countBacklog(S), 1);
  },
);

testEach(
  'a stale ack id cannot extend the lease of a later delivery',
  async (backend) => {
    const t = await setup(backend);
    await t.service.publish(t.admin, T, [msg('x')]);
    const [first] = await t.service.pull(t.admin, S, 1, true);
    t.clock.advance(10_000);
    const [second] = await t.service.pull(t.admin, S, 1, true);
    await t.service.modifyAckDeadline(t.admin, S, [first?.ackId as string], 600);
    t.clock.advance(10_000);
    const [third] = await t.service.pull(t.admin, S, 1, true);
    assert.equal(decode(third?.message.data as Uint8Array), 'x');
    assert.notEqual(third?.ackId, second?.ackId);
  },
  SQL_ONLY,
);

testEach(
  'after maxDeliveryAttempts failed deliveries a message moves to the dead-letter topic with its source attributes',
  async (backend) => {
    const t = await createTestPubsub({ backend });
    await t.service.createTopic(t.admin, T, {});
    await t.service.createTopic(t.admin, 'projects/p1/topics/dead', {});
    await t.service.createSubscription(t.admin, 'projects/p1/subscriptions/dead-sub', {
      topic: 'projects/p1/topics/dead',
    });
    await t.service.createSubscription(t.admin, S, {
      topic: T,
      deadLetterPolicy: { deadLetterTopic: 'projects/p1/topics/dead', maxDeliveryAttempts: 5 },
    });
    await t.service.publish(t.admin, T, [msg('poison', { a: '1' })]);
    const attempts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [r] = await pullUntil(t, S, (batch) => batch.length > 0, 1);
      attempts.push(r?.deliveryAttempt as number);
      await t.service.modifyAckDeadline(t.admin, S, [r?.ackId as string], 0);
    }
    assert.deepEqual(attempts, [1, 2, 3, 4, 5]);
    // The next lease forwards it instead of delivering it a sixth time.
    let dead: ReceivedMessage | undefined;
    const deadline = Date.now() + 30_000;
    while (!dead) {
      assert.equal((await t.service.pull(t.admin, S, 1, true)).length, 0);
      [dead] = await t.service.pull(t.admin, 'projects/p1/subscriptions/dead-sub', 1, true);
      if (Date.now() > deadline) throw new Error('the message never reached the dead-letter topic');
      t.clock.advance(1000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(decode(dead?.message.data as Uint8Array), 'poison');
    assert.equal(dead?.message.attributes.a, '1');
    assert.equal(dead?.message.attributes.CloudPubSubDeadLetterSourceDeliveryCount, '5');
    assert.equal(dead?.message.attributes.CloudPubSubDeadLetterSourceSubscription, 'orders-sub');
    assert.equal(dead?.deliveryAttempt, 0);
  },
);

testEach(
  'an ordered subscription delivers one message per ordering key at a time, in publish order',
  async (backend) => {
    const t = await setup(backend, { enableMessageOrdering: true });
    await t.service.publish(t.admin, T, [
      msg('a1', {}, 'A'),
      msg('b1', {}, 'B'),
      msg('a2', {}, 'A'),
      msg('free'),
      msg('a3', {}, 'A'),
    ]);
    const seen: string[] = [];
    let nacked = false;
    // Acks and nacks go out while pulling goes on; the test ends only once each has been answered.
    const answers: Promise<unknown>[] = [];
    await pullUntil(t, S, (batch) => {
      const keys = batch.map((r) => r.message.orderingKey).filter((k) => k !== '');
      assert.equal(new Set(keys).size, keys.length, 'at most one message per key in flight');
      // The first keyed message is nacked once: it must come again before the next of its key.
      const first = nacked ? undefined : batch.find((r) => r.message.orderingKey !== '');
      if (first) {
        nacked = true;
        answers.push(t.service.modifyAckDeadline(t.admin, S, [first.ackId], 0));
      }
      const done = batch.filter((r) => r !== first);
      seen.push(...done.map((r) => decode(r.message.data)));
      if (done.length > 0)
        answers.push(
          t.service.acknowledge(
            t.admin,
            S,
            done.map((r) => r.ackId),
          ),
        );
      return seen.length === 5;
    });
    await Promise.all(answers);
    assert.deepEqual(
      seen.filter((s) => s.startsWith('a')),
      ['a1', 'a2', 'a3'],
    );
    assert.deepEqual([...seen].sort(), ['a1', 'a2', 'a3', 'b1', 'free']);
  },
);

testEach(
  'retainAckedMessages keeps acknowledged messages stored until retention, and retention drops old messages',
  async (backend) => {
    const t = await setup(backend, { retainAckedMessages: true, messageRetentionMs: 600_000 });
    await t.service.publish(t.admin, T, [msg('old')]);
    const [r] = await t.service.pull(t.admin, S, 1, true);
    await t.service.acknowledge(t.admin, S, [r?.ackId as string]);
    assert.equal(await t.store.countBacklog(S), 0);
    t.clock.advance(300_000);
    await t.service.publish(t.admin, T, [msg('newer')]);
    t.clock.advance(301_000);
    assert.equal(await t.store.purgeExpired(t.clock.now()), 1, 'only the acked-and-retained old message expired');
    assert.equal(await t.store.countBacklog(S), 1);
    t.clock.advance(600_000);
    assert.equal(await t.store.purgeExpired(t.clock.now()), 1);
    assert.equal((await t.service.pull(t.admin, S, 10, true)).length, 0);
  },
  SQL_ONLY,
);

const badBatches: [string, OutgoingMessage[], string][] = [
  [
    'a 10 MB message',
    [{ data: new Uint8Array(10 * 1000 * 1000 + 1), attributes: {}, orderingKey: '' }],
    'ERR_PUBSUB_MESSAGE_TOO_LARGE',
  ],
  ['1001 messages', Array.from({ length: 1001 }, () => msg('x')), 'ERR_PUBSUB_TOO_MANY_MESSAGES'],
  [
    '1000 messages over 10 MB together',
    Array.from({ length: 1000 }, () => ({ data: new Uint8Array(10_001), attributes: {}, orderingKey: '' })),
    'ERR_PUBSUB_MESSAGE_TOO_LARGE',
  ],
  ['an empty message', [msg('')], 'ERR_PUBSUB_EMPTY_MESSAGE'],
  ['no messages', [], 'ERR_PUBSUB_EMPTY_MESSAGE'],
  ['a reserved attribute key', [msg('x', { googFoo: '1' })], 'ERR_PUBSUB_BAD_ATTRIBUTE'],
  ['an empty attribute key', [msg('x', { '': '1' })], 'ERR_PUBSUB_BAD_ATTRIBUTE'],
  ['a 257-byte attribute key', [msg('x', { ['k'.repeat(257)]: '1' })], 'ERR_PUBSUB_BAD_ATTRIBUTE'],
  ['a 1025-byte attribute value', [msg('x', { k: 'v'.repeat(1025) })], 'ERR_PUBSUB_BAD_ATTRIBUTE'],
  [
    '101 attributes',
    [msg('x', Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v'])))],
    'ERR_PUBSUB_BAD_ATTRIBUTE',
  ],
  ['a 1025-byte ordering key', [msg('x', {}, 'o'.repeat(1025))], 'ERR_PUBSUB_BAD_ORDERING_KEY'],
];

for (const [what, messages, code] of badBatches) {
  testEachBackend(`publishing ${what} fails with ${code} and stores nothing`, async (backend) => {
    const t = await setup(backend);
    await assert.rejects(t.service.publish(t.admin, T, messages), (e: { code: string; status: string }) => {
      assert.equal(e.code, code);
      assert.equal(e.status, 'INVALID_ARGUMENT');
      return true;
    });
    assert.equal(await t.store.countBacklog(S), 0);
  });
}

testEach(
  'missing topics and subscriptions are NOT_FOUND for a caller with permission, PERMISSION_DENIED otherwise',
  async (backend) => {
    const t = await setup(backend);
    await assert.rejects(t.service.publish(t.admin, 'projects/p1/topics/nope', [msg('x')]), {
      status: 'NOT_FOUND',
      message: 'Resource not found (resource=nope).',
    });
    await assert.rejects(t.service.pull(t.admin, 'projects/p1/subscriptions/nope', 1, true), { status: 'NOT_FOUND' });
    const mallory = { caller: testCaller('mallory@example.com') };
    await assert.rejects(t.service.publish(mallory, T, [msg('x')]), {
      status: 'PERMISSION_DENIED',
      message: `Permission 'pubsub.topics.publish' denied on resource '${T}' (or it may not exist).`,
    });
    await assert.rejects(t.service.publish(mallory, 'projects/p1/topics/nope', [msg('x')]), {
      status: 'PERMISSION_DENIED',
    });
    await assert.rejects(t.service.pull(mallory, S, 1, true), { status: 'PERMISSION_DENIED' });
    assert.ok(t.audit.some((e) => e.outcome === 'DENIED' && e.resource === T));
    t.grants.add('user:mallory@example.com pubsub.topics.publish');
    assert.equal((await t.service.publish(mallory, T, [msg('x')])).length, 1);
  },
);

testEach('subscription settings out of range are refused with the reason', async (backend) => {
  const t = await setup(backend);
  const cases: [Record<string, unknown>, string][] = [
    [{ ackDeadlineSeconds: 5 }, 'ERR_PUBSUB_BAD_ACK_DEADLINE'],
    [{ ackDeadlineSeconds: 601 }, 'ERR_PUBSUB_BAD_ACK_DEADLINE'],
    [{ messageRetentionMs: 1000 }, 'ERR_PUBSUB_BAD_SETTING'],
    [{ deadLetterPolicy: { deadLetterTopic: 'projects/p1/topics/none' } }, 'ERR_PUBSUB_BAD_SETTING'],
    [{ deadLetterPolicy: { deadLetterTopic: T, maxDeliveryAttempts: 101 } }, 'ERR_PUBSUB_BAD_SETTING'],
    [{ unsupported: ['push_config'] }, 'ERR_PUBSUB_UNSUPPORTED_SETTING'],
  ];
  for (const [spec, code] of cases) {
    await assert.rejects(
      t.service.createSubscription(t.admin, 'projects/p1/subscriptions/bad', { topic: T, ...spec }),
      { code },
    );
  }
  await assert.rejects(t.service.createSubscription(t.admin, S, { topic: T }), { status: 'ALREADY_EXISTS' });
  await assert.rejects(t.service.createTopic(t.admin, 'projects/p1/topics/goog-x', {}), { status: 'INVALID_ARGUMENT' });
  await assert.rejects(t.service.modifyAckDeadline(t.admin, S, ['S1.1.1'], 601), {
    code: 'ERR_PUBSUB_BAD_ACK_DEADLINE',
  });
  await assert.rejects(t.service.acknowledge(t.admin, S, ['garbage']), { code: 'ERR_PUBSUB_BAD_ACK_ID' });
});

testEach('deleting a topic detaches its subscriptions; list and update work on what remains', async (backend) => {
  const t = await setup(backend);
  await t.service.createTopic(t.admin, 'projects/p1/topics/other', {});
  const topics = await t.service.listTopics(t.admin, 'projects/p1', 1, '');
  assert.equal(topics.items.length, 1);
  const rest = await t.service.listTopics(t.admin, 'projects/p1', 1, topics.nextPageToken);
  assert.deepEqual(
    [topics.items[0]?.name, rest.items[0]?.name],
    ['projects/p1/topics/orders', 'projects/p1/topics/other'],
  );
  assert.deepEqual((await t.service.listTopicSubscriptions(t.admin, T, 0, '')).items, [S]);
  const updated = await t.service.updateSubscription(t.admin, S, { ackDeadlineSeconds: 60 }, ['ack_deadline_seconds']);
  assert.equal(updated.ackDeadlineSeconds, 60);
  await t.service.deleteTopic(t.admin, T);
  const sub = await t.service.getSubscription(t.admin, S);
  assert.equal(sub.topic, '_deleted-topic_');
  assert.equal(sub.detached, true);
  await t.service.deleteSubscription(t.admin, S);
  await assert.rejects(t.service.getSubscription(t.admin, S), { status: 'NOT_FOUND' });
});

testEach(
  'a pull stops at 10 MB of messages (the one crossing the limit included), so responses fit the transport',
  async (backend) => {
    const t = await setup(backend);
    const big = () => ({ data: new Uint8Array(4_000_000), attributes: {}, orderingKey: '' });
    for (let i = 0; i < 4; i++) await t.service.publish(t.admin, T, [big()]);
    assert.equal((await t.service.pull(t.admin, S, 100, true)).length, 3);
    assert.equal((await t.service.pull(t.admin, S, 100, true)).length, 1);
  },
  SQL_ONLY,
);

testEach(
  'concurrent publishes commit together, and a missing topic in the group fails only its own request',
  async (backend) => {
    const t = await setup(backend);
    const results = await Promise.allSettled([
      t.service.publish(t.admin, T, [msg('a')]),
      t.service.publish(t.admin, 'projects/p1/topics/missing', [msg('b')]),
      t.service.publish(t.admin, T, [msg('c'), msg('d')]),
      t.service.publish(t.admin, T, [msg('e')]),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.equal((results[1] as PromiseRejectedResult).reason.status, 'NOT_FOUND');
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    assert.equal(new Set(ids).size, 4);
    const pulled = await t.service.pull(t.admin, S, 10, true);
    assert.deepEqual(pulled.map((r) => decode(r.message.data)).sort(), ['a', 'c', 'd', 'e']);
  },
);
