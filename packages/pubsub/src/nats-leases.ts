// What one replica knows of the NATS deliveries it leased: the latest attempt, and how long a lease surely lasts.
import type { NatsLeaseRef } from './nats-codec.ts';

/** Entries kept before the book starts over (a forgotten entry only costs a message to JetStream). */
const MAX_ENTRIES = 200_000;

interface Entry {
  readonly attempt: number;
  readonly ackWaitMs: number;
  /** The earliest the delivery's deadline can be while nothing moved it; 0 once something did. */
  coveredUntil: number;
}

export type ExtensionVerdict = 'stale' | 'covered' | 'send';

/**
 * A delivery's ack wait starts when JetStream sends it, after the pull went out; until something moves its
 * deadline it is at least the pull's time plus the consumer's ack wait. Nothing on any replica can bring it
 * earlier but a nack (after which the ack id is stale anyway) or a shorter ack wait on the subscription.
 */
export function createNatsLeaseBook() {
  const entries = new Map<string, Entry>();
  const keyOf = (ref: NatsLeaseRef) => `${ref.consumerId}:${ref.partition}:${ref.streamSeq}`;
  return {
    /** A delivery leased by a pull sent at `pulledAt`; `ackWaitMs` 0 when its deadline was moved at once. */
    leased(ref: NatsLeaseRef, pulledAt: number, ackWaitMs: number): void {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(keyOf(ref), {
        attempt: ref.attempt,
        ackWaitMs,
        coveredUntil: ackWaitMs > 0 ? pulledAt + ackWaitMs : 0,
      });
    },
    /** The delivery was acknowledged. */
    forget(ref: NatsLeaseRef): void {
      entries.delete(keyOf(ref));
    },
    /**
     * Whether a deadline change of `ref` to `now + delayMs` is for an older delivery than this replica leased
     * since (`stale`), already holds without telling JetStream (`covered`), or must be sent (`send`; any later
     * change of the same delivery is then sent too). A nack is never covered.
     */
    judge(ref: NatsLeaseRef, now: number, delayMs: number, nack: boolean, ackWaitMs: number): ExtensionVerdict {
      const entry = entries.get(keyOf(ref));
      if (!entry) return 'send';
      if (ref.attempt < entry.attempt) return 'stale';
      if (ref.attempt > entry.attempt) return 'send';
      if (!nack && delayMs > 0 && now + delayMs <= entry.coveredUntil && ackWaitMs >= entry.ackWaitMs) return 'covered';
      entry.coveredUntil = 0;
      return 'send';
    },
  };
}

export type NatsLeaseBook = ReturnType<typeof createNatsLeaseBook>;
