import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { releasingCollector, watchIdleMemory } from './idle-memory.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done() && Date.now() < deadline) await sleep(10);
  assert.ok(done(), what);
}

test('one collection after a busy spell ends, none while busy or after a quiet one', async () => {
  let collections = 0;
  let heap = 100;
  const logger = createMemoryLogger();
  const idle = watchIdleMemory({
    logger,
    idleAfterMs: 120,
    checkEveryMs: 10,
    busyRequests: 50,
    collect: () => {
      collections += 1;
      heap = 100;
    },
    heapBytes: () => heap,
  });
  try {
    // Busy: a request every 20 ms for 300 ms, so no check ever sees 120 ms without one.
    for (let i = 0; i < 15; i++) {
      for (let j = 0; j < 5; j++) idle.noteRequest();
      await sleep(20);
    }
    assert.equal(collections, 0, 'no collection while requests keep coming');
    await until(() => collections === 1, 'one collection once idle');
    await sleep(300);
    assert.equal(collections, 1, 'and only one for that spell');
    // A few requests without heap growth: not worth a collection.
    for (let i = 0; i < 3; i++) idle.noteRequest();
    await sleep(300);
    assert.equal(collections, 1, 'a quiet spell that grew nothing is left alone');
    // A few requests after which the heap grew by half: worth one.
    idle.noteRequest();
    heap = 160;
    await until(() => collections === 2, 'a collection after the heap grew');
    assert.ok(logger.entries.some((e) => e.message === 'idle after load: heap given back'));
  } finally {
    idle.stop();
  }
});

test("the releasing collector gives a dropped heap's pages back", () => {
  const collect = releasingCollector();
  let garbage: unknown[] | undefined = [];
  for (let i = 0; i < 200_000; i++) garbage.push({ i, text: `item ${i}` });
  const grown = process.memoryUsage().heapTotal;
  garbage = undefined;
  collect();
  assert.ok(process.memoryUsage().heapTotal < grown, 'the heap V8 holds shrank');
});
