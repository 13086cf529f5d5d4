// The Pub/Sub domain types: topics, subscriptions and messages as the service and its stores see them.

export interface TopicRecord {
  /** `projects/{project}/topics/{topic}` */
  readonly name: string;
  readonly project: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Topic retention, stored and reported; Sealroom keeps backlog per subscription (no seek yet). */
  readonly messageRetentionMs?: number;
  readonly kmsKeyName?: string;
  readonly createTime: number;
}

export interface DeadLetterPolicy {
  readonly deadLetterTopic: string;
  /** 5–100 delivery attempts before the message moves to the dead-letter topic. */
  readonly maxDeliveryAttempts: number;
}

export interface RetryPolicy {
  readonly minimumBackoffMs: number;
  readonly maximumBackoffMs: number;
}

export interface SubscriptionRecord {
  /** `projects/{project}/subscriptions/{subscription}` */
  readonly name: string;
  readonly project: string;
  /** The topic's name, or `_deleted-topic_` once the topic was deleted (Google's detached marker). */
  readonly topic: string;
  readonly ackDeadlineSeconds: number;
  readonly retainAckedMessages: boolean;
  readonly messageRetentionMs: number;
  readonly enableMessageOrdering: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly deadLetterPolicy?: DeadLetterPolicy;
  readonly retryPolicy?: RetryPolicy;
  readonly expirationTtlMs?: number;
  readonly detached: boolean;
  readonly createTime: number;
}

export const DELETED_TOPIC = '_deleted-topic_';

/** A message as a publisher sends it, validated. */
export interface OutgoingMessage {
  readonly data: Uint8Array;
  readonly attributes: Readonly<Record<string, string>>;
  /** '' when the message has none. */
  readonly orderingKey: string;
}

/** A stored message: what subscribers receive. */
export interface PubsubMessage extends OutgoingMessage {
  readonly messageId: string;
  /** ms since the epoch. */
  readonly publishTime: number;
}

export interface ReceivedMessage {
  readonly ackId: string;
  readonly message: PubsubMessage;
  /** Deliveries so far, this one included (reported to clients only with a dead-letter policy). */
  readonly deliveryAttempt: number;
}

/** Bytes a message counts for in flow control and size limits: data, attribute keys and values, ordering key. */
export function messageSize(message: OutgoingMessage): number {
  let size = message.data.byteLength + Buffer.byteLength(message.orderingKey);
  for (const [k, v] of Object.entries(message.attributes)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  return size;
}
