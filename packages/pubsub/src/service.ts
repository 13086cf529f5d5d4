// The Pub/Sub domain: topics, subscriptions, publish, pull, acknowledge and leases; no transport here.
import type { Clock, Logger } from '@sealroom/core';
import { notFound, CoreError } from '@sealroom/core';
import type { Access, AccessControl } from './access.ts';
import { PublishGroups } from './group-commit.ts';
import {
  checkBatch,
  checkMaxPullMessages,
  checkModifyDeadline,
  checkRetention,
  MAX_RESPONSE_BYTES,
  MAX_TOPIC_RETENTION_MS,
} from './limits.ts';
import type { OutgoingMessage, ReceivedMessage, SubscriptionRecord, TopicRecord } from './model.ts';
import { DELETED_TOPIC, messageSize } from './model.ts';
import { parseAckId, parseProjectName, parseSubscriptionName, parseTopicName, shortId, toAckId } from './names.ts';
import type { LeasedMessage, LeaseRef, Page, PubsubStore } from './store.ts';
import {
  nackBackoffMs,
  patchSubscription,
  type SubscriptionSpec,
  toSubscriptionRecord,
} from './subscription-settings.ts';
import type { Wakeup } from './wakeup.ts';

const SERVICE = 'google.pubsub.v1';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface TopicSpec {
  readonly labels?: Readonly<Record<string, string>>;
  readonly messageRetentionMs?: number;
  readonly kmsKeyName?: string;
}

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
  readonly #groups: PublishGroups;

  constructor(options: PubsubServiceOptions) {
    this.store = options.store;
    this.#access = options.access;
    this.clock = options.clock;
    this.#logger = options.logger;
    this.wakeup = options.wakeup;
    this.#pullWaitMs = options.pullWaitMs ?? 1000;
    this.#groups = new PublishGroups(options.store, options.clock);
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
    const result = await this.#groups.publish(topic.name, messages);
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
    await this.#loadTopic(topic.name);
    const record = await toSubscriptionRecord(
      spec,
      { name: sub.name, project: sub.project, topic: topic.name, createTime: this.clock.now() },
      this.#topicExists,
    );
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
    const next = await patchSubscription(current, spec, mask, this.#topicExists);
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
  async leaseMessages(
    sub: SubscriptionRecord,
    max: number,
    deadlineMs: number,
    maxBytes = MAX_RESPONSE_BYTES,
  ): Promise<ReceivedMessage[]> {
    if (sub.detached) return [];
    const result = await this.store.lease(sub.name, {
      max,
      maxBytes: Math.min(maxBytes, MAX_RESPONSE_BYTES),
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
    // On an ordered subscription an ack makes the next message of its key deliverable.
    if (sub.enableMessageOrdering) this.wakeup.notify([sub.name]);
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

  readonly #topicExists = async (name: string) => (await this.store.getTopic(name)) !== undefined;
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
export type { SubscriptionSpec };
