// Pullers woken across replicas: a publish noticed on one connection wakes a waiter on another.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TEST_ENGINES, type TestDatabase } from '@sealroom/postgres/testing';
import { createSharedWakeup } from './wakeup.ts';

const SUB = 'projects/p1/subscriptions/s1';

for (const engine of TEST_ENGINES) {
  describe(`shared wakeup on ${engine.name}`, { skip: engine.skip }, () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    test('a notify on one replica wakes a puller waiting on another before its timeout', async () => {
      const t = await engine.open();
      opened.push(t);
      const a = createSharedWakeup(t.db.notifications);
      const b = createSharedWakeup((await t.openAnother()).notifications);
      // The other replica's LISTEN connection comes up in the background: notify until a wait ends early.
      const deadline = Date.now() + 30_000;
      let woken = false;
      while (!woken && Date.now() < deadline) {
        let timedOut = false;
        const waiting = b.wait(SUB, 5_000).then(() => undefined);
        const timer = new Promise<void>((resolve) =>
          setTimeout(() => {
            timedOut = true;
            resolve();
          }, 4_000),
        );
        a.notify(['projects/p1/subscriptions/other', SUB]);
        await Promise.race([waiting, timer]);
        woken = !timedOut;
        await waiting;
      }
      assert.ok(woken, 'the waiter on the other replica was woken by the notify');
    });
  });
}
