// Reading MemFree from /proc/meminfo.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readMemFreeKb } from './host-info.ts';

test('MemFree is read in kB, and a missing file gives undefined', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-mem-'));
  try {
    const path = join(dir, 'meminfo');
    writeFileSync(path, 'MemTotal:       16000000 kB\nMemFree:         1234567 kB\nMemAvailable:    9000000 kB\n');
    assert.equal(await readMemFreeKb(path), 1234567);
    assert.equal(await readMemFreeKb(join(dir, 'none')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
