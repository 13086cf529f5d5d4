// In-process change notifications: the SqlNotifications of a database only this process serves.
import type { SqlNotifications } from './sql.ts';

/** Handlers run synchronously in `publish`; one that throws does not stop the others. */
export function createLocalNotifications(): SqlNotifications & {
  /** Delivers a payload to this process's subscribers only (what a networked implementation received). */
  deliver(channel: string, payload: string): void;
} {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const deliver = (channel: string, payload: string) => {
    for (const handler of [...(handlers.get(channel) ?? [])]) {
      try {
        handler(payload);
      } catch {
        // A subscriber's failure is its own; the change still reaches the rest.
      }
    }
  };
  return {
    deliver,
    async publish(channel, payload) {
      deliver(channel, payload);
    },
    subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
      }
      set.add(handler);
      return () => {
        set.delete(handler);
      };
    },
  };
}
