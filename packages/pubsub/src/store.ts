// The storage interface the Pub/Sub service needs: the SQL store and the NATS JetStream store implement it.
import type { OutgoingMessage, PubsubMessage, SubscriptionRecord, TopicRecord } from './model.ts';

/** One delivery of one message on one subscription, as the store hands it out under a lease. */
export interface LeasedMessage {
  /** The opaque handle a client acknowledges or extends this delivery with (the store's own format). */
  readonly ackId: string;
  readonly message: PubsubMessage;
  /** Deliveries so far, this one included. */
  readonly attempt: number;
}

/**
 * A reference to one lease, decoded from an ack id by the store that issued it. The service reads only the
 * attempt; each store keeps its own fields beside it.
 */
export interface LeaseRef {
  readonly attempt: number;
}

export interface LeaseOptions {
  readonly max: number;
  /** Byte budget: messages are leased while the bytes before each are under it (so at least one). */
  readonly maxBytes: number;
  readonly now: number;
  readonly deadlineMs: number;
  /** Ordered subscriptions get at most one outstanding message per ordering key, the oldest. */
  readonly ordered: boolean;
  /** Messages leased again after this many attempts move to the dead-letter topic instead. */
  readonly deadLetter?: { readonly topic: string; readonly maxDeliveryAttempts: number; readonly subscription: string };
}

export interface LeaseResult {
  readonly leased: readonly LeasedMessage[];
  /** Subscriptions of the dead-letter topic that received messages (to wake their consumers). */
  readonly deadLettered: number;
  readonly wokenSubscriptions: readonly string[];
}

export interface PublishResult {
  readonly messageIds: readonly string[];
  /** Names of the subscriptions that received the messages. */
  readonly subscriptions: readonly string[];
}

export interface PublishBatch {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

export interface PubsubStore {
  /**
   * False when concurrent publishes should go to the store as they come rather than be grouped into one
   * transaction (a store without transactions gains nothing from waiting).
   */
  readonly groupCommit?: boolean;
  /** Decodes an ack id this store issued; anything else fails with ERR_PUBSUB_BAD_ACK_ID. */
  parseAckId(ackId: unknown): LeaseRef;

  createTopic(topic: TopicRecord): Promise<boolean>;
  getTopic(name: string): Promise<TopicRecord | undefined>;
  listTopics(project: string, pageSize: number, pageToken: string): Promise<Page<TopicRecord>>;
  updateTopic(topic: TopicRecord): Promise<void>;
  /** Deletes the topic and detaches its subscriptions; false when it did not exist. */
  deleteTopic(name: string): Promise<boolean>;

  createSubscription(subscription: SubscriptionRecord): Promise<boolean>;
  getSubscription(name: string): Promise<SubscriptionRecord | undefined>;
  listSubscriptions(project: string, pageSize: number, pageToken: string): Promise<Page<SubscriptionRecord>>;
  listTopicSubscriptions(topic: string, pageSize: number, pageToken: string): Promise<Page<string>>;
  updateSubscription(subscription: SubscriptionRecord): Promise<void>;
  /** Deletes the subscription and its backlog; false when it did not exist. */
  deleteSubscription(name: string): Promise<boolean>;

  /**
   * Durably stores the messages and fans them out to every subscription of the topic, in one atomic
   * step: when it resolves, the messages survive a crash; when it rejects, none was stored. Resolves
   * undefined (storing nothing) when the topic does not exist.
   */
  publish(topic: string, messages: readonly OutgoingMessage[], publishTime: number): Promise<PublishResult | undefined>;
  /** Several publishes in one atomic step (group commit); one result per batch, in order. */
  publishMany(batches: readonly PublishBatch[], publishTime: number): Promise<(PublishResult | undefined)[]>;
  /** Leases up to `max` visible messages for `deadlineMs`, oldest first. */
  lease(subscription: string, options: LeaseOptions): Promise<LeaseResult>;
  /** Acknowledges deliveries (deleted, or kept as acked when the subscription retains them); returns how many. */
  acknowledge(subscription: string, refs: readonly LeaseRef[], retain: boolean): Promise<number>;
  /**
   * Sets each current lease's deadline to `visibleAt` (now, or the retry backoff, for a nack: `nack` true);
   * stale leases are ignored.
   */
  modifyDeadline(
    subscription: string,
    refs: readonly LeaseRef[],
    visibleAt: (ref: LeaseRef) => number,
    nack?: boolean,
  ): Promise<number>;
  /** Drops messages older than each subscription's retention; returns how many. */
  purgeExpired(now: number): Promise<number>;
  /** Unacknowledged messages held for the subscription. */
  countBacklog(subscription: string): Promise<number>;
}
