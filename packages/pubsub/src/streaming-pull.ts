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

export class StreamingPullSession {
  /** The subscription's settings, refreshed while the stream idles so updates reach open streams. */
  subscription: SubscriptionRecord;
  readonly #service: PubsubService;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #outstanding = new Map<string, Outstanding>();
  #outstandingBytes = 0;
  #deadlineMs: number;
  #released: (() => void) | undefined;
  #lastExistenceCheck = 0;
  #lastExpiryScan = 0;

  /** Validates the first request (subscription and deadline are required there) and opens the session. */
  constructor(service: PubsubService, subscription: SubscriptionRecord, first: StreamingPullRequestFields) {
    if (first.streamAckDeadlineSeconds === 0) {
      throw new PubsubError(
        'ERR_PUBSUB_STREAM_PROTOCOL',
        'The first StreamingPullRequest must set stream_ack_deadline_seconds.',
      );
    }
    this.#service = service;
    this.subscription = subscription;
    this.#deadlineMs = checkSubscriptionAckDeadline(first.streamAckDeadlineSeconds) * 1000;
    this.#maxMessages =
      first.maxOutstandingMessages > 0 ? first.maxOutstandingMessages : DEFAULT_MAX_OUTSTANDING_MESSAGES;
    this.#maxBytes = first.maxOutstandingBytes > 0 ? first.maxOutstandingBytes : DEFAULT_MAX_OUTSTANDING_BYTES;
  }

  get outstandingMessages(): number {
    return this.#outstanding.size;
  }

  /** Applies the acks and deadline changes a request carries; later requests may also change the deadline. */
  async handle(request: StreamingPullRequestFields): Promise<void> {
    if (request.modifyDeadlineSeconds.length !== request.modifyDeadlineAckIds.length) {
      throw new PubsubError(
        'ERR_PUBSUB_STREAM_PROTOCOL',
        'modify_deadline_seconds and modify_deadline_ack_ids must have the same length.',
      );
    }
    if (request.streamAckDeadlineSeconds > 0) {
      this.#deadlineMs = checkSubscriptionAckDeadline(request.streamAckDeadlineSeconds) * 1000;
    }
    if (request.ackIds.length > 0) await this.#service.acknowledgeLeases(this.subscription, request.ackIds);
    const bySeconds = new Map<number, string[]>();
    request.modifyDeadlineAckIds.forEach((ackId, i) => {
      const seconds = request.modifyDeadlineSeconds[i] as number;
      const list = bySeconds.get(seconds) ?? [];
      list.push(ackId);
      bySeconds.set(seconds, list);
    });
    for (const [seconds, ackIds] of bySeconds) await this.#service.modifyLeases(this.subscription, ackIds, seconds);
  }

  /** Called by the service when leases of this subscription are acked, nacked or extended anywhere. */
  onLeaseChange(ackIds: readonly string[], deadlineMs: number | 'acked'): void {
    let released = false;
    for (const ackId of ackIds) {
      const entry = this.#outstanding.get(ackId);
      if (!entry) continue;
      if (deadlineMs === 'acked' || deadlineMs === 0) {
        this.#outstanding.delete(ackId);
        this.#outstandingBytes -= entry.bytes;
        released = true;
      } else {
        entry.expiresAt = this.#service.clock.now() + deadlineMs;
      }
    }
    if (released) this.#wakeForCredit();
  }

  /** Leases and sends messages while the client has credit, until `signal` aborts. */
  async run(send: (messages: ReceivedMessage[]) => Promise<void>, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#dropExpired();
      const room = Math.min(this.#maxMessages - this.#outstanding.size, MAX_PULL_MESSAGES);
      if (room <= 0 || this.#outstandingBytes >= this.#maxBytes) {
        await this.#waitForCredit(signal);
        continue;
      }
      const batch = await this.#service.leaseMessages(
        this.subscription,
        room,
        this.#deadlineMs,
        this.#maxBytes - this.#outstandingBytes,
      );
      if (batch.length === 0) {
        await this.#checkExists();
        await this.#service.wakeup.wait(this.subscription.name, IDLE_POLL_MS, signal);
        continue;
      }
      const expiresAt = this.#service.clock.now() + this.#deadlineMs;
      for (const r of batch) {
        const bytes = messageSize(r.message);
        this.#outstanding.set(r.ackId, { bytes, expiresAt });
        this.#outstandingBytes += bytes;
      }
      await send(batch);
    }
  }

  /** A lease that expired unextended is back in the backlog; its credit returns to the stream. */
  #dropExpired(): void {
    const now = this.#service.clock.now();
    if (now - this.#lastExpiryScan < EXPIRY_SCAN_MS) return;
    this.#lastExpiryScan = now;
    for (const [ackId, entry] of this.#outstanding) {
      if (entry.expiresAt <= now) {
        this.#outstanding.delete(ackId);
        this.#outstandingBytes -= entry.bytes;
      }
    }
  }

  async #checkExists(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastExistenceCheck < EXISTENCE_CHECK_MS) return;
    this.#lastExistenceCheck = now;
    const current = await this.#service.store.getSubscription(this.subscription.name);
    if (!current) {
      throw new CoreError('ERR_NOT_FOUND', `Resource not found (resource=${this.subscription.name.split('/')[3]}).`);
    }
    this.subscription = current;
  }

  #waitForCredit(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#released = undefined;
        resolve();
      };
      const timer = setTimeout(done, IDLE_POLL_MS);
      signal.addEventListener('abort', done, { once: true });
      this.#released = done;
    });
  }

  #wakeForCredit(): void {
    this.#released?.();
  }
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
  const session = new StreamingPullSession(service, sub, first.value);
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
