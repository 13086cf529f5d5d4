// Signals that wake pullers waiting on a subscription when messages may have become available: in-process,
// and across the replicas sharing one database.
import type { SqlNotifications } from '@sealroom/core';

export interface Wakeup {
  /** Wakes every waiter of each named subscription. */
  notify(subscriptions: Iterable<string>): void;
  /** Resolves on notify, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  wait(subscription: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

export function createWakeup(): Wakeup {
  const waiters = new Map<string, Set<() => void>>();
  return {
    notify(subscriptions) {
      for (const name of subscriptions) {
        const set = waiters.get(name);
        if (!set) continue;
        waiters.delete(name);
        for (const wake of set) wake();
      }
    },
    wait(subscription, timeoutMs, signal) {
      if (signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let set = waiters.get(subscription);
        if (!set) {
          set = new Set();
          waiters.set(subscription, set);
        }
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          waiters.get(subscription)?.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal?.addEventListener('abort', done, { once: true });
        set.add(done);
      });
    },
  };
}

/** The channel on which replicas wake each other's pullers (subscription names, newline-separated). */
const WAKEUP_CHANNEL = 'sealroom_pubsub_wakeup';
/** Names per notification stay well under PostgreSQL's 8000-byte NOTIFY payload limit. */
const WAKEUP_PAYLOAD_BYTES = 900;

/**
 * Wakes pullers in every replica on the database: a publish on one replica wakes a streaming pull held
 * open by another at once, instead of at its next poll. Waiters here are woken synchronously.
 */
export function createSharedWakeup(notifications: SqlNotifications): Wakeup {
  const local = createWakeup();
  notifications.subscribe(WAKEUP_CHANNEL, (payload) => {
    // MISSED_CHANGES ('*') after a reconnect names no subscription; the pullers' polls catch up.
    local.notify(payload.split('\n').filter((name) => name.includes('/')));
  });
  return {
    notify(subscriptions) {
      let batch = '';
      const send = () => {
        if (batch === '') return;
        notifications.publish(WAKEUP_CHANNEL, batch).catch(() => {
          // Unsent: the other replicas' pullers find the messages at their next poll.
        });
        batch = '';
      };
      for (const name of subscriptions) {
        if (batch.length + name.length + 1 > WAKEUP_PAYLOAD_BYTES) send();
        batch = batch === '' ? name : `${batch}\n${name}`;
      }
      send();
    },
    wait: (subscription, timeoutMs, signal) => local.wait(subscription, timeoutMs, signal),
  };
}
