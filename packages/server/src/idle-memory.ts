// Gives memory back once a busy server falls idle: V8 keeps the heap it grew for the load until a collection
// that shrinks it, and an idle server allocates too little to bring one about.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '@sealroom/core';

/** No request for this long after a busy spell counts as idle. */
export const IDLE_AFTER_MS = 20_000;
/** How often the server looks at whether it fell idle. */
const CHECK_EVERY_MS = 5_000;
/** A spell this busy (requests since the last collection) is worth a collection once it ends. */
const BUSY_REQUESTS = 1_000;
/** …as is any spell after which the heap V8 holds grew by half since the last collection. */
const HEAP_GROWTH = 1.5;

/** A full, compacting collection that returns unused heap pages to the system (V8's last-resort flavour). */
export type ReleasingCollector = () => void;

export interface IdleMemoryOptions {
  readonly logger: Logger;
  readonly idleAfterMs?: number;
  readonly checkEveryMs?: number;
  readonly busyRequests?: number;
  /** The collection to run (tests); the default asks V8 for its last-resort collection. */
  readonly collect?: ReleasingCollector;
  /** The heap V8 holds now, in bytes (tests); the default reads V8's heap statistics. */
  readonly heapBytes?: () => number;
}

export interface IdleMemory {
  /** Counts a request answered (REST or gRPC). */
  noteRequest(): void;
  stop(): void;
}

/**
 * Watches the request count; when a spell of load (`busyRequests` requests, or the heap grown by half) is
 * followed by `idleAfterMs` without a request, runs one collection that gives the load's heap back. A
 * collection of a large heap pauses the process for tens of milliseconds, so it runs only when idle, and
 * once per spell.
 *
 * @example
 * ```ts
 * const idle = watchIdleMemory({ logger });
 * // on every answered request: idle.noteRequest(); on shutdown: idle.stop();
 * ```
 */
export function watchIdleMemory(options: IdleMemoryOptions): IdleMemory {
  const idleAfterMs = options.idleAfterMs ?? IDLE_AFTER_MS;
  const busyRequests = options.busyRequests ?? BUSY_REQUESTS;
  const heapBytes = options.heapBytes ?? (() => getHeapStatistics().total_heap_size);
  let collect = options.collect;
  let requests = 0;
  let seen = 0;
  let sinceCollection = 0;
  let lastRequestAt = performance.now();
  let heapAfterCollection = heapBytes();
  const timer = setInterval(() => {
    const now = performance.now();
    if (requests !== seen) {
      sinceCollection += requests - seen;
      seen = requests;
      lastRequestAt = now;
      return;
    }
    if (now - lastRequestAt < idleAfterMs) return;
    const before = heapBytes();
    if (sinceCollection === 0 || (sinceCollection < busyRequests && before < heapAfterCollection * HEAP_GROWTH)) return;
    collect ??= releasingCollector();
    const started = performance.now();
    collect();
    heapAfterCollection = heapBytes();
    options.logger.debug(
      {
        requests: sinceCollection,
        heapMb: Math.round(before / 2 ** 20),
        afterMb: Math.round(heapAfterCollection / 2 ** 20),
        ms: Math.round(performance.now() - started),
      },
      'idle after load: heap given back',
    );
    sinceCollection = 0;
  }, options.checkEveryMs ?? CHECK_EVERY_MS);
  timer.unref();
  return {
    noteRequest() {
      requests += 1;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * V8's collection of everything it can, compacting and releasing pages, as `gc({ type: 'major', flavor:
 * 'last-resort' })` of `--expose-gc`. The flag is set for this process when it was not given; the function is
 * taken from a fresh context, so no global of this one changes.
 */
export function releasingCollector(): ReleasingCollector {
  type Gc = (options: { type: 'major'; flavor: 'last-resort' }) => void;
  let gc = (globalThis as { gc?: Gc }).gc;
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  }
  const run = gc;
  return () => run({ type: 'major', flavor: 'last-resort' });
}
