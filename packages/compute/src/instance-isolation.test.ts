// The log stream's permission gate (the host's) and the serial lines about memory limits per runtime (the launcher's).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prepareBootIsolation } from '@sealroom/launcher';
import { gateLogStream } from './instance-isolation.ts';
import { testBootRequest } from './testing.ts';

const request = testBootRequest({ machineType: { name: 'n2d-standard-2', memoryBytes: 8 * 1024 ** 3 } });

test('without logging.logEntries.create no entry is written and the serial output says so once', () => {
  const serial: string[] = [];
  const written: unknown[] = [];
  const events = { serial: (l: string) => serial.push(l), workloadLog: (e: unknown) => written.push(e) };
  const denied = gateLogStream({ ...request, canWriteLogs: false }, events);
  denied({ severity: 'INFO', message: 'a' });
  denied({ severity: 'ERROR', message: 'b' });
  assert.deepEqual(written, []);
  assert.equal(serial.length, 1);
  assert.match(serial[0] ?? '', /lacks logging\.logEntries\.create \(grant it roles\/logging\.logWriter\)/);
  const allowed = gateLogStream({ ...request, canWriteLogs: true }, events);
  allowed({ severity: 'INFO', message: 'c' });
  assert.deepEqual(written, [{ severity: 'INFO', message: 'c' }]);
});

test('runc enforces the machine type memory; the fallbacks say they do not', async () => {
  for (const [runtime, limited] of [
    ['runc', true],
    ['bwrap', false],
    ['process', false],
  ] as const) {
    const serial: string[] = [];
    const isolation = await prepareBootIsolation(
      { dir: '/nonexistent', machineType: { name: 'n2d-standard-2', memoryBytes: 8 * 1024 ** 3 } },
      runtime,
      (l) => serial.push(l),
    );
    assert.equal(isolation.memoryLimitBytes, limited ? 8 * 1024 ** 3 : undefined);
    assert.match(
      serial.join('\n'),
      limited ? /8 GiB \(n2d-standard-2\), no swap, enforced by runc/ : /is NOT enforced/,
    );
  }
});
