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

export class PublishGroups {
  readonly #store: PubsubStore;
  readonly #clock: Clock;
  #queue: Pending[] = [];
  #running = false;

  constructor(store: PubsubStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Resolves once the batch is committed (undefined when its topic does not exist). */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<PublishResult | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, messages, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#take();
        try {
          const results = await this.#store.publishMany(group, this.#clock.now());
          for (let i = 0; i < group.length; i++) group[i]?.resolve(results[i]);
        } catch {
          // One bad batch must not fail the others: retry each alone, each with its own outcome.
          for (const p of group) {
            await this.#store.publish(p.topic, p.messages, this.#clock.now()).then(p.resolve, p.reject);
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #take(): Pending[] {
    let count = 0;
    let n = 0;
    while (
      n < this.#queue.length &&
      (n === 0 || count + (this.#queue[n]?.messages.length ?? 0) <= MAX_GROUP_MESSAGES)
    ) {
      count += this.#queue[n]?.messages.length ?? 0;
      n++;
    }
    return this.#queue.splice(0, n);
  }
}
