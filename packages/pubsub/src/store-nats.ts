// PubsubStore on NATS JetStream: a topic's messages in a stream, each subscription a durable pull consumer.
import { CoreError, type SqlDatabase } from '@sealroom/core';
import {
  AckPolicy,
  type ConsumerConfig,
  connect,
  createInbox,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
} from 'nats';
// The library's own decoding of a delivery (its reply subject carries sequence numbers and attempt).
import { toJsMsg } from 'nats/lib/jetstream/jsmsg.js';
import { PubsubError } from './errors.ts';
import { MAX_SUBSCRIPTION_RETENTION_MS, MAX_TOPIC_RETENTION_MS } from './limits.ts';
import type { OutgoingMessage, SubscriptionRecord, TopicRecord } from './model.ts';
import { messageSize } from './model.ts';
import {
  ackSubjectOf,
  consumerName,
  fromJsMsg,
  type NatsLeaseRef,
  newNatsId,
  ORDER_PARTITIONS,
  parseNatsAckId,
  partitionOf,
  streamName,
  streamSubjects,
  subjectOf,
  toHeaders,
  toNatsAckId,
  wakeSubjectOf,
} from './nats-codec.ts';
import { toDeadLetterMessage } from './store-sqlite-backlog.ts';
import { createNatsLeaseBook } from './nats-leases.ts';
import { type NatsPublishItem, publishBatch } from './nats-publish.ts';
import { openSqlPubsubStore } from './store-sqlite.ts';
import type {
  LeasedMessage,
  LeaseOptions,
  LeaseRef,
  LeaseResult,
  PublishBatch,
  PublishResult,
  PubsubStore,
} from './store.ts';

/** Which stream holds a topic's messages, and which consumers are a subscription's (kept beside the SQL records). */
export const PUBSUB_NATS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE pubsub_nats_topics (topic TEXT PRIMARY KEY, stream TEXT NOT NULL);
CREATE TABLE pubsub_nats_subscriptions (subscription TEXT PRIMARY KEY, stream TEXT NOT NULL, consumer TEXT NOT NULL, ordered INTEGER NOT NULL)`,
];

const MS_TO_NS = 1_000_000;
/** Unacknowledged deliveries a subscription may have at once across every replica and stream. */
const MAX_ACK_PENDING = 100_000;
/** How long a pull waits on a key partition whose one message is in flight. */
const KEYED_PULL_EXPIRY_MS = 100;

export interface NatsPubsubStoreOptions {
  /** `nats://host:port` (several comma-separated for a cluster). */
  readonly url: string;
  /** Topic and subscription records, and the stream and consumer each maps to. */
  readonly db: SqlDatabase;
  /** Shown in the server's connection list. */
  readonly name?: string;
  /**
   * Multiplies every deadline handed to JetStream (ack waits, nack delays): tests run 10-second deadlines in a
   * fraction of that. 1 outside tests.
   */
  readonly timeScale?: number;
}

interface Binding {
  readonly stream: string;
  readonly streamId: string;
  readonly consumerId: string;
  readonly ordered: boolean;
}

const unavailable = (error: unknown): CoreError =>
  new CoreError('ERR_UNAVAILABLE', 'The Pub/Sub message store (NATS JetStream) is unreachable; retry.', {
    cause: error,
  });

/** Connects to NATS and opens the store; metadata goes to `db`, messages and delivery state to JetStream. */
export async function openNatsPubsubStore(options: NatsPubsubStoreOptions) {
  const sql = await openSqlPubsubStore(options.db);
  await options.db.migrate('pubsub-nats', PUBSUB_NATS_MIGRATIONS);
  const db = options.db;
  const scale = options.timeScale ?? 1;
  const nc: NatsConnection = await connect({
    servers: options.url.split(',').map((s) => s.trim().replace(/^nats:\/\//, '')),
    name: options.name ?? 'sealroom-pubsub',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  }).catch((error: unknown) => {
    throw new CoreError('ERR_CONFIG', `Cannot reach the Pub/Sub backend ${options.url}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  /** Streams this store created: tests drop them when they end. */
  const created = new Set<string>();
  /** The deliveries this process leased: an older ack id cannot move a newer lease; covered extensions stay here. */
  const leases = createNatsLeaseBook();

  const topicStream = async (topic: string): Promise<string | undefined> =>
    (await db.get<{ stream: string }>('SELECT stream FROM pubsub_nats_topics WHERE topic = ?', [topic]))?.stream;

  const bindings = new Map<string, Binding>();
  const bindingOf = async (subscription: string): Promise<Binding | undefined> => {
    const cached = bindings.get(subscription);
    if (cached) return cached;
    const row = await db.get<{ stream: string; consumer: string; ordered: number }>(
      'SELECT stream, consumer, ordered FROM pubsub_nats_subscriptions WHERE subscription = ?',
      [subscription],
    );
    if (!row) return undefined;
    const binding = {
      stream: streamName(row.stream),
      streamId: row.stream,
      consumerId: row.consumer,
      ordered: Number(row.ordered) === 1,
    };
    bindings.set(subscription, binding);
    return binding;
  };

  const consumersOf = (b: Binding): { name: string; partition: number }[] =>
    b.ordered
      ? Array.from({ length: ORDER_PARTITIONS + 1 }, (_, p) => ({ name: consumerName(b.consumerId, p), partition: p }))
      : [{ name: consumerName(b.consumerId, undefined), partition: 0 }];

  /** Deletes a stream once no topic publishes to it and no subscription reads it. */
  const dropStreamIfUnused = async (streamId: string): Promise<void> => {
    const topic = await db.get('SELECT topic FROM pubsub_nats_topics WHERE stream = ?', [streamId]);
    const sub = await db.get('SELECT subscription FROM pubsub_nats_subscriptions WHERE stream = ?', [streamId]);
    if (topic || sub) return;
    await jsm.streams.delete(streamName(streamId)).catch(() => false);
    created.delete(streamId);
  };

  /** The subject and headers of one message, refused here when the NATS server would refuse it. */
  const toPublishItem = (streamId: string, message: OutgoingMessage): NatsPublishItem => {
    const h = toHeaders(message);
    const bytes = message.data.byteLength + (h ? h.toString().length : 0);
    if (bytes > maxPayload) {
      throw new PubsubError(
        'ERR_PUBSUB_MESSAGE_TOO_LARGE',
        `A message of ${bytes} bytes is larger than the NATS server's max_payload (${maxPayload} bytes).`,
      );
    }
    return {
      subject: subjectOf(streamId, partitionOf(message.orderingKey)),
      data: message.data,
      ...(h ? { headers: h } : {}),
    };
  };

  const ackWaitMs = (sub: SubscriptionRecord) => Math.max(1, Math.round(sub.ackDeadlineSeconds * 1000 * scale));
  const ackWaitNs = (sub: SubscriptionRecord) => ackWaitMs(sub) * MS_TO_NS;

  const createConsumers = async (b: Binding, sub: SubscriptionRecord): Promise<void> => {
    for (const c of consumersOf(b)) {
      const config: Partial<ConsumerConfig> = {
        durable_name: c.name,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ackWaitNs(sub),
        deliver_policy: DeliverPolicy.New,
        filter_subject: b.ordered ? subjectOf(b.streamId, c.partition) : streamSubjects(b.streamId),
        max_deliver: -1,
        // One message of a partition in flight at a time is what keeps an ordering key in publish order.
        max_ack_pending: b.ordered && c.partition > 0 ? 1 : MAX_ACK_PENDING,
      };
      await jsm.consumers.add(b.stream, config);
    }
  };

  /** Sends `-NAK` (with a delay: the new deadline) or `+ACK` for deliveries of one subscription. */
  const sendToConsumers = (b: Binding, refs: readonly NatsLeaseRef[], body: (ref: NatsLeaseRef) => string): number => {
    let sent = 0;
    for (const ref of refs) {
      if (ref.consumerId !== b.consumerId) continue; // an ack id of another subscription
      if (!b.ordered && ref.partition !== 0) continue;
      nc.publish(
        ackSubjectOf(b.stream, consumerName(b.consumerId, b.ordered ? ref.partition : undefined), ref),
        body(ref),
      );
      sent++;
    }
    return sent;
  };

  const fetchFrom = async (b: Binding, consumer: string, batch: number, keyed: boolean): Promise<JsMsg[]> => {
    try {
      return await pull(nc, b.stream, consumer, batch, keyed ? KEYED_PULL_EXPIRY_MS : 0);
    } catch (error) {
      if (/consumer not found|stream not found/i.test(String((error as Error).message))) {
        // Deleted, perhaps recreated, through another replica: read the binding again next time.
        for (const [name, cached] of bindings) if (cached === b) bindings.delete(name);
        return [];
      }
      throw unavailable(error);
    }
  };

  /** Each message is stored once JetStream answered its publish; the stream's clock gives its publish time. */
  const publish = async (topic: string, messages: readonly OutgoingMessage[]): Promise<PublishResult | undefined> => {
    const streamId = await topicStream(topic);
    if (streamId === undefined) return undefined;
    const result = await publishBatch(
      nc,
      messages.map((m) => toPublishItem(streamId, m)),
    );
    if ('failure' in result) throw unavailable(result.failure);
    nc.publish(wakeSubjectOf(streamId));
    return { messageIds: result.seqs.map(String), subscriptions: [] };
  };

  const store = {
    // Each message is its own JetStream publish: nothing to gain from holding publishes back to group them.
    groupCommit: false,
    parseAckId: parseNatsAckId,

    createTopic: async (topic: TopicRecord): Promise<boolean> => {
      if (!(await sql.createTopic(topic))) return false;
      const streamId = newNatsId();
      try {
        const retentionMs = Math.max(MAX_SUBSCRIPTION_RETENTION_MS, topic.messageRetentionMs ?? 0);
        await jsm.streams.add({
          name: streamName(streamId),
          subjects: [streamSubjects(streamId)],
          // A message stays while a subscription has not acknowledged it, and at most the longest retention.
          retention: RetentionPolicy.Interest,
          storage: StorageType.File,
          max_age: Math.min(retentionMs, MAX_TOPIC_RETENTION_MS) * MS_TO_NS,
        });
        created.add(streamId);
        await db.run('INSERT INTO pubsub_nats_topics (topic, stream) VALUES (?, ?)', [topic.name, streamId]);
      } catch (error) {
        await sql.deleteTopic(topic.name);
        await jsm.streams.delete(streamName(streamId)).catch(() => false);
        throw unavailable(error);
      }
      return true;
    },
    getTopic: sql.getTopic,
    listTopics: sql.listTopics,
    updateTopic: sql.updateTopic,

    deleteTopic: async (name: string): Promise<boolean> => {
      const streamId = await topicStream(name);
      if (!(await sql.deleteTopic(name))) return false;
      if (streamId === undefined) return true;
      // Detached subscriptions keep reading what the stream holds; the stream goes with the last of them.
      await db.run('DELETE FROM pubsub_nats_topics WHERE topic = ?', [name]);
      await dropStreamIfUnused(streamId);
      return true;
    },

    createSubscription: async (subscription: SubscriptionRecord): Promise<boolean> => {
      const streamId = await topicStream(subscription.topic);
      if (streamId === undefined) return false;
      if (!(await sql.createSubscription(subscription))) return false;
      const binding: Binding = {
        stream: streamName(streamId),
        streamId,
        consumerId: newNatsId(),
        ordered: subscription.enableMessageOrdering,
      };
      try {
        await createConsumers(binding, subscription);
        await db.run(
          'INSERT INTO pubsub_nats_subscriptions (subscription, stream, consumer, ordered) VALUES (?, ?, ?, ?)',
          [subscription.name, streamId, binding.consumerId, binding.ordered ? 1 : 0],
        );
      } catch (error) {
        await sql.deleteSubscription(subscription.name);
        for (const c of consumersOf(binding)) await jsm.consumers.delete(binding.stream, c.name).catch(() => false);
        throw unavailable(error);
      }
      return true;
    },
    getSubscription: sql.getSubscription,
    listSubscriptions: sql.listSubscriptions,
    listTopicSubscriptions: sql.listTopicSubscriptions,

    updateSubscription: async (subscription: SubscriptionRecord): Promise<void> => {
      const before = await sql.getSubscription(subscription.name);
      await sql.updateSubscription(subscription);
      const b = await bindingOf(subscription.name);
      if (!b || before?.ackDeadlineSeconds === subscription.ackDeadlineSeconds) return;
      try {
        for (const c of consumersOf(b))
          await jsm.consumers.update(b.stream, c.name, { ack_wait: ackWaitNs(subscription) });
      } catch (error) {
        throw unavailable(error);
      }
    },

    deleteSubscription: async (name: string): Promise<boolean> => {
      const b = await bindingOf(name);
      if (!(await sql.deleteSubscription(name))) return false;
      bindings.delete(name);
      if (!b) return true;
      await db.run('DELETE FROM pubsub_nats_subscriptions WHERE subscription = ?', [name]);
      for (const c of consumersOf(b)) await jsm.consumers.delete(b.stream, c.name).catch(() => false);
      await dropStreamIfUnused(b.streamId);
      return true;
    },

    publish,

    publishMany: async (batches: readonly PublishBatch[]): Promise<(PublishResult | undefined)[]> =>
      Promise.all(batches.map((b) => publish(b.topic, b.messages))),

    lease: async (subscription: string, options: LeaseOptions): Promise<LeaseResult> => {
      const b = await bindingOf(subscription);
      const sub = await sql.getSubscription(subscription);
      if (!b || !sub) return { leased: [], deadLettered: 0, wokenSubscriptions: [] };
      const fetched: { m: JsMsg; ref: NatsLeaseRef }[] = [];
      const take = (partition: number, messages: JsMsg[]) => {
        for (const m of messages) {
          const ref = {
            consumerId: b.consumerId,
            partition,
            streamSeq: m.seq,
            consumerSeq: m.info.deliverySequence,
            attempt: m.info.redeliveryCount,
          };
          fetched.push({ m, ref });
        }
      };
      const consumers = consumersOf(b);
      // Every delivery of this lease starts its ack wait after the pull went out.
      const pulledAt = Date.now();
      if (b.ordered) {
        // Key partitions first, one message each and all at once: JetStream holds a pull on a partition whose
        // one message is in flight until the pull expires, so they are asked in parallel with a short expiry.
        const keyed = consumers.filter((c) => c.partition > 0).slice(0, options.max);
        const results = await Promise.all(keyed.map((c) => fetchFrom(b, c.name, 1, true)));
        for (const [i, c] of keyed.entries()) take(c.partition, results[i] ?? []);
      }
      const unkeyed = consumers[0] as { name: string; partition: number };
      const room = options.max - fetched.length;
      if (room > 0) take(0, await fetchFrom(b, unkeyed.name, room, false));
      const leased: LeasedMessage[] = [];
      const release: NatsLeaseRef[] = [];
      const drop: NatsLeaseRef[] = [];
      let deadLettered = 0;
      let bytes = 0;
      const cutoff = Date.now() - sub.messageRetentionMs;
      for (const { m, ref } of fetched) {
        const message = fromJsMsg(m);
        if (message.publishTime < cutoff) {
          drop.push(ref); // past the subscription's retention
          continue;
        }
        const policy = options.deadLetter;
        if (policy && ref.attempt > policy.maxDeliveryAttempts) {
          const forwarded = await publish(policy.topic, [
            toDeadLetterMessage(message, ref.attempt, policy.subscription),
          ]);
          if (forwarded) {
            drop.push(ref);
            deadLettered++;
            continue;
          }
        }
        if (leased.length > 0 && bytes >= options.maxBytes) {
          release.push(ref); // over the byte budget: back to the backlog at once
          continue;
        }
        bytes += messageSize(message);
        leases.leased(ref, pulledAt, ackWaitMs(sub));
        leased.push({ ackId: toNatsAckId(ref), attempt: ref.attempt, message });
      }
      sendToConsumers(b, drop, () => '+TERM');
      sendToConsumers(b, release, () => '-NAK');
      // The consumer's ack wait is the subscription's deadline. A longer one (a stream's own deadline) is set per
      // delivery; a shorter one is left at the ack wait: the lease outlasts what was asked, never falls short.
      const deadlineMs = Math.round(options.deadlineMs * scale);
      if (deadlineMs > ackWaitMs(sub) && leased.length > 0) {
        const refs = leased.map((l) => parseNatsAckId(l.ackId));
        for (const ref of refs) leases.leased(ref, pulledAt, 0);
        sendToConsumers(b, refs, () => nakWithDelay(deadlineMs));
      }
      return { leased, deadLettered, wokenSubscriptions: [] };
    },

    acknowledge: async (subscription: string, refs: readonly LeaseRef[]): Promise<number> => {
      const b = await bindingOf(subscription);
      if (!b) return 0;
      const natsRefs = refs as readonly NatsLeaseRef[]; // from this store's parseAckId
      const sent = sendToConsumers(b, natsRefs, () => '+ACK');
      for (const ref of natsRefs) leases.forget(ref);
      if (b.ordered) nc.publish(wakeSubjectOf(b.streamId));
      // The acks are on the server once flush returns; a replica lost after that cannot lose them.
      await nc.flush().catch((error: unknown) => {
        throw unavailable(error);
      });
      return sent;
    },

    modifyDeadline: async (
      subscription: string,
      refs: readonly LeaseRef[],
      visibleAt: (ref: LeaseRef) => number,
      nack = false,
    ): Promise<number> => {
      const b = await bindingOf(subscription);
      const sub = await sql.getSubscription(subscription);
      if (!b || !sub) return 0;
      const now = Date.now();
      const send: NatsLeaseRef[] = [];
      let covered = 0;
      for (const ref of refs as readonly NatsLeaseRef[]) {
        if (ref.consumerId !== b.consumerId) continue; // an ack id of another subscription
        const delayMs = Math.round((visibleAt(ref) - now) * scale);
        // Clients extend every lease as it arrives (the Node.js client asks for its own ack deadline): an
        // extension the ack wait already covers changes nothing and is not sent to JetStream.
        const verdict = leases.judge(ref, now, delayMs, nack, ackWaitMs(sub));
        if (verdict === 'stale') continue;
        if (verdict === 'covered') {
          covered++;
          continue;
        }
        send.push(ref);
      }
      // An extension up to the ack wait restarts it (`+WPI`, cheap for the server); a longer one, and a nack with
      // its backoff, is a `-NAK` with a delay, which moves the delivery's deadline to now + delay.
      const sent = sendToConsumers(b, send, (ref) => {
        const delayMs = Math.round((visibleAt(ref) - now) * scale);
        return !nack && delayMs > 0 && delayMs <= ackWaitMs(sub) ? '+WPI' : nakWithDelay(delayMs);
      });
      if (nack) nc.publish(wakeSubjectOf(b.streamId));
      if (sent > 0 || nack) {
        await nc.flush().catch((error: unknown) => {
          throw unavailable(error);
        });
      }
      return sent + covered;
    },

    /** JetStream drops messages past the stream's age; shorter subscription retentions apply at delivery. */
    purgeExpired: async (): Promise<number> => 0,

    countBacklog: async (subscription: string): Promise<number> => {
      const b = await bindingOf(subscription);
      if (!b) return 0;
      let total = 0;
      for (const c of consumersOf(b)) {
        const info = await jsm.consumers.info(b.stream, c.name);
        total += info.num_pending + info.num_ack_pending;
      }
      return total;
    },

    /** The wake subject of a subscription's stream (publishes, acks on ordered subscriptions and nacks send to it). */
    wakeSubject: async (subscription: string): Promise<string | undefined> => {
      const b = await bindingOf(subscription);
      return b ? wakeSubjectOf(b.streamId) : undefined;
    },

    connection: nc,

    /** Deletes every stream this store created (tests), then closes the connection. */
    dropCreatedStreams: async (): Promise<void> => {
      for (const id of created) await jsm.streams.delete(streamName(id)).catch(() => false);
      created.clear();
    },

    close: async (): Promise<void> => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  } satisfies PubsubStore & Record<string, unknown>;
  return store;
}

/** How long a finished pull still listens for deliveries that crossed its end, to hand them back at once. */
const STRAGGLER_MS = 5_000;
/** A pull that neither filled nor heard JetStream's end of it (a lost status) gives up after this. */
const PULL_TIMEOUT_MS = 5_000;

/**
 * One pull request (JetStream's CONSUMER.MSG.NEXT) of up to `batch` messages, collected until the batch is
 * full or JetStream's status message ends the request. The client library's `fetch` stops its iterator when a
 * delivery says nothing more is pending and drops whatever arrives after, and each dropped delivery then
 * waited out its whole ack wait before anyone saw it again; here a delivery that arrives after the pull ended
 * is nacked at once, so it goes back to the backlog instead.
 */
function pull(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  batch: number,
  expiresMs: number,
): Promise<JsMsg[]> {
  return new Promise((resolve, reject) => {
    const out: JsMsg[] = [];
    let done = false;
    const inbox = createInbox();
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      setTimeout(() => sub.unsubscribe(), STRAGGLER_MS).unref();
      if (error) reject(error);
      else resolve(out);
    };
    const sub = nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error) return finish(error);
        const code = msg.headers?.code ?? 0;
        if (msg.data.length === 0 && code > 0) {
          // 404 no messages, 408 request expired, 409 the request or the consumer ended: the pull is over.
          if (code === 409 && /consumer (deleted|not found)|stream/i.test(msg.headers?.description ?? '')) {
            return finish(new Error(`consumer not found: ${msg.headers?.description}`));
          }
          if (code !== 100) finish();
          return;
        }
        if (done) {
          if (msg.reply) nc.publish(msg.reply, '-NAK');
          return;
        }
        out.push(toJsMsg(msg));
        if (out.length >= batch) finish();
      },
    });
    const timer = setTimeout(() => finish(), Math.max(PULL_TIMEOUT_MS, expiresMs * 2));
    const request = expiresMs > 0 ? { batch, expires: expiresMs * MS_TO_NS } : { batch, no_wait: true };
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(request), { reply: inbox });
  });
}

function nakWithDelay(delayMs: number): string {
  return delayMs <= 0 ? '-NAK' : `-NAK ${JSON.stringify({ delay: delayMs * MS_TO_NS })}`;
}

export type NatsPubsubStore = Awaited<ReturnType<typeof openNatsPubsubStore>>;
