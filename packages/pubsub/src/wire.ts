// Conversions between the two wire forms (REST JSON, gRPC objects from proto-loader) and domain values.
import { fromBase64Lenient, invalidArgument, parseDurationMs, toDuration, toRfc3339 } from '@sealroom/core';
import type { OutgoingMessage, PubsubMessage, ReceivedMessage, SubscriptionRecord, TopicRecord } from './model.ts';
import type { SubscriptionSpec, TopicSpec } from './service.ts';

export type WireFormat = 'rest' | 'grpc';
type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A proto3 scalar counts as set when it is not its default ('' / 0 / false / null). */
function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** int32/int64 from JSON numbers, decimal strings or protobufjs Longs. */
export function toInt(value: unknown, field: string): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isFinite(n) || !Number.isInteger(n))
    throw invalidArgument(`Invalid value at '${field}': not an integer.`);
  return n;
}

/** A Duration: `"600s"` in REST, `{seconds, nanos}` in gRPC; undefined when unset. */
export function toDurationMs(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    const ms = parseDurationMs(value);
    if (ms === undefined) throw invalidArgument(`Invalid value at '${field}': expected a duration such as "600s".`);
    return ms;
  }
  if (isObject(value)) {
    return toInt(value.seconds, `${field}.seconds`) * 1000 + Math.round(toInt(value.nanos, `${field}.nanos`) / 1e6);
  }
  throw invalidArgument(`Invalid value at '${field}': expected a duration.`);
}

function fromDurationMs(ms: number, format: WireFormat): unknown {
  return format === 'rest' ? toDuration(ms) : { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function fromTimestampMs(ms: number, format: WireFormat): unknown {
  return format === 'rest' ? toRfc3339(ms) : { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function toStringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidArgument(`Invalid value at '${field}': expected a map of strings.`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidArgument(`Invalid value at '${field}.${k}': expected a string.`);
    out[k] = v;
  }
  return out;
}

function toBytes(value: unknown, field: string): Uint8Array {
  if (value === undefined || value === null || value === '') return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') {
    try {
      return fromBase64Lenient(value, field);
    } catch {
      throw invalidArgument(`Invalid value at '${field}': not valid base64.`);
    }
  }
  throw invalidArgument(`Invalid value at '${field}': expected bytes.`);
}

export function toOutgoingMessages(value: unknown): OutgoingMessage[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidArgument(`Invalid value at 'messages': expected a list.`);
  return value.map((m: unknown, i) => {
    if (!isObject(m)) throw invalidArgument(`Invalid value at 'messages[${i}]': expected a message.`);
    return {
      data: toBytes(m.data, `messages[${i}].data`),
      attributes: toStringMap(m.attributes, `messages[${i}].attributes`),
      orderingKey: str(m.orderingKey),
    };
  });
}

export function toTopicSpec(body: Loose): TopicSpec {
  const retention = toDurationMs(body.messageRetentionDuration, 'message_retention_duration');
  return {
    labels: toStringMap(body.labels, 'labels'),
    ...(retention !== undefined ? { messageRetentionMs: retention } : {}),
    ...(str(body.kmsKeyName) ? { kmsKeyName: str(body.kmsKeyName) } : {}),
  };
}

/** Settings Google offers and Sealroom does not: refused instead of silently ignored. */
function unsupportedSettings(body: Loose): string[] {
  const out: string[] = [];
  if (isObject(body.pushConfig) && str(body.pushConfig.pushEndpoint)) out.push('push_config');
  if (str(body.filter)) out.push('filter');
  if (body.enableExactlyOnceDelivery === true) out.push('enable_exactly_once_delivery');
  for (const key of ['bigqueryConfig', 'cloudStorageConfig', 'bigtableConfig'] as const) {
    const config = body[key];
    if (isObject(config) && Object.values(config).some((v) => v !== '' && v !== null && v !== false && v !== 0)) {
      out.push(key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    }
  }
  if (Array.isArray(body.messageTransforms) && body.messageTransforms.length > 0) out.push('message_transforms');
  return out;
}

export function toSubscriptionSpec(body: Loose): SubscriptionSpec {
  const retention = toDurationMs(body.messageRetentionDuration, 'message_retention_duration');
  const dl = isObject(body.deadLetterPolicy) ? body.deadLetterPolicy : undefined;
  const retry = isObject(body.retryPolicy) ? body.retryPolicy : undefined;
  const ttl = isObject(body.expirationPolicy)
    ? toDurationMs(body.expirationPolicy.ttl, 'expiration_policy.ttl')
    : undefined;
  const minBackoff = retry ? toDurationMs(retry.minimumBackoff, 'retry_policy.minimum_backoff') : undefined;
  const maxBackoff = retry ? toDurationMs(retry.maximumBackoff, 'retry_policy.maximum_backoff') : undefined;
  return {
    topic: str(body.topic),
    ackDeadlineSeconds: toInt(body.ackDeadlineSeconds, 'ack_deadline_seconds'),
    retainAckedMessages: body.retainAckedMessages === true,
    ...(retention !== undefined ? { messageRetentionMs: retention } : {}),
    enableMessageOrdering: body.enableMessageOrdering === true,
    labels: toStringMap(body.labels, 'labels'),
    ...(dl && str(dl.deadLetterTopic)
      ? {
          deadLetterPolicy: {
            deadLetterTopic: str(dl.deadLetterTopic),
            maxDeliveryAttempts: toInt(dl.maxDeliveryAttempts, 'dead_letter_policy.max_delivery_attempts'),
          },
        }
      : {}),
    ...(retry
      ? {
          retryPolicy: {
            ...(minBackoff !== undefined ? { minimumBackoffMs: minBackoff } : {}),
            ...(maxBackoff !== undefined ? { maximumBackoffMs: maxBackoff } : {}),
          },
        }
      : {}),
    ...(ttl !== undefined ? { expirationTtlMs: ttl } : {}),
    unsupported: unsupportedSettings(body),
  };
}

/** An update mask: REST sends "a,b" (query or body), gRPC `{paths: [...]}`. */
export function toMask(value: unknown): string[] {
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (isObject(value) && Array.isArray(value.paths)) return value.paths.map(String);
  return [];
}

export function fromTopic(topic: TopicRecord, format: WireFormat): Loose {
  return {
    name: topic.name,
    ...(Object.keys(topic.labels).length > 0 ? { labels: topic.labels } : {}),
    ...(topic.kmsKeyName ? { kmsKeyName: topic.kmsKeyName } : {}),
    ...(topic.messageRetentionMs !== undefined
      ? { messageRetentionDuration: fromDurationMs(topic.messageRetentionMs, format) }
      : {}),
    state: 'ACTIVE',
  };
}

export function fromSubscription(sub: SubscriptionRecord, format: WireFormat): Loose {
  return {
    name: sub.name,
    topic: sub.topic,
    pushConfig: {},
    ackDeadlineSeconds: sub.ackDeadlineSeconds,
    ...(sub.retainAckedMessages ? { retainAckedMessages: true } : {}),
    messageRetentionDuration: fromDurationMs(sub.messageRetentionMs, format),
    ...(Object.keys(sub.labels).length > 0 ? { labels: sub.labels } : {}),
    ...(sub.enableMessageOrdering ? { enableMessageOrdering: true } : {}),
    ...(sub.expirationTtlMs !== undefined
      ? { expirationPolicy: { ttl: fromDurationMs(sub.expirationTtlMs, format) } }
      : {}),
    ...(sub.deadLetterPolicy ? { deadLetterPolicy: { ...sub.deadLetterPolicy } } : {}),
    ...(sub.retryPolicy
      ? {
          retryPolicy: {
            minimumBackoff: fromDurationMs(sub.retryPolicy.minimumBackoffMs, format),
            maximumBackoff: fromDurationMs(sub.retryPolicy.maximumBackoffMs, format),
          },
        }
      : {}),
    ...(sub.detached ? { detached: true } : {}),
    state: 'ACTIVE',
  };
}

export function fromMessage(message: PubsubMessage, format: WireFormat): Loose {
  const hasAttributes = Object.keys(message.attributes).length > 0;
  return {
    data: format === 'rest' ? Buffer.from(message.data).toString('base64') : Buffer.from(message.data),
    ...(hasAttributes ? { attributes: message.attributes } : {}),
    messageId: message.messageId,
    publishTime: fromTimestampMs(message.publishTime, format),
    ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
  };
}

export function fromReceived(received: ReceivedMessage, format: WireFormat): Loose {
  return {
    ackId: received.ackId,
    message: fromMessage(received.message, format),
    ...(received.deliveryAttempt > 0 ? { deliveryAttempt: received.deliveryAttempt } : {}),
  };
}

export function toStringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidArgument(`Invalid value at '${field}': expected a list.`);
  return value.map(String);
}
