// Wakes pullers waiting on a subscription when any replica published to its topic or released a message.
import type { NatsConnection, Subscription } from 'nats';
import { createWakeup, type Wakeup } from './wakeup.ts';

/**
 * The in-process wakeup, plus a core-NATS subscription per stream a puller of this process waits on: a
 * publish, an ack on an ordered subscription or a nack on any replica wakes the pullers here too.
 */
export function createNatsWakeup(
  nc: NatsConnection,
  wakeSubjectOf: (subscription: string) => Promise<string | undefined>,
): Wakeup & { close(): void } {
  const local = createWakeup();
  const listeners = new Map<string, { sub: Subscription; names: Set<string> }>();

  const listen = async (subscription: string): Promise<void> => {
    const subject = await wakeSubjectOf(subscription).catch(() => undefined);
    if (subject === undefined || nc.isClosed()) return;
    const existing = listeners.get(subject);
    if (existing) {
      existing.names.add(subscription);
      return;
    }
    const names = new Set([subscription]);
    const sub = nc.subscribe(subject, { callback: () => local.notify(names) });
    listeners.set(subject, { sub, names });
  };

  return {
    notify: (subscriptions) => local.notify(subscriptions),
    wait(subscription, timeoutMs, signal) {
      const waiting = local.wait(subscription, timeoutMs, signal);
      void listen(subscription);
      return waiting;
    },
    close() {
      for (const { sub } of listeners.values()) sub.unsubscribe();
      listeners.clear();
    },
  };
}
