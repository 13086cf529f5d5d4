// Group commit: publishes that arrive while a transaction is running are written together in the next one.
import type { Clock } from '@sealroom/core';
import type { OutgoingMessage } from './model.ts';
import type { PublishResult, PubsubStore } from './store.ts';

/** Messages one group transaction carries at most (a few full publish requests). */
const MAX_GROUP_MESSAGES = 5000;

interface Pending {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
  resolve(result: PublishResult | undefined): void;
  reject(error: unknown): void;
}

export interface PublishGroups {
  /** Resolves once the batch is committed (undefined when its topic does not exist). */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<PublishResult | undefined>;
}

export function createPublishGroups(store: PubsubStore, clock: Clock): PublishGroups {
  const queue: Pending[] = [];
  let running = false;

  const take = (): Pending[] => {
    let count = 0;
    let n = 0;
    while (n < queue.length && (n === 0 || count + (queue[n]?.messages.length ?? 0) <= MAX_GROUP_MESSAGES)) {
      count += queue[n]?.messages.length ?? 0;
      n++;
    }
    return queue.splice(0, n);
  };

  const drain = async (): Promise<void> => {
    running = true;
    try {
      while (queue.length > 0) {
        const group = take();
        try {
          const results = await store.publishMany(group, clock.now());
          for (let i = 0; i < group.length; i++) group[i]?.resolve(results[i]);
        } catch {
          // One bad batch must not fail the others: retry each alone, each with its own outcome.
          for (const p of group) {
            await store.publish(p.topic, p.messages, clock.now()).then(p.resolve, p.reject);
          }
        }
      }
    } finally {
      running = false;
    }
  };

  return {
    publish(topic, messages) {
      return new Promise((resolve, reject) => {
        queue.push({ topic, messages, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}
