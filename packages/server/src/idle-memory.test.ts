import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { askV8ToReduceMemory, watchIdleMemory } from './idle-memory.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `done()` holds. */
async function until(done: () => boolean, what: string, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!done() && Date.now() < deadline) await sleep(10);
  assert.ok(done(), what);
}

test('one release after a busy spell ends, none while busy or after a quiet one', async () => {
  let releases = 0;
  let heap = 100;
  const logger = createMemoryLogger();
  const idle = watchIdleMemory({
    logger,
    idleAfterMs: 120,
    checkEveryMs: 10,
    busyRequests: 50,
    release: () => {
      releases += 1;
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
    assert.equal(releases, 0, 'no release while requests keep coming');
    await until(() => releases === 1, 'one release once idle');
    await sleep(300);
    assert.equal(releases, 1, 'and only one for that spell');
    // A few requests without heap growth: not worth a release.
    for (let i = 0; i < 3; i++) idle.noteRequest();
    await sleep(300);
    assert.equal(releases, 1, 'a quiet spell that grew nothing is left alone');
    // A few requests after which the heap grew by half: worth one.
    idle.noteRequest();
    heap = 160;
    await until(() => releases === 2, 'a release after the heap grew');
    assert.ok(logger.entries.some((e) => e.message === 'idle after load: heap given back'));
  } finally {
    idle.stop();
  }
});

test("V8 gives a dropped heap's pages back once asked, while the process is idle", async () => {
  let garbage: unknown[] | undefined = [];
  for (let i = 0; i < 400_000; i++) garbage.push({ i, text: `item ${i}` });
  const grown = process.memoryUsage().heapTotal;
  garbage = undefined;
  askV8ToReduceMemory();
  // The reducer looks after ~8 s of low allocation; an idle test process qualifies.
  await until(() => process.memoryUsage().heapTotal < grown / 2, 'the heap V8 holds halved', 60_000);
});
