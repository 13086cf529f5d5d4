// How a workload's end is worded (hardened vs debug, out of memory) and the memory monitor's reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFakeClock, createMemoryLogger } from '@sealroom/core';
import { parseLaunchSpec } from './launch-spec.ts';
import type { RunningContainer } from './runtime/types.ts';
import { createFakeTimers } from './timers.ts';
import { reportWorkloadExit, startMemoryMonitor } from './workload-report.ts';

const REF = 'localhost:8080/p/repo/img@sha256:' + 'a'.repeat(64);

test('an out-of-memory kill is reported as such on every image, with the limit', () => {
  for (const hardened of [true, false]) {
    const logger = createMemoryLogger();
    reportWorkloadExit(
      logger,
      { exitCode: 137, signal: 'SIGKILL', outOfMemory: true },
      { hardened, memoryLimitBytes: 1024 },
    );
    assert.equal(logger.entries.length, 1);
    assert.match(logger.entries[0]?.message ?? '', /out of memory/);
    assert.deepEqual(logger.entries[0]?.fields, { memoryLimitBytes: 1024 });
  }
});

test('exit 0 is reported with its code on every image', () => {
  const logger = createMemoryLogger();
  reportWorkloadExit(logger, { exitCode: 0 }, { hardened: true });
  assert.deepEqual(logger.entries, [{ level: 'info', fields: { exitCode: 0 }, message: 'workload exited' }]);
});

function container(usage: () => number | undefined): RunningContainer {
  return {
    exited: new Promise(() => {}),
    signal: async () => {},
    memoryUsageBytes: async () => usage(),
  };
}

test('memory monitoring reports the use at once and then every interval, until stopped', async () => {
  const clock = createFakeClock(0);
  const timers = createFakeTimers(clock);
  const reports: string[] = [];
  let used = 1000;
  const stop = startMemoryMonitor({
    spec: parseLaunchSpec({ 'tee-image-reference': REF, 'tee-monitoring-memory-enable': 'true' }, { hardened: true }),
    container: container(() => used),
    timers,
    intervalMs: 60_000,
    memoryLimitBytes: 4096,
    report: (m) => reports.push(m),
  });
  const settle = () => new Promise((r) => setImmediate(r));
  await settle();
  assert.deepEqual(reports, ['memory/bytes_used=1000 memory/limit_bytes=4096']);
  used = 2000;
  timers.advance(60_000);
  await settle();
  assert.deepEqual(reports.at(-1), 'memory/bytes_used=2000 memory/limit_bytes=4096');
  stop();
  timers.advance(120_000);
  await settle();
  assert.equal(reports.length, 2);
});

test('without monitoring in the spec nothing is reported', async () => {
  const clock = createFakeClock(0);
  const reports: string[] = [];
  startMemoryMonitor({
    spec: parseLaunchSpec({ 'tee-image-reference': REF }, { hardened: true }),
    container: container(() => 1),
    timers: createFakeTimers(clock),
    report: (m) => reports.push(m),
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(reports, []);
});
