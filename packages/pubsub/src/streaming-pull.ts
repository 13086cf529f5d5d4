// One StreamingPull stream: first-write parameters, flow control by outstanding messages and bytes, the pump.
import { CoreError } from '@sealroom/core';
import { PubsubError } from './errors.ts';
import { checkSubscriptionAckDeadline, MAX_PULL_MESSAGES } from './limits.ts';
import type { ReceivedMessage, SubscriptionRecord } from './model.ts';
import { messageSize } from './model.ts';
import type { PubsubService } from './service.ts';

/** Limits a stream uses when the client sends 0 (Google's server-side defaults). */
export const DEFAULT_MAX_OUTSTANDING_MESSAGES = 1000;
export const DEFAULT_MAX_OUTSTANDING_BYTES = 100 * 1024 * 1024;
/** How long an idle stream sleeps before looking for expired leases again. */
const IDLE_POLL_MS = 1000;
/** How often a stream looks for its own expired leases (their credit returns to the client). */
const EXPIRY_SCAN_MS = 250;
/** How often an idle stream re-reads its subscription (deleted → NOT_FOUND; updated settings apply). */
const EXISTENCE_CHECK_MS = 5000;

/** The fields of a StreamingPullRequest, decoded from either wire format. */
export interface StreamingPullRequestFields {
  readonly subscription: string;
  readonly ackIds: readonly string[];
  readonly modifyDeadlineSeconds: readonly number[];
  readonly modifyDeadlineAckIds: readonly string[];
  readonly streamAckDeadlineSeconds: number;
  readonly maxOutstandingMessages: number;
  readonly maxOutstandingBytes: number;
}

interface Outstanding {
  readonly bytes: number;
  expiresAt: number;
}

export interface StreamingPullSession {
  /** The subscription's settings, refreshed while the stream idles so updates reach open streams. */
  readonly subscription: SubscriptionRecord;
  /** Applies the acks and deadline changes a request carries; later requests may also change the deadline. */
  handle(request: StreamingPullRequestFields): Promise<void>;
  /** Called by the service when leases of this subscription are acked, nacked or extended anywhere. */
  onLeaseChange(ackIds: readonly string[], deadlineMs: number | 'acked'): void;
  /** Leases and sends messages while the client has credit, until `signal` aborts. */
  run(send: (messages: ReceivedMessage[]) => Promise<void>, signal: AbortSignal): Promise<void>;
}

/** Validates the first request (subscription and deadline are required there) and opens the session. */
export function openStreamingPullSession(
  service: PubsubService,
  opened: SubscriptionRecord,
  first: StreamingPullRequestFields,
): StreamingPullSession {
  if (first.streamAckDeadlineSeconds === 0) {
    throw new PubsubError(
      'ERR_PUBSUB_STREAM_PROTOCOL',
      'The first StreamingPullRequest must set stream_ack_deadline_seconds.',
    );
  }
  let subscription = opened;
  const maxMessages =
    first.maxOutstandingMessages > 0 ? first.maxOutstandingMessages : DEFAULT_MAX_OUTSTANDING_MESSAGES;
  const maxBytes = first.maxOutstandingBytes > 0 ? first.maxOutstandingBytes : DEFAULT_MAX_OUTSTANDING_BYTES;
  const outstanding = new Map<string, Outstanding>();
  let outstandingBytes = 0;
  let deadlineMs = checkSubscriptionAckDeadline(first.streamAckDeadlineSeconds) * 1000;
  let released: (() => void) | undefined;
  let lastExistenceCheck = 0;
  let lastExpiryScan = 0;

  /** A lease that expired unextended is back in the backlog; its credit returns to the stream. */
  const dropExpired = (): void => {
    const now = service.clock.now();
    if (now - lastExpiryScan < EXPIRY_SCAN_MS) return;
    lastExpiryScan = now;
    for (const [ackId, entry] of outstanding) {
      if (entry.expiresAt <= now) {
        outstanding.delete(ackId);
        outstandingBytes -= entry.bytes;
      }
    }
  };

  const checkExists = async (): Promise<void> => {
    const now = Date.now();
    if (now - lastExistenceCheck < EXISTENCE_CHECK_MS) return;
    lastExistenceCheck = now;
    const current = await service.store.getSubscription(subscription.name);
    if (!current) {
      throw new CoreError('ERR_NOT_FOUND', `Resource not found (resource=${subscription.name.split('/')[3]}).`);
    }
    subscription = current;
  };

  const waitForCredit = (signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        released = undefined;
        resolve();
      };
      const timer = setTimeout(done, IDLE_POLL_MS);
      signal.addEventListener('abort', done, { once: true });
      released = done;
    });

  return {
    get subscription() {
      return subscription;
    },

    async handle(request) {
      if (request.modifyDeadlineSeconds.length !== request.modifyDeadlineAckIds.length) {
        throw new PubsubError(
          'ERR_PUBSUB_STREAM_PROTOCOL',
          'modify_deadline_seconds and modify_deadline_ack_ids must have the same length.',
        );
      }
      if (request.streamAckDeadlineSeconds > 0) {
        deadlineMs = checkSubscriptionAckDeadline(request.streamAckDeadlineSeconds) * 1000;
      }
      if (request.ackIds.length > 0) await service.acknowledgeLeases(subscription, request.ackIds);
      const bySeconds = new Map<number, string[]>();
      request.modifyDeadlineAckIds.forEach((ackId, i) => {
        const seconds = request.modifyDeadlineSeconds[i] as number;
        const list = bySeconds.get(seconds) ?? [];
        list.push(ackId);
        bySeconds.set(seconds, list);
      });
      for (const [seconds, ackIds] of bySeconds) await service.modifyLeases(subscription, ackIds, seconds);
    },

    onLeaseChange(ackIds, changedDeadlineMs) {
      let freed = false;
      for (const ackId of ackIds) {
        const entry = outstanding.get(ackId);
        if (!entry) continue;
        if (changedDeadlineMs === 'acked' || changedDeadlineMs === 0) {
          outstanding.delete(ackId);
          outstandingBytes -= entry.bytes;
          freed = true;
        } else {
          entry.expiresAt = service.clock.now() + changedDeadlineMs;
        }
      }
      if (freed) released?.();
    },

    async run(send, signal) {
      while (!signal.aborted) {
        dropExpired();
        const room = Math.min(maxMessages - outstanding.size, MAX_PULL_MESSAGES);
        if (room <= 0 || outstandingBytes >= maxBytes) {
          await waitForCredit(signal);
          continue;
        }
        const batch = await service.leaseMessages(subscription, room, deadlineMs, maxBytes - outstandingBytes);
        if (batch.length === 0) {
          await checkExists();
          await service.wakeup.wait(subscription.name, IDLE_POLL_MS, signal);
          continue;
        }
        const expiresAt = service.clock.now() + deadlineMs;
        for (const r of batch) {
          const bytes = messageSize(r.message);
          outstanding.set(r.ackId, { bytes, expiresAt });
          outstandingBytes += bytes;
        }
        await send(batch);
      }
    },
  };
}

/**
 * Serves one StreamingPull call over any transport: the first request names the subscription and the
 * stream's parameters; later requests carry acks, deadline changes or nothing (keepalives). The stream
 * never ends successfully: a client half-close, a shutdown (`signal`) or the end of the pump all end it
 * with UNAVAILABLE, which clients answer by reopening it (an OK would stop them for good).
 */
export async function serveStreamingPull(
  service: PubsubService,
  access: Parameters<PubsubService['openForConsume']>[0],
  requests: AsyncIterator<StreamingPullRequestFields>,
  send: (messages: ReceivedMessage[], subscription: SubscriptionRecord) => Promise<void>,
  signal: AbortSignal,
): Promise<never> {
  const first = await requests.next();
  if (first.done) throw new PubsubError('ERR_PUBSUB_STREAM_CLOSED', 'The stream ended before its first request.');
  if (first.value.subscription === '') {
    throw new PubsubError('ERR_PUBSUB_STREAM_PROTOCOL', 'The first StreamingPullRequest must name a subscription.');
  }
  const sub = await service.openForConsume(access, first.value.subscription, 'StreamingPull');
  const session = openStreamingPullSession(service, sub, first.value);
  const off = service.onLeaseChange((name, ackIds, deadline) => {
    if (name === sub.name) session.onLeaseChange(ackIds, deadline);
  });
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal.addEventListener('abort', abort, { once: true });
  try {
    await session.handle(first.value);
    const pump = session.run((messages) => send(messages, session.subscription), controller.signal);
    const reader = (async () => {
      for (;;) {
        const next = await requests.next();
        if (next.done || controller.signal.aborted) return;
        await session.handle(next.value);
      }
    })();
    pump.catch(() => {});
    reader.catch(() => {});
    await Promise.race([pump, reader]);
  } finally {
    controller.abort();
    off();
    signal.removeEventListener('abort', abort);
  }
  throw new PubsubError('ERR_PUBSUB_STREAM_CLOSED', 'The server closed the stream; open a new one.');
}
