// The Pub/Sub domain: topics, subscriptions, publish, pull, acknowledge and leases; no transport here.
import type { Clock, Logger } from '@sealroom/core';
import { notFound, CoreError } from '@sealroom/core';
import type { Access, AccessControl } from './access.ts';
import { createPublishGroups } from './group-commit.ts';
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
import { parseProjectName, parseSubscriptionName, parseTopicName, shortId } from './names.ts';
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

/**
 * The Pub/Sub domain over its store, shared by the REST and gRPC front ends and the emulator port.
 *
 * @example
 * const pubsub = createPubsub({ store, access, clock, logger, wakeup: createWakeup() });
 * await pubsub.publish({ caller }, 'projects/p/topics/t', [{ data, attributes: {}, orderingKey: '' }]);
 */
export function createPubsub(options: PubsubServiceOptions) {
  const { store, clock, wakeup } = options;
  const guard = options.access;
  const logger = options.logger;
  const pullWaitMs = options.pullWaitMs ?? 1000;
  const leaseListeners = new Set<LeaseListener>();
  const groups =
    store.groupCommit === false
      ? {
          publish: (topic: string, messages: readonly OutgoingMessage[]) => store.publish(topic, messages, clock.now()),
        }
      : createPublishGroups(store, clock);

  const loadTopic = async (name: string): Promise<TopicRecord> => {
    const topic = await store.getTopic(name);
    if (!topic) throw resourceNotFound(name);
    return topic;
  };

  const loadSubscription = async (name: string): Promise<SubscriptionRecord> => {
    const sub = await store.getSubscription(name);
    if (!sub) throw resourceNotFound(name);
    return sub;
  };

  const topicExists = async (name: string) => (await store.getTopic(name)) !== undefined;

  const service = {
    store,
    clock,
    wakeup,

    onLeaseChange(listener: LeaseListener): () => void {
      leaseListeners.add(listener);
      return () => leaseListeners.delete(listener);
    },

    // Topics

    async createTopic(access: Access, name: string, spec: TopicSpec): Promise<TopicRecord> {
      const topic = parseTopicName(name);
      await guard.require(
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
        createTime: clock.now(),
      };
      if (!(await store.createTopic(record))) {
        throw new CoreError(
          'ERR_ALREADY_EXISTS',
          'Resource already exists in the project (resource=' + shortId(name) + ').',
        );
      }
      await guard.recordChange(access, `${SERVICE}.Publisher.CreateTopic`, topic.name);
      return record;
    },

    async getTopic(access: Access, name: string): Promise<TopicRecord> {
      const topic = parseTopicName(name);
      await guard.require(access, 'pubsub.topics.get', topic.name, `${SERVICE}.Publisher.GetTopic`);
      return loadTopic(topic.name);
    },

    async updateTopic(access: Access, name: string, spec: TopicSpec, mask: readonly string[]): Promise<TopicRecord> {
      const topic = parseTopicName(name);
      await guard.require(access, 'pubsub.topics.update', topic.name, `${SERVICE}.Publisher.UpdateTopic`);
      const current = await loadTopic(topic.name);
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
      await store.updateTopic(next);
      await guard.recordChange(access, `${SERVICE}.Publisher.UpdateTopic`, topic.name, { mask });
      return next;
    },

    async listTopics(access: Access, project: string, pageSize: number, pageToken: string): Promise<Page<TopicRecord>> {
      const id = parseProjectName(project);
      await guard.require(access, 'pubsub.topics.list', `projects/${id}`, `${SERVICE}.Publisher.ListTopics`);
      return store.listTopics(id, toPageSize(pageSize), pageToken);
    },

    async listTopicSubscriptions(
      access: Access,
      name: string,
      pageSize: number,
      pageToken: string,
    ): Promise<Page<string>> {
      const topic = parseTopicName(name);
      await guard.require(access, 'pubsub.topics.get', topic.name, `${SERVICE}.Publisher.ListTopicSubscriptions`);
      await loadTopic(topic.name);
      return store.listTopicSubscriptions(topic.name, toPageSize(pageSize), pageToken);
    },

    async deleteTopic(access: Access, name: string): Promise<void> {
      const topic = parseTopicName(name);
      await guard.require(access, 'pubsub.topics.delete', topic.name, `${SERVICE}.Publisher.DeleteTopic`);
      if (!(await store.deleteTopic(topic.name))) throw resourceNotFound(topic.name);
      await guard.recordChange(access, `${SERVICE}.Publisher.DeleteTopic`, topic.name);
    },

    /** Stores the batch durably and fans it out; resolves with server-assigned ids once committed. */
    async publish(access: Access, name: string, messages: readonly OutgoingMessage[]): Promise<readonly string[]> {
      const topic = parseTopicName(name);
      await guard.require(access, 'pubsub.topics.publish', topic.name, `${SERVICE}.Publisher.Publish`);
      checkBatch(messages, messages.map(messageSize));
      const result = await groups.publish(topic.name, messages);
      if (!result) throw resourceNotFound(topic.name);
      wakeup.notify(result.subscriptions);
      return result.messageIds;
    },

    // Subscriptions

    async createSubscription(access: Access, name: string, spec: SubscriptionSpec): Promise<SubscriptionRecord> {
      const sub = parseSubscriptionName(name);
      const topic = parseTopicName(spec.topic);
      const method = `${SERVICE}.Subscriber.CreateSubscription`;
      await guard.require(access, 'pubsub.subscriptions.create', `projects/${sub.project}`, method);
      await guard.require(access, 'pubsub.topics.attachSubscription', topic.name, method);
      await loadTopic(topic.name);
      const record = await toSubscriptionRecord(
        spec,
        { name: sub.name, project: sub.project, topic: topic.name, createTime: clock.now() },
        topicExists,
      );
      if (!(await store.createSubscription(record))) {
        throw new CoreError(
          'ERR_ALREADY_EXISTS',
          'Resource already exists in the project (resource=' + shortId(name) + ').',
        );
      }
      await guard.recordChange(access, method, sub.name, { topic: topic.name });
      return record;
    },

    async getSubscription(access: Access, name: string): Promise<SubscriptionRecord> {
      const sub = parseSubscriptionName(name);
      await guard.require(access, 'pubsub.subscriptions.get', sub.name, `${SERVICE}.Subscriber.GetSubscription`);
      return loadSubscription(sub.name);
    },

    async updateSubscription(
      access: Access,
      name: string,
      spec: Partial<SubscriptionSpec>,
      mask: readonly string[],
    ): Promise<SubscriptionRecord> {
      const sub = parseSubscriptionName(name);
      const method = `${SERVICE}.Subscriber.UpdateSubscription`;
      await guard.require(access, 'pubsub.subscriptions.update', sub.name, method);
      const current = await loadSubscription(sub.name);
      const next = await patchSubscription(current, spec, mask, topicExists);
      await store.updateSubscription(next);
      await guard.recordChange(access, method, sub.name, { mask });
      return next;
    },

    async listSubscriptions(
      access: Access,
      project: string,
      pageSize: number,
      pageToken: string,
    ): Promise<Page<SubscriptionRecord>> {
      const id = parseProjectName(project);
      await guard.require(
        access,
        'pubsub.subscriptions.list',
        `projects/${id}`,
        `${SERVICE}.Subscriber.ListSubscriptions`,
      );
      return store.listSubscriptions(id, toPageSize(pageSize), pageToken);
    },

    async deleteSubscription(access: Access, name: string): Promise<void> {
      const sub = parseSubscriptionName(name);
      const method = `${SERVICE}.Subscriber.DeleteSubscription`;
      await guard.require(access, 'pubsub.subscriptions.delete', sub.name, method);
      if (!(await store.deleteSubscription(sub.name))) throw resourceNotFound(sub.name);
      await guard.recordChange(access, method, sub.name);
    },

    // Delivery

    /** Checks that the caller may consume from the subscription and returns it. */
    async openForConsume(access: Access, name: string, method: string): Promise<SubscriptionRecord> {
      const sub = parseSubscriptionName(name, 'subscription');
      await guard.require(access, 'pubsub.subscriptions.consume', sub.name, `${SERVICE}.Subscriber.${method}`);
      return loadSubscription(sub.name);
    },

    async pull(
      access: Access,
      name: string,
      maxMessages: number,
      returnImmediately: boolean,
      signal?: AbortSignal,
    ): Promise<ReceivedMessage[]> {
      const sub = await service.openForConsume(access, name, 'Pull');
      const max = checkMaxPullMessages(maxMessages);
      let received = await service.leaseMessages(sub, max, sub.ackDeadlineSeconds * 1000);
      if (received.length === 0 && !returnImmediately) {
        await wakeup.wait(sub.name, pullWaitMs, signal);
        received = await service.leaseMessages(sub, max, sub.ackDeadlineSeconds * 1000);
      }
      return received;
    },

    /** Leases up to `max` messages for `deadlineMs` (used by Pull and StreamingPull). */
    async leaseMessages(
      sub: SubscriptionRecord,
      max: number,
      deadlineMs: number,
      maxBytes = MAX_RESPONSE_BYTES,
    ): Promise<ReceivedMessage[]> {
      if (sub.detached) return [];
      const result = await store.lease(sub.name, {
        max,
        maxBytes: Math.min(maxBytes, MAX_RESPONSE_BYTES),
        now: clock.now(),
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
        logger.info(
          { subscription: sub.name, count: result.deadLettered },
          'messages forwarded to the dead-letter topic',
        );
        wakeup.notify(result.wokenSubscriptions);
      }
      const reportAttempts = sub.deadLetterPolicy !== undefined;
      return result.leased.map((l: LeasedMessage) => ({
        ackId: l.ackId,
        message: l.message,
        deliveryAttempt: reportAttempts ? l.attempt : 0,
      }));
    },

    async acknowledge(access: Access, name: string, ackIds: readonly string[]): Promise<void> {
      const sub = await service.openForConsume(access, name, 'Acknowledge');
      await service.acknowledgeLeases(sub, ackIds);
    },

    async acknowledgeLeases(sub: SubscriptionRecord, ackIds: readonly string[]): Promise<void> {
      if (ackIds.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'No ack ids were provided.');
      const refs = ackIds.map((id) => store.parseAckId(id));
      await store.acknowledge(sub.name, refs, sub.retainAckedMessages);
      for (const listener of leaseListeners) listener(sub.name, ackIds, 'acked');
      // On an ordered subscription an ack makes the next message of its key deliverable.
      if (sub.enableMessageOrdering) wakeup.notify([sub.name]);
    },

    async modifyAckDeadline(access: Access, name: string, ackIds: readonly string[], seconds: number): Promise<void> {
      const sub = await service.openForConsume(access, name, 'ModifyAckDeadline');
      await service.modifyLeases(sub, ackIds, seconds);
    },

    /** Extends leases, or with 0 seconds nacks them (visible again at once, or after the retry backoff). */
    async modifyLeases(sub: SubscriptionRecord, ackIds: readonly string[], seconds: number): Promise<void> {
      checkModifyDeadline(seconds);
      if (ackIds.length === 0) throw new CoreError('ERR_INVALID_ARGUMENT', 'No ack ids were provided.');
      const refs = ackIds.map((id) => store.parseAckId(id));
      const now = clock.now();
      const visibleAt =
        seconds > 0 ? () => now + seconds * 1000 : (ref: LeaseRef) => now + nackBackoffMs(sub, ref.attempt);
      await store.modifyDeadline(sub.name, refs, visibleAt, seconds === 0);
      for (const listener of leaseListeners) listener(sub.name, ackIds, seconds * 1000);
      if (seconds === 0) wakeup.notify([sub.name]);
    },
  };
  return service;
}

export type PubsubService = ReturnType<typeof createPubsub>;

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
