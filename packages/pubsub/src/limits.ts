// Google's documented Pub/Sub limits, and the checks that turn outside input into valid domain values.
import { invalidArgument } from '@sealroom/core';
import { PubsubError } from './errors.ts';
import type { OutgoingMessage } from './model.ts';

export const MAX_PUBLISH_REQUEST_BYTES = 10 * 1000 * 1000;
export const MAX_MESSAGES_PER_PUBLISH = 1000;
export const MAX_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_KEY_BYTES = 256;
export const MAX_ATTRIBUTE_VALUE_BYTES = 1024;
export const MAX_ORDERING_KEY_BYTES = 1024;
export const MIN_ACK_DEADLINE_SECONDS = 10;
export const MAX_ACK_DEADLINE_SECONDS = 600;
export const DEFAULT_ACK_DEADLINE_SECONDS = 10;
export const MIN_RETENTION_MS = 10 * 60 * 1000;
export const MAX_SUBSCRIPTION_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const MAX_TOPIC_RETENTION_MS = 31 * 24 * 3600 * 1000;
export const DEFAULT_RETENTION_MS = MAX_SUBSCRIPTION_RETENTION_MS;
export const MIN_DELIVERY_ATTEMPTS = 5;
export const MAX_DELIVERY_ATTEMPTS = 100;
export const DEFAULT_DELIVERY_ATTEMPTS = 5;
export const MAX_BACKOFF_MS = 600 * 1000;
export const DEFAULT_MIN_BACKOFF_MS = 10 * 1000;
export const MAX_PULL_MESSAGES = 1000;
/**
 * Bytes one pull or stream response carries at most, plus the message that crosses it: with messages of
 * up to 10 MB a response stays under the gRPC kit's 20 MiB message limit.
 */
export const MAX_RESPONSE_BYTES = 10 * 1000 * 1000;

/** Topic and subscription ids: a letter, then 2–254 of letters, digits and `-_.~+%`; never `goog…`. */
const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export function checkPubsubId(id: string, what: 'topic' | 'subscription'): string {
  if (!RESOURCE_ID.test(id) || id.toLowerCase().startsWith('goog')) {
    throw invalidArgument(
      `Invalid ${what} id '${id.slice(0, 300)}': it must start with a letter, be 3–255 characters of letters, digits and -_.~+%, and not start with "goog".`,
    );
  }
  return id;
}

/** Validates one message of a publish request (Google's order: emptiness, attributes, ordering key). */
export function checkMessage(message: OutgoingMessage, index: number): void {
  const keys = Object.keys(message.attributes);
  if (message.data.byteLength === 0 && keys.length === 0) {
    throw new PubsubError(
      'ERR_PUBSUB_EMPTY_MESSAGE',
      `Some messages contained no data and no attribute field (message index ${index}).`,
    );
  }
  if (keys.length > MAX_ATTRIBUTES) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_ATTRIBUTE',
      `Message ${index} has ${keys.length} attributes; the maximum is ${MAX_ATTRIBUTES}.`,
    );
  }
  for (const key of keys) {
    const keyBytes = Buffer.byteLength(key);
    if (keyBytes === 0 || keyBytes > MAX_ATTRIBUTE_KEY_BYTES) {
      throw new PubsubError(
        'ERR_PUBSUB_BAD_ATTRIBUTE',
        `Message ${index} has an attribute key of ${keyBytes} bytes; keys must be 1–${MAX_ATTRIBUTE_KEY_BYTES} bytes.`,
      );
    }
    if (key.toLowerCase().startsWith('goog')) {
      throw new PubsubError(
        'ERR_PUBSUB_BAD_ATTRIBUTE',
        `Message ${index} has the attribute key '${key}'; keys starting with "goog" are reserved.`,
      );
    }
    const valueBytes = Buffer.byteLength(message.attributes[key] as string);
    if (valueBytes > MAX_ATTRIBUTE_VALUE_BYTES) {
      throw new PubsubError(
        'ERR_PUBSUB_BAD_ATTRIBUTE',
        `Message ${index} has a value of ${valueBytes} bytes for attribute '${key}'; the maximum is ${MAX_ATTRIBUTE_VALUE_BYTES}.`,
      );
    }
  }
  const orderingKeyBytes = Buffer.byteLength(message.orderingKey);
  if (orderingKeyBytes > MAX_ORDERING_KEY_BYTES) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_ORDERING_KEY',
      `Message ${index} has an ordering key of ${orderingKeyBytes} bytes; the maximum is ${MAX_ORDERING_KEY_BYTES}.`,
    );
  }
}

/** Validates a whole batch: count, then total size, then each message. */
export function checkBatch(messages: readonly OutgoingMessage[], sizes: readonly number[]): void {
  if (messages.length === 0) {
    throw new PubsubError('ERR_PUBSUB_EMPTY_MESSAGE', 'The request contains no messages.');
  }
  if (messages.length > MAX_MESSAGES_PER_PUBLISH) {
    throw new PubsubError(
      'ERR_PUBSUB_TOO_MANY_MESSAGES',
      `The value for message_count is too large. You passed ${messages.length} in the request, but the maximum value is ${MAX_MESSAGES_PER_PUBLISH}.`,
    );
  }
  let total = 0;
  for (const size of sizes) total += size;
  if (total > MAX_PUBLISH_REQUEST_BYTES) {
    throw new PubsubError(
      'ERR_PUBSUB_MESSAGE_TOO_LARGE',
      `Request payload size exceeds the limit: ${MAX_PUBLISH_REQUEST_BYTES} bytes.`,
    );
  }
  messages.forEach(checkMessage);
}

/** A subscription's ack deadline: 0 means the default (10 s); otherwise 10–600 s. */
export function checkSubscriptionAckDeadline(seconds: number): number {
  if (seconds === 0) return DEFAULT_ACK_DEADLINE_SECONDS;
  if (!Number.isInteger(seconds) || seconds < MIN_ACK_DEADLINE_SECONDS || seconds > MAX_ACK_DEADLINE_SECONDS) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_ACK_DEADLINE',
      `Invalid ack deadline ${seconds}s: it must be between ${MIN_ACK_DEADLINE_SECONDS} and ${MAX_ACK_DEADLINE_SECONDS} seconds.`,
    );
  }
  return seconds;
}

/** A modifyAckDeadline value: 0 (nack) to 600 s. */
export function checkModifyDeadline(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_ACK_DEADLINE_SECONDS) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_ACK_DEADLINE',
      `Invalid ack deadline ${seconds}s: it must be between 0 and ${MAX_ACK_DEADLINE_SECONDS} seconds.`,
    );
  }
  return seconds;
}

export function checkRetention(ms: number, max: number, what: string): number {
  if (!Number.isFinite(ms) || ms < MIN_RETENTION_MS || ms > max) {
    throw new PubsubError(
      'ERR_PUBSUB_BAD_SETTING',
      `Invalid ${what}: it must be between ${MIN_RETENTION_MS / 1000}s and ${max / 1000}s.`,
    );
  }
  return ms;
}

export function checkMaxPullMessages(value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw invalidArgument('max_messages must be a positive integer.');
  }
  return Math.min(value, MAX_PULL_MESSAGES);
}
