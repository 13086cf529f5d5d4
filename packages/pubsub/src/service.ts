// The Pub/Sub domain: topics, subscriptions, publish, pull, acknowledge and leases; no transport here.
import type { Clock, Logger } from '@sealroom/core';
import { notFound, CoreError } from '@sealroom/core';
import type { Access, AccessControl } from './access.ts';
import { PubsubError } from './errors.ts';
import {
  checkBatch,
  checkMaxPullMessages,
  checkModifyDeadline,
  checkRetention,
  checkSubscriptionAckDeadline,
  DEFAULT_DELIVERY_ATTEMPTS,
  DEFAULT_MIN_BACKOFF_MS,
  DEFAULT_RETENTION_MS,
  MAX_BACKOFF_MS,
  MAX_DELIVERY_ATTEMPTS,
  MAX_SUBSCRIPTION_RETENTION_MS,
  MAX_TOPIC_RETENTION_MS,
  MIN_DELIVERY_ATTEMPTS,
} from './limits.ts';
import type {
  DeadLetterPolicy,
  OutgoingMessage,
  ReceivedMessage,
  RetryPolicy,
  SubscriptionRecord,
  TopicRecord,
} from './model.ts';
import { DELETED_TOPIC, messageSize } from './model.ts';
import { parseAckId, parseProjectName, parseSubscriptionName, parseTopicName, shortId, toAckId } from './names.ts';
import type { LeasedMessage, LeaseRef, Page, PubsubStore } from './store.ts';
import type { Wakeup } from './wakeup.ts';

const SERVICE = 'google.pubsub.v1';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface TopicSpec {
  readonly labels?: Readonly<Record<string, string>>;
  readonly messageRetentionMs?: number;
  readonly kmsKeyName?: string;
}

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

export interface PubsubServiceOptions {
  readonly store: PubsubStore;
  readonly access: AccessControl;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly wakeup: Wakeup;
  /** How long a Pull without returnImmediately waits for messages (default 1000 ms). */
  readonly pullWaitMs?: number;
}

/** Called for acks and deadline changes so streams release or extend their flow-control credit. */
export type LeaseListener = (subscription: string, ackIds: readonly string[], deadlineMs: number | 'acked') => void;

export class PubsubService {
  readonly store: PubsubStore;
  readonly clock: Clock;
  readonly wakeup: Wakeup;
  readonly #access: AccessControl;
  readonly #logger: Logger;
  readonly #pullWaitMs: number;
  readonly #leaseListeners = new Set<LeaseListener>();

  constructor(options: PubsubServiceOptions) {
    this.store = options.store;
    this.#access = options.access;
    this.clock = options.clock;
    this.#logger = options.logger;
    this.wakeup = options.wakeup;
    this.#pullWaitMs = options.pullWaitMs ?? 1000;
  }

  onLeaseChange(listener: LeaseListener): () => void {
    this.#leaseListeners.add(listener);
    return () => this.#leaseListeners.delete(listener);
  }

  // Topics

  async createTopic(access: Access, name: string, spec: TopicSpec): Promise<TopicRecord> {
    const topic = parseTopicName(name);
    await this.#access.require(
      access,
      'pubsub.topics.create',
      `projects/${topic.project}`,
      `${SERVICE}.Publisher.CreateTopic`,
    );
    const record: TopicRecord = {
      name: topic.name,
      project: topic.project,
      labels: spec.labels ?? {},
      ...(spec.messageRetentionMs !== undefined
        ? {
            messageRetentionMs: checkRetention(
              spec.messageRetentionMs,
              MAX_TOPIC_RETENTION_MS,
              'message_retention_duration',
            ),
          }
        : {}),
      ...(spec.kmsKeyName ? { kmsKeyName: spec.kmsKeyName } : {}),
      createTime: this.clock.now(),
    };
    if (!(await this.store.createTopic(record))) {
      throw new CoreError(
        'ERR_ALREADY_EXISTS',
        'Resource already exists in the project (resource=' + shortId(name) + ').',
      );
    }
    await this.#access.recordChange(access, `${SERVICE}.Publisher.CreateTopic`, topic.name);
    return record;
  }

  async getTopic(access: Access, name: string): Promise<TopicRecord> {
    const topic = parseTopicName(name);
    await this.#access.require(access, 'pubsub.topics.get', topic.name, `${SERVICE}.Publisher.GetTopic`);
    return this.#loadTopic(topic.name);
  }

  async updateTopic(access: Access, name: string, spec: TopicSpec, mask: readonly string[]): Promise<TopicRecord> {
    const topic = parseTopicName(name);
    await this.#access.require(access, 'pubsub.topics.update', topic.name, `${SERVICE}.Publisher.UpdateTopic`);
    const current = await this.#loadTopic(topic.name);
    if (mask.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'The update_mask must not be empty.');
    let next: TopicRecord = current;
    for (const path of mask) {
      if (path === 'labels') next = { ...next, labels: spec.labels ?? {} };
      else if (path === 'message_retention_duration' || path === 'messageRetentionDuration') {
        const { messageRetentionMs: _, ...rest } = next;
        next =
          spec.messageRetentionMs === undefined
            ? rest
            : {
                ...rest,
                messageRetentionMs: checkRetention(
                  spec.messageRetentionMs,
                  MAX_TOPIC_RETENTION_MS,
                  'message_retention_duration',
                ),
              };
      } else {
        throw new CoreError(
          'ERR_INVALID_ARGUMENT',
          `Invalid update_mask provided in the UpdateTopicRequest: '${path}' is not a known Topic field.`,
        );
      }
    }
    await this.store.updateTopic(next);
    await this.#access.recordChange(access, `${SERVICE}.Publisher.UpdateTopic`, topic.name, { mask });
    return next;
  }

  async listTopics(access: Access, project: string, pageSize: number, pageToken: string): Promise<Page<TopicRecord>> {
    const id = parseProjectName(project);
    await this.#access.require(access, 'pubsub.topics.list', `projects/${id}`, `${SERVICE}.Publisher.ListTopics`);
    return this.store.listTopics(id, toPageSize(pageSize), pageToken);
  }

  async listTopicSubscriptions(
    access: Access,
    name: string,
    pageSize: number,
    pageToken: string,
  ): Promise<Page<string>> {
    const topic = parseTopicName(name);
    await this.#access.require(access, 'pubsub.topics.get', topic.name, `${SERVICE}.Publisher.ListTopicSubscriptions`);
    await this.#loadTopic(topic.name);
    return this.store.listTopicSubscriptions(topic.name, toPageSize(pageSize), pageToken);
  }

  async deleteTopic(access: Access, name: string): Promise<void> {
    const topic = parseTopicName(name);
    await this.#access.require(access, 'pubsub.topics.delete', topic.name, `${SERVICE}.Publisher.DeleteTopic`);
    if (!(await this.store.deleteTopic(topic.name))) throw resourceNotFound(topic.name);
    await this.#access.recordChange(access, `${SERVICE}.Publisher.DeleteTopic`, topic.name);
  }

  /** Stores the batch durably and fans it out; resolves with server-assigned ids once committed. */
  async publish(access: Access, name: string, messages: readonly OutgoingMessage[]): Promise<readonly string[]> {
    const topic = parseTopicName(name);
    await this.#access.require(access, 'pubsub.topics.publish', topic.name, `${SERVICE}.Publisher.Publish`);
    checkBatch(messages, messages.map(messageSize));
    const result = await this.store.publish(topic.name, messages, this.clock.now());
    if (!result) throw resourceNotFound(topic.name);
    this.wakeup.notify(result.subscriptions);
    return result.messageIds;
  }

  // Subscriptions

  async createSubscription(access: Access, name: string, spec: SubscriptionSpec): Promise<SubscriptionRecord> {
    const sub = parseSubscriptionName(name);
    const topic = parseTopicName(spec.topic);
    const method = `${SERVICE}.Subscriber.CreateSubscription`;
    await this.#access.require(access, 'pubsub.subscriptions.create', `projects/${sub.project}`, method);
    await this.#access.require(access, 'pubsub.topics.attachSubscription', topic.name, method);
    rejectUnsupported(spec.unsupported);
    await this.#loadTopic(topic.name);
    const record: SubscriptionRecord = {
      name: sub.name,
      project: sub.project,
      topic: topic.name,
      ackDeadlineSeconds: checkSubscriptionAckDeadline(spec.ackDeadlineSeconds ?? 0),
      retainAckedMessages: spec.retainAckedMessages ?? false,
      messageRetentionMs: checkRetention(
        spec.messageRetentionMs ?? DEFAULT_RETENTION_MS,
        MAX_SUBSCRIPTION_RETENTION_MS,
        'message_retention_duration',
      ),
      enableMessageOrdering: spec.enableMessageOrdering ?? false,
      labels: spec.labels ?? {},
      ...(await this.#deadLetter(spec)),
      ...retryPolicyOf(spec),
      ...(spec.expirationTtlMs !== undefined ? { expirationTtlMs: spec.expirationTtlMs } : {}),
      detached: false,
      createTime: this.clock.now(),
    };
    if (!(await this.store.createSubscription(record))) {
      throw new CoreError(
        'ERR_ALREADY_EXISTS',
        'Resource already exists in the project (resource=' + shortId(name) + ').',
      );
    }
    await this.#access.recordChange(access, method, sub.name, { topic: topic.name });
    return record;
  }

  async getSubscription(access: Access, name: string): Promise<SubscriptionRecord> {
    const sub = parseSubscriptionName(name);
    await this.#access.require(access, 'pubsub.subscriptions.get', sub.name, `${SERVICE}.Subscriber.GetSubscription`);
    return this.#loadSubscription(sub.name);
  }

  async updateSubscription(
    access: Access,
    name: string,
    spec: Partial<SubscriptionSpec>,
    mask: readonly string[],
  ): Promise<SubscriptionRecord> {
    const sub = parseSubscriptionName(name);
    const method = `${SERVICE}.Subscriber.UpdateSubscription`;
    await this.#access.require(access, 'pubsub.subscriptions.update', sub.name, method);
    const current = await this.#loadSubscription(sub.name);
    if (mask.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'The update_mask must not be empty.');
    rejectUnsupported(spec.unsupported);
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
      if (path === 'message_retention_duration') {
        patch.messageRetentionMs = checkRetention(
          spec.messageRetentionMs ?? DEFAULT_RETENTION_MS,
          MAX_SUBSCRIPTION_RETENTION_MS,
          'message_retention_duration',
        );
      }
      if (path === 'labels') patch.labels = spec.labels ?? {};
      if (path === 'dead_letter_policy')
        patch.deadLetterPolicy = (await this.#deadLetter({ topic: current.topic, ...spec })).deadLetterPolicy;
      if (path === 'retry_policy') patch.retryPolicy = retryPolicyOf({ topic: current.topic, ...spec }).retryPolicy;
      if (path === 'expiration_policy') patch.expirationTtlMs = spec.expirationTtlMs;
    }
    const next = Object.fromEntries(
      Object.entries({ ...current, ...patch }).filter(([, v]) => v !== undefined),
    ) as unknown as SubscriptionRecord;
    await this.store.updateSubscription(next);
    await this.#access.recordChange(access, method, sub.name, { mask });
    return next;
  }

  async listSubscriptions(
    access: Access,
    project: string,
    pageSize: number,
    pageToken: string,
  ): Promise<Page<SubscriptionRecord>> {
    const id = parseProjectName(project);
    await this.#access.require(
      access,
      'pubsub.subscriptions.list',
      `projects/${id}`,
      `${SERVICE}.Subscriber.ListSubscriptions`,
    );
    return this.store.listSubscriptions(id, toPageSize(pageSize), pageToken);
  }

  async deleteSubscription(access: Access, name: string): Promise<void> {
    const sub = parseSubscriptionName(name);
    const method = `${SERVICE}.Subscriber.DeleteSubscription`;
    await this.#access.require(access, 'pubsub.subscriptions.delete', sub.name, method);
    if (!(await this.store.deleteSubscription(sub.name))) throw resourceNotFound(sub.name);
    await this.#access.recordChange(access, method, sub.name);
  }

  // Delivery

  /** Checks that the caller may consume from the subscription and returns it. */
  async openForConsume(access: Access, name: string, method: string): Promise<SubscriptionRecord> {
    const sub = parseSubscriptionName(name, 'subscription');
    await this.#access.require(access, 'pubsub.subscriptions.consume', sub.name, `${SERVICE}.Subscriber.${method}`);
    return this.#loadSubscription(sub.name);
  }

  async pull(
    access: Access,
    name: string,
    maxMessages: number,
    returnImmediately: boolean,
    signal?: AbortSignal,
  ): Promise<ReceivedMessage[]> {
    const sub = await this.openForConsume(access, name, 'Pull');
    const max = checkMaxPullMessages(maxMessages);
    let received = await this.leaseMessages(sub, max, sub.ackDeadlineSeconds * 1000);
    if (received.length === 0 && !returnImmediately) {
      await this.wakeup.wait(sub.name, this.#pullWaitMs, signal);
      received = await this.leaseMessages(sub, max, sub.ackDeadlineSeconds * 1000);
    }
    return received;
  }

  /** Leases up to `max` messages for `deadlineMs` (used by Pull and StreamingPull). */
  async leaseMessages(sub: SubscriptionRecord, max: number, deadlineMs: number): Promise<ReceivedMessage[]> {
    if (sub.detached) return [];
    const result = await this.store.lease(sub.name, {
      max,
      now: this.clock.now(),
      deadlineMs,
      ordered: sub.enableMessageOrdering,
      ...(sub.deadLetterPolicy
        ? {
            deadLetter: {
              topic: sub.deadLetterPolicy.deadLetterTopic,
              maxDeliveryAttempts: sub.deadLetterPolicy.maxDeliveryAttempts,
              subscription: sub.name,
            },
          }
        : {}),
    });
    if (result.deadLettered > 0) {
      this.#logger.info(
        { subscription: sub.name, count: result.deadLettered },
        'messages forwarded to the dead-letter topic',
      );
      this.wakeup.notify(result.wokenSubscriptions);
    }
    const reportAttempts = sub.deadLetterPolicy !== undefined;
    return result.leased.map((l: LeasedMessage) => ({
      ackId: toAckId(l),
      message: l.message,
      deliveryAttempt: reportAttempts ? l.attempt : 0,
    }));
  }

  async acknowledge(access: Access, name: string, ackIds: readonly string[]): Promise<void> {
    const sub = await this.openForConsume(access, name, 'Acknowledge');
    await this.acknowledgeLeases(sub, ackIds);
  }

  async acknowledgeLeases(sub: SubscriptionRecord, ackIds: readonly string[]): Promise<void> {
    if (ackIds.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'No ack ids were provided.');
    const refs = ackIds.map(parseAckId);
    await this.store.acknowledge(sub.name, refs, sub.retainAckedMessages);
    for (const listener of this.#leaseListeners) listener(sub.name, ackIds, 'acked');
  }

  async modifyAckDeadline(access: Access, name: string, ackIds: readonly string[], seconds: number): Promise<void> {
    const sub = await this.openForConsume(access, name, 'ModifyAckDeadline');
    await this.modifyLeases(sub, ackIds, seconds);
  }

  /** Extends leases, or with 0 seconds nacks them (visible again at once, or after the retry backoff). */
  async modifyLeases(sub: SubscriptionRecord, ackIds: readonly string[], seconds: number): Promise<void> {
    checkModifyDeadline(seconds);
    if (ackIds.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'No ack ids were provided.');
    const refs = ackIds.map(parseAckId);
    const now = this.clock.now();
    const visibleAt =
      seconds > 0 ? () => now + seconds * 1000 : (ref: LeaseRef) => now + nackBackoffMs(sub, ref.attempt);
    await this.store.modifyDeadline(sub.name, refs, visibleAt);
    for (const listener of this.#leaseListeners) listener(sub.name, ackIds, seconds * 1000);
    if (seconds === 0) this.wakeup.notify([sub.name]);
  }

  async #loadTopic(name: string): Promise<TopicRecord> {
    const topic = await this.store.getTopic(name);
    if (!topic) throw resourceNotFound(name);
    return topic;
  }

  async #loadSubscription(name: string): Promise<SubscriptionRecord> {
    const sub = await this.store.getSubscription(name);
    if (!sub) throw resourceNotFound(name);
    return sub;
  }

  async #deadLetter(spec: SubscriptionSpec): Promise<{ deadLetterPolicy?: DeadLetterPolicy }> {
    const policy = spec.deadLetterPolicy;
    if (!policy || policy.deadLetterTopic === '') return {};
    const topic = parseTopicName(policy.deadLetterTopic, 'dead_letter_topic');
    if (!(await this.store.getTopic(topic.name))) {
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

/** Exponential backoff after a nack when the subscription has a retry policy; otherwise immediate. */
function nackBackoffMs(sub: SubscriptionRecord, attempt: number): number {
  const policy = sub.retryPolicy;
  if (!policy) return 0;
  return Math.min(policy.maximumBackoffMs, policy.minimumBackoffMs * 2 ** Math.max(0, attempt - 1));
}

function rejectUnsupported(settings: readonly string[] | undefined): void {
  if (settings && settings.length > 0) {
    throw new PubsubError(
      'ERR_PUBSUB_UNSUPPORTED_SETTING',
      `Sealroom Pub/Sub does not support: ${settings.join(', ')}.`,
    );
  }
}

function toPageSize(size: number): number {
  if (!Number.isInteger(size) || size < 0)
    throw new CoreError('ERR_INVALID_ARGUMENT', 'page_size must be a non-negative integer.');
  return size === 0 ? DEFAULT_PAGE_SIZE : Math.min(size, MAX_PAGE_SIZE);
}

/** Pub/Sub's NOT_FOUND wording, given only to callers allowed to know. */
function resourceNotFound(name: string): CoreError {
  return notFound(`Resource not found (resource=${shortId(name)}).`);
}

export { DELETED_TOPIC };
