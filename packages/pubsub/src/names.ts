// Pub/Sub resource names and ack ids: parsing at the boundary, formatting for replies.
import { invalidArgument, resourceTemplate } from '@sealroom/core';
import { PubsubError } from './errors.ts';
import { checkPubsubId } from './limits.ts';
import type { LeaseRef } from './store.ts';

/** A lease of the SQL store: the delivery row and the attempt that leased it. */
export interface SqlLeaseRef extends LeaseRef {
  readonly deliveryId: number;
}

const TOPIC = resourceTemplate<'project' | 'topic'>('projects/{project}/topics/{topic}');
const SUBSCRIPTION = resourceTemplate<'project' | 'subscription'>('projects/{project}/subscriptions/{subscription}');
const PROJECT = resourceTemplate<'project'>('projects/{project}');

export interface TopicName {
  readonly name: string;
  readonly project: string;
}

export interface SubscriptionName {
  readonly name: string;
  readonly project: string;
}

export function parseTopicName(name: unknown, field = 'topic'): TopicName {
  const parsed = typeof name === 'string' ? TOPIC.tryParse(name) : undefined;
  if (!parsed) throw invalidArgument(`Invalid [${field}] name: (name=${String(name).slice(0, 300)})`);
  checkPubsubId(parsed.topic, 'topic');
  return { name: name as string, project: parsed.project };
}

export function parseSubscriptionName(name: unknown, field = 'subscriptions'): SubscriptionName {
  const parsed = typeof name === 'string' ? SUBSCRIPTION.tryParse(name) : undefined;
  if (!parsed) throw invalidArgument(`Invalid [${field}] name: (name=${String(name).slice(0, 300)})`);
  checkPubsubId(parsed.subscription, 'subscription');
  return { name: name as string, project: parsed.project };
}

export function parseProjectName(name: unknown): string {
  const parsed = typeof name === 'string' ? PROJECT.tryParse(name) : undefined;
  if (!parsed) throw invalidArgument(`Invalid [project] name: (name=${String(name).slice(0, 300)})`);
  return parsed.project;
}

/** The short id Google's "Resource not found (resource=…)" message names. */
export function shortId(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

const ACK_ID = /^S1\.([1-9a-z][0-9a-z]{0,11})\.([1-9a-z][0-9a-z]{0,5})$/;

/** Ack ids are opaque to clients: the delivery's row and the attempt that leased it. */
export function toAckId(ref: SqlLeaseRef): string {
  return `S1.${ref.deliveryId.toString(36)}.${ref.attempt.toString(36)}`;
}

export function parseAckId(ackId: unknown): SqlLeaseRef {
  const match = typeof ackId === 'string' ? ACK_ID.exec(ackId) : null;
  if (!match) {
    throw new PubsubError('ERR_PUBSUB_BAD_ACK_ID', 'You have passed an invalid ack ID to the service.');
  }
  return { deliveryId: Number.parseInt(match[1] as string, 36), attempt: Number.parseInt(match[2] as string, 36) };
}
