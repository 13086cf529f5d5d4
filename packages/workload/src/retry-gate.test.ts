// The retry gate with a dependency that goes down and comes back: waits instead of failing, one probe at a
// time while down, everyone released when it answers, permanent failures and aborts surfacing at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createRetryGate, retryGateDelayMs } from './retry-gate.ts';

const unavailable = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const denied = () => Object.assign(new Error('denied'), { code: grpc.status.PERMISSION_DENIED, details: 'denied' });

/** A dependency whose calls fail with `failure()` while it is down; counts calls and their overlap while down. */
function dependency() {
  const dep = {
    down: false,
    failure: unavailable as () => Error,
    calls: 0,
    inFlightWhileDown: 0,
    maxInFlightWhileDown: 0,
    async call(value: number): Promise<number> {
      dep.calls += 1;
      const wasDown = dep.down;
      if (wasDown) dep.maxInFlightWhileDown = Math.max(dep.maxInFlightWhileDown, ++dep.inFlightWhileDown);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (wasDown) dep.inFlightWhileDown -= 1;
      if (dep.down) throw dep.failure();
      return value;
    },
  };
  return dep;
}

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(condition(), what);
};

describe('createRetryGate', () => {
  it('holds calls through an outage, probes one at a time, and releases every call once the dependency answers', async () => {
    const dep = dependency();
    const events: string[] = [];
    const gate = createRetryGate({
      initialMs: 2,
      maxMs: 10,
      onDown: (failure) => events.push(`down:${failure.reason}`),
      onUp: () => events.push('up'),
    });
    assert.equal(await gate.run(() => dep.call(0)), 0);
    dep.down = true;
    const results = Promise.all(Array.from({ length: 20 }, (_, i) => gate.run(() => dep.call(i + 1))));
    await until(() => gate.waiting === 20 || (gate.waiting === 19 && gate.state === 'probing'), 'all held');
    const callsWhileDown = dep.calls;
    await until(() => dep.calls >= callsWhileDown + 5, 'probes keep coming');
    const before = dep.calls;
    await until(() => dep.calls > before + 3, 'more probes');
    // After the first burst, only the probe reaches the dependency.
    dep.maxInFlightWhileDown = 0;
    await until(() => dep.calls > before + 6, 'still probing');
    assert.equal(dep.maxInFlightWhileDown, 1, 'one probe at a time while down');
    dep.down = false;
    assert.deepEqual(
      await results,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.deepEqual(events, ['down:unreachable', 'up']);
    assert.equal(gate.state, 'up');
    assert.equal(gate.waiting, 0);
  });

  it('throws a permanent failure at once, and a permanent answer to a probe lets the waiting calls go', async () => {
    const dep = dependency();
    const gate = createRetryGate({ initialMs: 2, maxMs: 5 });
    dep.down = true;
    dep.failure = denied;
    await assert.rejects(
      gate.run(() => dep.call(1)),
      /denied/,
    );
    assert.equal(dep.calls, 1);
    assert.equal(gate.state, 'up', 'a refusal is an answer: nothing is held');
    dep.failure = unavailable;
    const held = gate.run(() => dep.call(2));
    await until(() => gate.state !== 'up', 'down');
    dep.failure = denied;
    await assert.rejects(held, /denied/);
    assert.equal(gate.state, 'up');
  });

  it('ends a waiting call with the abort reason, and leaves the others waiting', async () => {
    const dep = dependency();
    dep.down = true;
    const gate = createRetryGate({ initialMs: 2, maxMs: 5 });
    const controller = new AbortController();
    const aborted = gate.run(() => dep.call(1), controller.signal);
    const other = gate.run(() => dep.call(2));
    await until(() => gate.waiting >= 1, 'waiting');
    controller.abort(new Error('stopping'));
    await assert.rejects(aborted, /stopping/);
    dep.down = false;
    assert.equal(await other, 2);
  });

  it('waits longer after each failed probe, up to the cap, with jitter around it', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => retryGateDelayMs(n, 0.5));
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    assert.equal(retryGateDelayMs(1, 0), 800);
    assert.ok(retryGateDelayMs(9, 0.9999) < 36_000);
  });
});
