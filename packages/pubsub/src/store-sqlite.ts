// PubsubStore over SqlDatabase: one backlog row per (subscription, message), batched writes, leases by deadline.
import type { SqlDatabase } from '@sealroom/core';
import type { OutgoingMessage, SubscriptionRecord, TopicRecord } from './model.ts';
import { DELETED_TOPIC } from './model.ts';
import { parseAckId, type SqlLeaseRef } from './names.ts';
import {
  allocateIds,
  type DeliveryRow,
  deleteRows,
  forEachChunk,
  fromPageToken,
  LEASE_UNORDERED,
  leaseOrdered,
  PURGE_BATCH,
  publishInTx,
  toDeadLetter,
  toLeased,
  toPage,
  withPayloads,
} from './store-sqlite-backlog.ts';
import type { LeaseOptions, LeaseRef, LeaseResult, Page, PublishBatch, PublishResult, PubsubStore } from './store.ts';

/**
 * Schema. Each subscription keeps its own copy of a message (`pubsub_deliveries` for the delivery state,
 * `pubsub_payloads` for the bytes, same id), so acknowledging deletes by id and needs no reference
 * counting. Ids come from `pubsub_sequence` (no AUTOINCREMENT, so the SQL stays portable); ids grow with
 * publish order, which makes `ORDER BY id` oldest-first.
 */
export const PUBSUB_MIGRATIONS: readonly string[] = [
  `CREATE TABLE pubsub_topics (name TEXT PRIMARY KEY, project TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX pubsub_topics_project ON pubsub_topics (project, name);
CREATE TABLE pubsub_subscriptions (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, project TEXT NOT NULL, topic TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX pubsub_subscriptions_project ON pubsub_subscriptions (project, name);
CREATE INDEX pubsub_subscriptions_topic ON pubsub_subscriptions (topic, name);
CREATE TABLE pubsub_sequence (id INTEGER PRIMARY KEY, next_id INTEGER NOT NULL);
INSERT INTO pubsub_sequence (id, next_id) VALUES (1, 1);
CREATE TABLE pubsub_backlog (id INTEGER PRIMARY KEY, sub_id INTEGER NOT NULL, message_id INTEGER NOT NULL, data BLOB NOT NULL, attributes TEXT, ordering_key TEXT, publish_time INTEGER NOT NULL, visible_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX pubsub_backlog_queue ON pubsub_backlog (sub_id, acked, id, visible_at);
CREATE INDEX pubsub_backlog_keys ON pubsub_backlog (sub_id, ordering_key, id) WHERE ordering_key IS NOT NULL`,
  // Delivery state and payload apart: a lease or deadline change then rewrites small rows, not 1 KiB ones.
  `CREATE TABLE pubsub_deliveries (id INTEGER PRIMARY KEY, sub_id INTEGER NOT NULL, message_id INTEGER NOT NULL, ordering_key TEXT, publish_time INTEGER NOT NULL, visible_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX pubsub_deliveries_queue ON pubsub_deliveries (sub_id, acked, id, visible_at);
CREATE INDEX pubsub_deliveries_keys ON pubsub_deliveries (sub_id, ordering_key, id) WHERE ordering_key IS NOT NULL;
CREATE TABLE pubsub_payloads (id INTEGER PRIMARY KEY, data BLOB NOT NULL, attributes TEXT);
INSERT INTO pubsub_deliveries (id, sub_id, message_id, ordering_key, publish_time, visible_at, attempts, acked) SELECT id, sub_id, message_id, ordering_key, publish_time, visible_at, attempts, acked FROM pubsub_backlog;
INSERT INTO pubsub_payloads (id, data, attributes) SELECT id, data, attributes FROM pubsub_backlog;
DROP TABLE pubsub_backlog`,
  // Message sizes, so a lease can stop at a byte budget (flow control, response size).
  'ALTER TABLE pubsub_deliveries ADD COLUMN size INTEGER NOT NULL DEFAULT 0',
];

/** The notification channel on which a replica says a subscription changed. */
const SUBSCRIPTION_CHANNEL = 'sealroom_pubsub_subscriptions';

/** Opens the Pub/Sub tables in `db` (applying their migrations): the PubsubStore of a server. */
export async function openSqlPubsubStore(db: SqlDatabase) {
  await db.migrate('pubsub', PUBSUB_MIGRATIONS);
  /** Subscription name → row id; subscriptions are only created and deleted through this store. */
  const subIds = new Map<string, number>();
  /**
   * Subscription records by name, kept in step by this store's writes and, through the database's
   * notifications, by the other replicas' (a name, or '' and MISSED_CHANGES for every one).
   */
  const subRecords = new Map<string, SubscriptionRecord>();
  db.notifications.subscribe(SUBSCRIPTION_CHANNEL, (name) => {
    if (name === '' || !subRecords.has(name)) subRecords.clear();
    subRecords.delete(name);
    subIds.delete(name);
  });
  const changed = (name: string) => {
    db.notifications.publish(SUBSCRIPTION_CHANNEL, name).catch(() => {
      // The other replicas' caches then catch up when their notification connection reconnects.
    });
  };

  /** Ids grow with publish time, so expired rows are a prefix of the queue: delete it in batches. */
  const purgeHead = async (subId: number, acked: number, cutoff: number): Promise<number> => {
    let purged = 0;
    for (;;) {
      const head = await db.all<{ id: number; publish_time: number }>(
        'SELECT id, publish_time FROM pubsub_deliveries WHERE sub_id = ? AND acked = ? ORDER BY id LIMIT ?',
        [subId, acked, PURGE_BATCH],
      );
      const expired: number[] = [];
      for (const row of head) {
        if (row.publish_time >= cutoff) break;
        expired.push(row.id);
      }
      if (expired.length === 0) return purged;
      await db.transaction((tx) => forEachChunk(expired, (ids, marks) => deleteRows(tx, ids, marks)));
      purged += expired.length;
      if (expired.length < head.length || head.length < PURGE_BATCH) return purged;
    }
  };

  const subIdOf = async (name: string): Promise<number | undefined> => {
    const cached = subIds.get(name);
    if (cached !== undefined) return cached;
    const row = await db.get<{ id: number }>('SELECT id FROM pubsub_subscriptions WHERE name = ?', [name]);
    if (row) subIds.set(name, row.id);
    return row?.id;
  };

  const store = {
    parseAckId,

    async createTopic(topic: TopicRecord): Promise<boolean> {
      const result = await db.run(
        'INSERT INTO pubsub_topics (name, project, body) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
        [topic.name, topic.project, JSON.stringify(topic)],
      );
      return result.changes === 1;
    },

    async getTopic(name: string): Promise<TopicRecord | undefined> {
      const row = await db.get<{ body: string }>('SELECT body FROM pubsub_topics WHERE name = ?', [name]);
      return row ? (JSON.parse(row.body) as TopicRecord) : undefined;
    },

    async listTopics(project: string, pageSize: number, pageToken: string): Promise<Page<TopicRecord>> {
      const rows = await db.all<{ name: string; body: string }>(
        'SELECT name, body FROM pubsub_topics WHERE project = ? AND name > ? ORDER BY name LIMIT ?',
        [project, fromPageToken(pageToken), pageSize + 1],
      );
      return toPage(rows, pageSize, (r) => JSON.parse(r.body) as TopicRecord);
    },

    async updateTopic(topic: TopicRecord): Promise<void> {
      await db.run('UPDATE pubsub_topics SET body = ? WHERE name = ?', [JSON.stringify(topic), topic.name]);
    },

    async deleteTopic(name: string): Promise<boolean> {
      return db
        .transaction(async (tx) => {
          const deleted = await tx.run('DELETE FROM pubsub_topics WHERE name = ?', [name]);
          if (deleted.changes === 0) return false;
          subRecords.clear();
          const subs = await tx.all<{ name: string; body: string }>(
            'SELECT name, body FROM pubsub_subscriptions WHERE topic = ?',
            [name],
          );
          for (const sub of subs) {
            const record = { ...(JSON.parse(sub.body) as SubscriptionRecord), topic: DELETED_TOPIC, detached: true };
            await tx.run('UPDATE pubsub_subscriptions SET topic = ?, body = ? WHERE name = ?', [
              DELETED_TOPIC,
              JSON.stringify(record),
              sub.name,
            ]);
          }
          return true;
        })
        .then((deleted) => {
          if (deleted) changed('');
          return deleted;
        });
    },

    async createSubscription(subscription: SubscriptionRecord): Promise<boolean> {
      return db.transaction(async (tx) => {
        const exists = await tx.get('SELECT id FROM pubsub_subscriptions WHERE name = ?', [subscription.name]);
        if (exists) return false;
        const id = await allocateIds(tx, 1);
        await tx.run('INSERT INTO pubsub_subscriptions (id, name, project, topic, body) VALUES (?, ?, ?, ?, ?)', [
          id,
          subscription.name,
          subscription.project,
          subscription.topic,
          JSON.stringify(subscription),
        ]);
        return true;
      });
    },

    async getSubscription(name: string): Promise<SubscriptionRecord | undefined> {
      const cached = subRecords.get(name);
      if (cached) return cached;
      const row = await db.get<{ body: string }>('SELECT body FROM pubsub_subscriptions WHERE name = ?', [name]);
      const record = row ? (JSON.parse(row.body) as SubscriptionRecord) : undefined;
      if (record) subRecords.set(name, record);
      return record;
    },

    async listSubscriptions(project: string, pageSize: number, pageToken: string): Promise<Page<SubscriptionRecord>> {
      const rows = await db.all<{ name: string; body: string }>(
        'SELECT name, body FROM pubsub_subscriptions WHERE project = ? AND name > ? ORDER BY name LIMIT ?',
        [project, fromPageToken(pageToken), pageSize + 1],
      );
      return toPage(rows, pageSize, (r) => JSON.parse(r.body) as SubscriptionRecord);
    },

    async listTopicSubscriptions(topic: string, pageSize: number, pageToken: string): Promise<Page<string>> {
      const rows = await db.all<{ name: string }>(
        'SELECT name FROM pubsub_subscriptions WHERE topic = ? AND name > ? ORDER BY name LIMIT ?',
        [topic, fromPageToken(pageToken), pageSize + 1],
      );
      return toPage(rows, pageSize, (r) => r.name);
    },

    async updateSubscription(subscription: SubscriptionRecord): Promise<void> {
      subRecords.delete(subscription.name);
      await db.run('UPDATE pubsub_subscriptions SET body = ? WHERE name = ?', [
        JSON.stringify(subscription),
        subscription.name,
      ]);
      changed(subscription.name);
    },

    async deleteSubscription(name: string): Promise<boolean> {
      const deleted = await db.transaction(async (tx) => {
        const row = await tx.get<{ id: number }>('SELECT id FROM pubsub_subscriptions WHERE name = ?', [name]);
        if (!row) return false;
        await tx.run('DELETE FROM pubsub_payloads WHERE id IN (SELECT id FROM pubsub_deliveries WHERE sub_id = ?)', [
          row.id,
        ]);
        await tx.run('DELETE FROM pubsub_deliveries WHERE sub_id = ?', [row.id]);
        await tx.run('DELETE FROM pubsub_subscriptions WHERE id = ?', [row.id]);
        return true;
      });
      subIds.delete(name);
      subRecords.delete(name);
      if (deleted) changed(name);
      return deleted;
    },

    async publish(
      topic: string,
      messages: readonly OutgoingMessage[],
      publishTime: number,
    ): Promise<PublishResult | undefined> {
      return db.transaction((tx) => publishInTx(tx, topic, messages, publishTime));
    },

    async publishMany(batches: readonly PublishBatch[], publishTime: number): Promise<(PublishResult | undefined)[]> {
      return db.transaction(async (tx) => {
        const results: (PublishResult | undefined)[] = [];
        for (const batch of batches) results.push(await publishInTx(tx, batch.topic, batch.messages, publishTime));
        return results;
      });
    },

    async lease(subscription: string, options: LeaseOptions): Promise<LeaseResult> {
      const subId = await subIdOf(subscription);
      if (subId === undefined) return { leased: [], deadLettered: 0, wokenSubscriptions: [] };
      return db.transaction(async (tx) => {
        const states = options.ordered
          ? await leaseOrdered(tx, subId, options)
          : await tx.all<DeliveryRow>(LEASE_UNORDERED, [
              options.now + options.deadlineMs,
              subId,
              options.now,
              options.max,
              options.maxBytes,
            ]);
        const rows = await withPayloads(tx, states);
        const policy = options.deadLetter;
        if (!policy) return { leased: rows.map(toLeased), deadLettered: 0, wokenSubscriptions: [] };
        // A row whose attempt count passed the maximum has failed maxDeliveryAttempts deliveries: forward it.
        const dead = rows.filter((r) => r.attempts > policy.maxDeliveryAttempts);
        if (dead.length === 0) return { leased: rows.map(toLeased), deadLettered: 0, wokenSubscriptions: [] };
        const forwarded = dead.map((r) => toDeadLetter(r, policy.subscription));
        const published = await publishInTx(tx, policy.topic, forwarded, options.now);
        // A deleted dead-letter topic keeps the messages here, delivered as before.
        if (!published) return { leased: rows.map(toLeased), deadLettered: 0, wokenSubscriptions: [] };
        const live = rows.filter((r) => r.attempts <= policy.maxDeliveryAttempts);
        await forEachChunk(
          dead.map((r) => r.id),
          (ids, marks) => deleteRows(tx, ids, marks),
        );
        return { leased: live.map(toLeased), deadLettered: dead.length, wokenSubscriptions: published.subscriptions };
      });
    },

    async acknowledge(subscription: string, refs: readonly LeaseRef[], retain: boolean): Promise<number> {
      const subId = await subIdOf(subscription);
      if (subId === undefined || refs.length === 0) return 0;
      // The refs come from this store's parseAckId.
      const ids = (refs as readonly SqlLeaseRef[]).map((r) => r.deliveryId);
      return db.transaction(async (tx) => {
        let changed = 0;
        await forEachChunk(ids, async (chunk, marks) => {
          if (retain) {
            const sql = `UPDATE pubsub_deliveries SET acked = 1 WHERE sub_id = ? AND acked = 0 AND id IN (${marks})`;
            changed += (await tx.run(sql, [subId, ...chunk])).changes;
            return;
          }
          const deleted = await tx.all<{ id: number }>(
            `DELETE FROM pubsub_deliveries WHERE sub_id = ? AND acked = 0 AND id IN (${marks}) RETURNING id`,
            [subId, ...chunk],
          );
          changed += deleted.length;
          await forEachChunk(
            deleted.map((r) => r.id),
            (ids, idMarks) => tx.run(`DELETE FROM pubsub_payloads WHERE id IN (${idMarks})`, ids),
          );
        });
        return changed;
      });
    },

    async modifyDeadline(
      subscription: string,
      refs: readonly LeaseRef[],
      visibleAt: (ref: LeaseRef) => number,
    ): Promise<number> {
      const subId = await subIdOf(subscription);
      if (subId === undefined || refs.length === 0) return 0;
      // Group by (attempt, deadline): a client extends whole batches at once, so this is a few statements.
      const groups = new Map<string, { attempt: number; visibleAt: number; ids: number[] }>();
      for (const ref of refs as readonly SqlLeaseRef[]) {
        const at = visibleAt(ref);
        const key = `${ref.attempt}:${at}`;
        const group = groups.get(key) ?? { attempt: ref.attempt, visibleAt: at, ids: [] as number[] };
        group.ids.push(ref.deliveryId);
        groups.set(key, group);
      }
      return db.transaction(async (tx) => {
        let changed = 0;
        for (const group of groups.values()) {
          await forEachChunk(group.ids, async (ids, marks) => {
            const result = await tx.run(
              `UPDATE pubsub_deliveries SET visible_at = ? WHERE sub_id = ? AND attempts = ? AND acked = 0 AND id IN (${marks})`,
              [group.visibleAt, subId, group.attempt, ...ids],
            );
            changed += result.changes;
          });
        }
        return changed;
      });
    },

    async purgeExpired(now: number): Promise<number> {
      const subs = await db.all<{ id: number; body: string }>('SELECT id, body FROM pubsub_subscriptions');
      let purged = 0;
      for (const sub of subs) {
        const cutoff = now - (JSON.parse(sub.body) as SubscriptionRecord).messageRetentionMs;
        for (const acked of [0, 1]) purged += await purgeHead(sub.id, acked, cutoff);
      }
      return purged;
    },

    async countBacklog(subscription: string): Promise<number> {
      const subId = await subIdOf(subscription);
      if (subId === undefined) return 0;
      const row = await db.get<{ n: number }>(
        'SELECT COUNT(*) AS n FROM pubsub_deliveries WHERE sub_id = ? AND acked = 0',
        [subId],
      );
      return Number(row?.n ?? 0);
    },
  } satisfies PubsubStore;
  return store;
}

/** The SQL store: the PubsubStore methods, and what tests inspect (`countBacklog`). */
export type SqlPubsubStore = Awaited<ReturnType<typeof openSqlPubsubStore>>;
