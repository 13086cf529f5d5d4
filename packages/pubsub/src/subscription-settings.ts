// Subscription settings: from a request's spec to a validated record, and update masks applied to one.
import { CoreError } from '@sealroom/core';
import { PubsubError } from './errors.ts';
import {
  checkRetention,
  checkSubscriptionAckDeadline,
  DEFAULT_DELIVERY_ATTEMPTS,
  DEFAULT_MIN_BACKOFF_MS,
  DEFAULT_RETENTION_MS,
  MAX_BACKOFF_MS,
  MAX_DELIVERY_ATTEMPTS,
  MAX_SUBSCRIPTION_RETENTION_MS,
  MIN_DELIVERY_ATTEMPTS,
} from './limits.ts';
import type { DeadLetterPolicy, RetryPolicy, SubscriptionRecord } from './model.ts';
import { parseTopicName } from './names.ts';

export interface SubscriptionSpec {
  readonly topic: string;
  readonly ackDeadlineSeconds?: number;
  readonly retainAckedMessages?: boolean;
  readonly messageRetentionMs?: number;
  readonly enableMessageOrdering?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly deadLetterPolicy?: { readonly deadLetterTopic: string; readonly maxDeliveryAttempts?: number };
  readonly retryPolicy?: { readonly minimumBackoffMs?: number; readonly maximumBackoffMs?: number };
  readonly expirationTtlMs?: number;
  /** Names of settings the request set that Sealroom does not offer (push, filter, exactly-once, exports). */
  readonly unsupported?: readonly string[];
}

/** Subscription fields updateSubscription may change, by their update-mask paths. */
const SUBSCRIPTION_MASK_PATHS = new Set([
  'ack_deadline_seconds',
  'retain_acked_messages',
  'message_retention_duration',
  'labels',
  'dead_letter_policy',
  'retry_policy',
  'expiration_policy',
]);

type TopicExists = (name: string) => Promise<boolean>;

/** Builds a new subscription's record from the request, validating every setting. */
export async function toSubscriptionRecord(
  spec: SubscriptionSpec,
  base: Pick<SubscriptionRecord, 'name' | 'project' | 'topic' | 'createTime'>,
  topicExists: TopicExists,
): Promise<SubscriptionRecord> {
  rejectUnsupported(spec.unsupported);
  return {
    ...base,
    ackDeadlineSeconds: checkSubscriptionAckDeadline(spec.ackDeadlineSeconds ?? 0),
    retainAckedMessages: spec.retainAckedMessages ?? false,
    messageRetentionMs: retentionOf(spec),
    enableMessageOrdering: spec.enableMessageOrdering ?? false,
    labels: spec.labels ?? {},
    ...(await deadLetterOf(spec, topicExists)),
    ...retryPolicyOf(spec),
    ...(spec.expirationTtlMs !== undefined ? { expirationTtlMs: spec.expirationTtlMs } : {}),
    detached: false,
  };
}

/** Applies the fields an update mask names (proto or JSON spelling); other fields keep their values. */
export async function patchSubscription(
  current: SubscriptionRecord,
  spec: Partial<SubscriptionSpec>,
  mask: readonly string[],
  topicExists: TopicExists,
): Promise<SubscriptionRecord> {
  if (mask.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'The update_mask must not be empty.');
  rejectUnsupported(spec.unsupported);
  const full: SubscriptionSpec = { ...spec, topic: current.topic };
  const patch: Record<string, unknown> = {};
  for (const raw of mask) {
    const path = raw.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (!SUBSCRIPTION_MASK_PATHS.has(path)) {
      throw new CoreError(
        'ERR_INVALID_ARGUMENT',
        `Invalid update_mask provided in the UpdateSubscriptionRequest: '${raw}' cannot be updated.`,
      );
    }
    if (path === 'ack_deadline_seconds')
      patch.ackDeadlineSeconds = checkSubscriptionAckDeadline(spec.ackDeadlineSeconds ?? 0);
    if (path === 'retain_acked_messages') patch.retainAckedMessages = spec.retainAckedMessages ?? false;
    if (path === 'message_retention_duration') patch.messageRetentionMs = retentionOf(full);
    if (path === 'labels') patch.labels = spec.labels ?? {};
    if (path === 'dead_letter_policy')
      patch.deadLetterPolicy = (await deadLetterOf(full, topicExists)).deadLetterPolicy;
    if (path === 'retry_policy') patch.retryPolicy = retryPolicyOf(full).retryPolicy;
    if (path === 'expiration_policy') patch.expirationTtlMs = spec.expirationTtlMs;
  }
  return Object.fromEntries(
    Object.entries({ ...current, ...patch }).filter(([, v]) => v !== undefined),
  ) as unknown as SubscriptionRecord;
}

/** Exponential backoff after a nack when the subscription has a retry policy; otherwise immediate. */
export function nackBackoffMs(sub: SubscriptionRecord, attempt: number): number {
  const policy = sub.retryPolicy;
  if (!policy) return 0;
  return Math.min(policy.maximumBackoffMs, policy.minimumBackoffMs * 2 ** Math.max(0, attempt - 1));
}

function retentionOf(spec: SubscriptionSpec): number {
  return checkRetention(
    spec.messageRetentionMs ?? DEFAULT_RETENTION_MS,
    MAX_SUBSCRIPTION_RETENTION_MS,
    'message_retention_duration',
  );
}

async function deadLetterOf(
  spec: SubscriptionSpec,
  topicExists: TopicExists,
): Promise<{ deadLetterPolicy?: DeadLetterPolicy }> {
  const policy = spec.deadLetterPolicy;
  if (!policy || policy.deadLetterTopic === '') return {};
  const topic = parseTopicName(policy.deadLetterTopic, 'dead_letter_topic');
  if (!(await topicExists(topic.name))) {
    throw new PubsubError('ERR_PUBSUB_BAD_SETTING', `The dead-letter topic ${topic.name} does not exist.`);
  }
  const attempts = policy.maxDeliveryAttempts || DEFAULT_DELIVERY_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < MIN_DELIVERY_ATTEMPTS || attempts > MAX_DELIVERY_ATTEMPTS) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_SETTING',
      `Invalid max_delivery_attempts ${attempts}: it must be between ${MIN_DELIVERY_ATTEMPTS} and ${MAX_DELIVERY_ATTEMPTS}.`,
    );
  }
  return { deadLetterPolicy: { deadLetterTopic: topic.name, maxDeliveryAttempts: attempts } };
}

function retryPolicyOf(spec: SubscriptionSpec): { retryPolicy?: RetryPolicy } {
  if (!spec.retryPolicy) return {};
  const min = spec.retryPolicy.minimumBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
  const max = spec.retryPolicy.maximumBackoffMs ?? MAX_BACKOFF_MS;
  if (min < 0 || max > MAX_BACKOFF_MS || min > max) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_SETTING',
      'Invalid retry_policy: backoffs must satisfy 0 <= minimum <= maximum <= 600s.',
    );
  }
  return { retryPolicy: { minimumBackoffMs: min, maximumBackoffMs: max } };
}

function rejectUnsupported(settings: readonly string[] | undefined): void {
  if (settings && settings.length > 0) {
    throw new PubsubError(
      'ERR_PUBSUB_UNSUPPORTED_SETTING',
      `Sealroom Pub/Sub does not support: ${settings.join(', ')}.`,
    );
  }
}
