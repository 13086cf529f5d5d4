// Gives memory back once a busy server falls idle: V8 keeps the heap it grew for the load until a collection
// that shrinks it, and an idle server allocates too little to bring one about.
import { getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '@sealroom/core';

/** No request for this long after a busy spell counts as idle. */
export const IDLE_AFTER_MS = 10_000;
/** How often the server looks at whether it fell idle. */
const CHECK_EVERY_MS = 5_000;
/** A spell this busy (requests since the last release) is worth releasing memory once it ends. */
const BUSY_REQUESTS = 1_000;
/** …as is any spell after which the heap V8 holds grew by half over its smallest since the last release. */
const HEAP_GROWTH = 1.5;

/** Asks the runtime to give unused heap back; the work happens later, on the runtime's own schedule. */
export type MemoryRelease = () => void;

export interface IdleMemoryOptions {
  readonly logger: Logger;
  readonly idleAfterMs?: number;
  readonly checkEveryMs?: number;
  readonly busyRequests?: number;
  /** What to run (tests); the default is `askV8ToReduceMemory`. */
  readonly release?: MemoryRelease;
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
 * followed by `idleAfterMs` without a request, asks V8 once to give the load's heap back.
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
  const release = options.release ?? askV8ToReduceMemory;
  let requests = 0;
  let seen = 0;
  let sinceRelease = 0;
  let lastRequestAt = performance.now();
  /** The smallest heap seen while idle since the last release: the release shrinks it a few seconds later. */
  let smallestHeap = heapBytes();
  const timer = setInterval(() => {
    const now = performance.now();
    if (requests !== seen) {
      sinceRelease += requests - seen;
      seen = requests;
      lastRequestAt = now;
      return;
    }
    if (now - lastRequestAt < idleAfterMs) return;
    const heap = heapBytes();
    if (sinceRelease === 0 || (sinceRelease < busyRequests && heap < smallestHeap * HEAP_GROWTH)) {
      smallestHeap = Math.min(smallestHeap, heap);
      return;
    }
    release();
    options.logger.debug(
      { requests: sinceRelease, heapMb: Math.round(heap / 2 ** 20) },
      'idle after load: heap given back',
    );
    sinceRelease = 0;
    smallestHeap = heap;
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
 * Starts V8's memory reducer: a throw-away context tells V8 that garbage may be waiting, and the reducer then
 * runs memory-reducing collections a few seconds later, only while the process allocates little (an idle
 * server), returning freed pages to the system. Unlike a forced last-resort collection it keeps compiled code,
 * so the next load does not start cold, and it backs off by itself if load resumes.
 */
export function askV8ToReduceMemory(): void {
  runInNewContext('undefined');
}
