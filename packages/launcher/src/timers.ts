// Injectable timers, so refresh schedules and grace periods are testable with a fake clock and no sleeping.
import type { FakeClock } from '@sealroom/core';

export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

export interface Timers {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    // A pending refresh must not keep a finished launcher alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface FakeTimers extends Timers {
  /** Moves the clock forward, firing due timers in time order (each at its own due time). */
  advance(ms: number): void;
  /** Due times of pending timers, soonest first, in ms since the epoch. */
  pending(): number[];
}

/** Timers over a FakeClock, for tests. */
export function createFakeTimers(clock: FakeClock): FakeTimers {
  let nextId = 1;
  const queue: { id: number; due: number; callback: () => void }[] = [];
  return {
    setTimeout: (callback, delayMs) => {
      const id = nextId++;
      queue.push({ id, due: clock.now() + Math.max(0, delayMs), callback });
      queue.sort((a, b) => a.due - b.due || a.id - b.id);
      return { id };
    },
    clearTimeout: (handle) => {
      const index = queue.findIndex((t) => t.id === (handle as { id: number }).id);
      if (index >= 0) queue.splice(index, 1);
    },
    advance: (ms) => {
      const target = clock.now() + ms;
      for (let next = queue[0]; next && next.due <= target; next = queue[0]) {
        queue.shift();
        clock.set(next.due);
        next.callback();
      }
      clock.set(target);
    },
    pending: () => queue.map((t) => t.due),
  };
}
