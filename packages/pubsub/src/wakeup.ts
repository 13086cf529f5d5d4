// In-process signals that wake pullers waiting on a subscription when messages may have become available.

export class Wakeup {
  readonly #waiters = new Map<string, Set<() => void>>();

  /** Wakes every waiter of each named subscription. */
  notify(subscriptions: Iterable<string>): void {
    for (const name of subscriptions) {
      const set = this.#waiters.get(name);
      if (!set) continue;
      this.#waiters.delete(name);
      for (const wake of set) wake();
    }
  }

  /** Resolves on notify, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  wait(subscription: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let set = this.#waiters.get(subscription);
      if (!set) {
        set = new Set();
        this.#waiters.set(subscription, set);
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#waiters.get(subscription)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }
}
