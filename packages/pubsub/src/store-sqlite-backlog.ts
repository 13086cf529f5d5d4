// The SQL behind SqlPubsubStore's data path: id allocation, batched inserts, leases, payload joins, rows → messages.
import type { SqlExecutor, SqlValue } from '@sealroom/core';
import type { OutgoingMessage, PubsubMessage } from './model.ts';
import { messageSize } from './model.ts';
import { toAckId } from './names.ts';
import type { LeasedMessage, LeaseOptions, Page, PublishResult } from './store.ts';

/** Rows per multi-row INSERT and ids per IN list; chunks are powers of two so few statements get prepared. */
const MAX_CHUNK = 128;
const DELIVERY_INSERT =
  'INSERT INTO pubsub_deliveries (id, sub_id, message_id, ordering_key, publish_time, visible_at, size) VALUES';
const DELIVERY_ROW = '(?, ?, ?, ?, ?, ?, ?)';
const PAYLOAD_INSERT = 'INSERT INTO pubsub_payloads (id, data, attributes) VALUES';
const PAYLOAD_ROW = '(?, ?, ?)';
export const LEASED_COLUMNS = 'id, message_id, ordering_key, publish_time, attempts';
export const PURGE_BATCH = 1000;

export interface DeliveryRow {
  id: number;
  message_id: number;
  ordering_key: string | null;
  publish_time: number;
  attempts: number;
  [key: string]: SqlValue;
}

export interface BacklogRow extends DeliveryRow {
  data: Uint8Array;
  attributes: string | null;
}

/** Reserves `count` consecutive ids; returns the first. */
export async function allocateIds(tx: SqlExecutor, count: number): Promise<number> {
  await tx.run('UPDATE pubsub_sequence SET next_id = next_id + ? WHERE id = 1', [count]);
  const row = await tx.get<{ next_id: number }>('SELECT next_id FROM pubsub_sequence WHERE id = 1');
  return Number(row?.next_id) - count;
}

export async function publishInTx(
  tx: SqlExecutor,
  topic: string,
  messages: readonly OutgoingMessage[],
  publishTime: number,
): Promise<PublishResult | undefined> {
  const topicRow = await tx.get('SELECT name FROM pubsub_topics WHERE name = ?', [topic]);
  if (!topicRow) return undefined;
  const subs = await tx.all<{ id: number; name: string }>('SELECT id, name FROM pubsub_subscriptions WHERE topic = ?', [
    topic,
  ]);
  const first = await allocateIds(tx, messages.length * (1 + subs.length));
  const messageIds = messages.map((_, i) => String(first + i));
  const encoded = messages.map((m) => ({
    data: m.data,
    attributes: Object.keys(m.attributes).length > 0 ? JSON.stringify(m.attributes) : null,
    orderingKey: m.orderingKey === '' ? null : m.orderingKey,
    size: messageSize(m),
  }));
  let nextId = first + messages.length;
  const deliveries: SqlValue[] = [];
  const payloads: SqlValue[] = [];
  for (const sub of subs) {
    for (let i = 0; i < messages.length; i++) {
      const m = encoded[i] as (typeof encoded)[number];
      deliveries.push(nextId, sub.id, first + i, m.orderingKey, publishTime, publishTime, m.size);
      payloads.push(nextId, m.data, m.attributes);
      nextId++;
    }
  }
  await insertRows(tx, DELIVERY_INSERT, DELIVERY_ROW, deliveries, 7);
  await insertRows(tx, PAYLOAD_INSERT, PAYLOAD_ROW, payloads, 3);
  return { messageIds, subscriptions: subs.map((s) => s.name) };
}

/** Inserts flattened rows with multi-row statements of power-of-two sizes. */
async function insertRows(tx: SqlExecutor, insert: string, row: string, params: SqlValue[], width: number) {
  let offset = 0;
  let remaining = params.length / width;
  while (remaining > 0) {
    const rows = chunkSize(remaining);
    const sql = `${insert} ${new Array(rows).fill(row).join(', ')}`;
    await tx.run(sql, params.slice(offset, offset + rows * width));
    offset += rows * width;
    remaining -= rows;
  }
}

function chunkSize(remaining: number): number {
  let size = MAX_CHUNK;
  while (size > remaining) size >>= 1;
  return size;
}

/** Calls `fn` with chunks of `ids` and their `?, ?, …` placeholder lists. */
export async function forEachChunk(ids: readonly number[], fn: (chunk: number[], marks: string) => Promise<unknown>) {
  let offset = 0;
  while (offset < ids.length) {
    const size = chunkSize(ids.length - offset);
    await fn(ids.slice(offset, offset + size), new Array(size).fill('?').join(', '));
    offset += size;
  }
}

/**
 * Unordered delivery: the oldest visible messages, as many as fit in `maxBytes` (the one that crosses the
 * limit included, so a large message is never stuck), at most `max`.
 */
export const LEASE_UNORDERED = `UPDATE pubsub_deliveries SET visible_at = ?, attempts = attempts + 1 WHERE id IN (SELECT id FROM (SELECT id, size, SUM(size) OVER (ORDER BY id) AS running FROM (SELECT id, size FROM pubsub_deliveries WHERE sub_id = ? AND acked = 0 AND visible_at <= ? ORDER BY id LIMIT ?) AS visible) AS fitted WHERE running - size < ?) RETURNING ${LEASED_COLUMNS}`;

/**
 * Ordered delivery: a message with an ordering key is leased only when it is the oldest unacknowledged
 * message of its key and no other message of the key is leased, so a key has one message in flight.
 */
export async function leaseOrdered(tx: SqlExecutor, subId: number, options: LeaseOptions): Promise<DeliveryRow[]> {
  const candidates = await tx.all<{ id: number; ordering_key: string | null; size: number }>(
    'SELECT id, ordering_key, size FROM pubsub_deliveries WHERE sub_id = ? AND acked = 0 AND visible_at <= ? ORDER BY id LIMIT ?',
    [subId, options.now, options.max * 4],
  );
  const chosen: number[] = [];
  const seenKeys = new Set<string>();
  let bytes = 0;
  for (const c of candidates) {
    if (chosen.length >= options.max || bytes >= options.maxBytes) break;
    if (c.ordering_key === null) {
      chosen.push(c.id);
      bytes += c.size;
      continue;
    }
    if (seenKeys.has(c.ordering_key)) continue;
    seenKeys.add(c.ordering_key);
    const head = await tx.get<{ id: number }>(
      'SELECT id FROM pubsub_deliveries WHERE sub_id = ? AND ordering_key = ? AND acked = 0 ORDER BY id LIMIT 1',
      [subId, c.ordering_key],
    );
    if (head?.id === c.id) {
      chosen.push(c.id);
      bytes += c.size;
    }
  }
  const rows: DeliveryRow[] = [];
  await forEachChunk(chosen, async (ids, marks) => {
    rows.push(
      ...(await tx.all<DeliveryRow>(
        `UPDATE pubsub_deliveries SET visible_at = ?, attempts = attempts + 1 WHERE id IN (${marks}) RETURNING ${LEASED_COLUMNS}`,
        [options.now + options.deadlineMs, ...ids],
      )),
    );
  });
  return rows;
}

function toMessage(row: BacklogRow): PubsubMessage {
  return {
    messageId: String(row.message_id),
    publishTime: Number(row.publish_time),
    data: row.data,
    attributes: row.attributes ? (JSON.parse(row.attributes) as Record<string, string>) : {},
    orderingKey: row.ordering_key ?? '',
  };
}

export function toLeased(row: BacklogRow): LeasedMessage {
  return {
    ackId: toAckId({ deliveryId: Number(row.id), attempt: Number(row.attempts) }),
    attempt: Number(row.attempts),
    message: toMessage(row),
  };
}

/** The attributes Google adds to a message it forwards to a dead-letter topic. */
export function toDeadLetter(row: BacklogRow, subscription: string): OutgoingMessage {
  return toDeadLetterMessage(toMessage(row), Number(row.attempts), subscription);
}

/** `attempt` is the delivery that was not made: the message failed `attempt - 1` deliveries. */
export function toDeadLetterMessage(message: PubsubMessage, attempt: number, subscription: string): OutgoingMessage {
  const [, project = '', , id = ''] = subscription.split('/');
  return {
    data: message.data,
    orderingKey: message.orderingKey,
    attributes: {
      ...message.attributes,
      CloudPubSubDeadLetterSourceDeliveryCount: String(attempt - 1),
      CloudPubSubDeadLetterSourceSubscription: id,
      CloudPubSubDeadLetterSourceSubscriptionProject: project,
      CloudPubSubDeadLetterSourceTopicPublishTime: new Date(message.publishTime).toISOString(),
    },
  };
}

export function fromPageToken(token: string): string {
  return token === '' ? '' : Buffer.from(token, 'base64url').toString('utf8');
}

export function toPage<R extends { name: string }, T>(rows: R[], pageSize: number, map: (row: R) => T): Page<T> {
  const more = rows.length > pageSize;
  const items = (more ? rows.slice(0, pageSize) : rows).map(map);
  const last = more ? rows[pageSize - 1] : undefined;
  return { items, nextPageToken: last ? Buffer.from(last.name, 'utf8').toString('base64url') : '' };
}

/** Joins leased delivery rows with their payloads, oldest first. */
export async function withPayloads(tx: SqlExecutor, states: DeliveryRow[]): Promise<BacklogRow[]> {
  const payloads = new Map<number, { data: Uint8Array; attributes: string | null }>();
  await forEachChunk(
    states.map((s) => s.id),
    async (ids, marks) => {
      const rows = await tx.all<{ id: number; data: Uint8Array; attributes: string | null }>(
        `SELECT id, data, attributes FROM pubsub_payloads WHERE id IN (${marks})`,
        ids,
      );
      for (const row of rows) payloads.set(row.id, row);
    },
  );
  return states
    .map((s) => ({
      ...s,
      data: payloads.get(s.id)?.data ?? new Uint8Array(0),
      attributes: payloads.get(s.id)?.attributes ?? null,
    }))
    .sort((a, b) => a.id - b.id);
}

/** Deletes deliveries and their payloads by id. */
export async function deleteRows(tx: SqlExecutor, ids: number[], marks: string): Promise<void> {
  await tx.run(`DELETE FROM pubsub_deliveries WHERE id IN (${marks})`, ids);
  await tx.run(`DELETE FROM pubsub_payloads WHERE id IN (${marks})`, ids);
}
