import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteDatabase } from '@sealroom/core';
import fc from 'fast-check';
import { parseAckId, toAckId } from './names.ts';
import { openSqlPubsubStore, PUBSUB_MIGRATIONS } from './store-sqlite.ts';

test('a database written by the first schema keeps its undelivered messages after the upgrade', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  await db.migrate('pubsub', PUBSUB_MIGRATIONS.slice(0, 1));
  const sub = { name: 'projects/p1/subscriptions/old-sub', project: 'p1', topic: 'projects/p1/topics/old-topic' };
  await db.run("INSERT INTO pubsub_topics (name, project, body) VALUES (?, 'p1', ?)", [
    sub.topic,
    JSON.stringify({ name: sub.topic, project: 'p1', labels: {}, createTime: 0 }),
  ]);
  await db.run("INSERT INTO pubsub_subscriptions (id, name, project, topic, body) VALUES (7, ?, 'p1', ?, ?)", [
    sub.name,
    sub.topic,
    JSON.stringify({ ...sub, ackDeadlineSeconds: 10, messageRetentionMs: 600_000, labels: {}, createTime: 0 }),
  ]);
  await db.run(
    'INSERT INTO pubsub_backlog (id, sub_id, message_id, data, attributes, ordering_key, publish_time, visible_at) VALUES (8, 7, 3, ?, \'{"k":"v"}\', NULL, 5, 5)',
    [Buffer.from('kept')],
  );
  const store = await openSqlPubsubStore(db);
  const { leased } = await store.lease(sub.name, {
    max: 10,
    maxBytes: 1000,
    now: 10,
    deadlineMs: 1000,
    ordered: false,
  });
  assert.equal(leased.length, 1);
  assert.equal(Buffer.from(leased[0]?.message.data as Uint8Array).toString(), 'kept');
  assert.deepEqual(leased[0]?.message.attributes, { k: 'v' });
  assert.equal(leased[0]?.message.messageId, '3');
});

test('ack ids round-trip, and any other string is refused with ERR_PUBSUB_BAD_ACK_ID, never another error', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 52 }), fc.integer({ min: 1, max: 1_000_000 }), (deliveryId, attempt) => {
      assert.deepEqual(parseAckId(toAckId({ deliveryId, attempt })), { deliveryId, attempt });
    }),
  );
  fc.assert(
    fc.property(fc.string(), (text) => {
      try {
        const ref = parseAckId(text);
        assert.equal(toAckId(ref), text);
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'ERR_PUBSUB_BAD_ACK_ID');
      }
    }),
  );
});
