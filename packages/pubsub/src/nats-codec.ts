// How Pub/Sub maps onto JetStream names and messages: streams, subjects, consumers, headers and ack ids.
import { createHash } from 'node:crypto';
import { pooledRandomBytes } from '@sealroom/core';
import { headers as natsHeaders, type JsMsg, type MsgHdrs } from 'nats';
import { PubsubError } from './errors.ts';
import type { OutgoingMessage, PubsubMessage } from './model.ts';
import type { LeaseRef } from './store.ts';

/**
 * Ordered subscriptions spread ordering keys over this many partitions, each read by a consumer with one
 * message in flight; messages without a key go to partition 0, which has no such limit.
 */
export const ORDER_PARTITIONS = 16;
const SUBJECT_ROOT = 'sealroom.pubsub';
const ATTRIBUTES_HEADER = 'Sealroom-Attributes';
const ORDERING_KEY_HEADER = 'Sealroom-Ordering-Key';

/** A fresh id for a stream or a subscription's consumers: lower-case hex, valid in subjects and names. */
export function newNatsId(): string {
  return pooledRandomBytes(8).toString('hex');
}

export const streamName = (streamId: string): string => `SEALROOM_PUBSUB_${streamId}`;
export const subjectOf = (streamId: string, partition: number): string => `${SUBJECT_ROOT}.${streamId}.${partition}`;
export const streamSubjects = (streamId: string): string => `${SUBJECT_ROOT}.${streamId}.*`;
/** A core-NATS subject (outside every stream) that tells waiting pullers on any replica to look again. */
export const wakeSubjectOf = (streamId: string): string => `${SUBJECT_ROOT}-wake.${streamId}`;
export const consumerName = (consumerId: string, partition: number | undefined): string =>
  partition === undefined ? `C${consumerId}` : `C${consumerId}_${partition}`;

/** The partition of a message on an ordered subscription: 0 without a key, 1..N by a hash of the key. */
export function partitionOf(orderingKey: string): number {
  if (orderingKey === '') return 0;
  return 1 + (createHash('sha256').update(orderingKey).digest().readUInt32BE(0) % ORDER_PARTITIONS);
}

/** The headers that carry a message's attributes and ordering key (JSON, so no byte breaks the header block). */
export function toHeaders(message: OutgoingMessage): MsgHdrs | undefined {
  const hasAttributes = Object.keys(message.attributes).length > 0;
  if (!hasAttributes && message.orderingKey === '') return undefined;
  const h = natsHeaders();
  if (hasAttributes) h.set(ATTRIBUTES_HEADER, JSON.stringify(message.attributes));
  if (message.orderingKey !== '') h.set(ORDERING_KEY_HEADER, JSON.stringify(message.orderingKey));
  return h;
}

/** A stored message as subscribers receive it: the stream sequence is the message id, the stream's time its publish time. */
export function fromJsMsg(m: JsMsg): PubsubMessage {
  const attributes = m.headers?.get(ATTRIBUTES_HEADER);
  const key = m.headers?.get(ORDERING_KEY_HEADER);
  return {
    messageId: String(m.seq),
    publishTime: Math.floor(m.info.timestampNanos / 1e6),
    data: m.data,
    attributes: attributes ? (JSON.parse(attributes) as Record<string, string>) : {},
    orderingKey: key ? (JSON.parse(key) as string) : '',
  };
}

/** One delivery on JetStream: which consumer (by the subscription's consumer id and partition), which message, which attempt. */
export interface NatsLeaseRef extends LeaseRef {
  readonly consumerId: string;
  readonly partition: number;
  readonly streamSeq: number;
  readonly consumerSeq: number;
}

/** `N1.<consumer id>.<partition 0..16, one base-36 digit>.<stream seq>.<consumer seq>.<attempt>` */
const ACK_ID =
  /^N1\.([0-9a-f]{16})\.([0-9a-g])\.([1-9a-z][0-9a-z]{0,11})\.([1-9a-z][0-9a-z]{0,11})\.([1-9a-z][0-9a-z]{0,5})$/;

export function toNatsAckId(ref: NatsLeaseRef): string {
  return `N1.${ref.consumerId}.${ref.partition.toString(36)}.${ref.streamSeq.toString(36)}.${ref.consumerSeq.toString(36)}.${ref.attempt.toString(36)}`;
}

export function parseNatsAckId(ackId: unknown): NatsLeaseRef {
  const match = typeof ackId === 'string' ? ACK_ID.exec(ackId) : null;
  if (!match) {
    throw new PubsubError('ERR_PUBSUB_BAD_ACK_ID', 'You have passed an invalid ack ID to the service.');
  }
  return {
    consumerId: match[1] as string,
    partition: Number.parseInt(match[2] as string, 36),
    streamSeq: Number.parseInt(match[3] as string, 36),
    consumerSeq: Number.parseInt(match[4] as string, 36),
    attempt: Number.parseInt(match[5] as string, 36),
  };
}

/**
 * The subject JetStream takes acks and naks of one delivery on: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream
 * seq>.<consumer seq>.<time>.<pending>` (the last two are informative; the server reads the first three numbers).
 */
export function ackSubjectOf(stream: string, consumer: string, ref: NatsLeaseRef): string {
  return `$JS.ACK.${stream}.${consumer}.${ref.attempt}.${ref.streamSeq}.${ref.consumerSeq}.0.0`;
}
