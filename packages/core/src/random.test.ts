// Pooled random bytes: never the same bytes twice, the pool wiped behind each caller, large sizes direct.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pooledRandomBytes } from './random.ts';

test('every call gets fresh bytes across refills; no two 12-byte values repeat', () => {
  const seen = new Set<string>();
  // 3,000 × 12 bytes: the 4 KiB pool is refilled about nine times.
  for (let i = 0; i < 3_000; i++) {
    const iv = pooledRandomBytes(12);
    assert.equal(iv.length, 12);
    seen.add(iv.toString('hex'));
  }
  assert.equal(seen.size, 3_000);
});

test("a caller's buffer is its own: later calls do not change it", () => {
  const first = pooledRandomBytes(32);
  const copy = Buffer.from(first);
  for (let i = 0; i < 400; i++) pooledRandomBytes(32);
  assert.deepEqual(first, copy);
  assert.notDeepEqual(first, Buffer.alloc(32), 'not the wiped pool');
});

test('sizes: 0, the largest pooled, larger ones direct; bad sizes refused', () => {
  assert.equal(pooledRandomBytes(0).length, 0);
  assert.equal(pooledRandomBytes(256).length, 256);
  assert.equal(pooledRandomBytes(5_000).length, 5_000);
  assert.throws(() => pooledRandomBytes(-1), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => pooledRandomBytes(1.5), { code: 'ERR_INVALID_ARGUMENT' });
});

test('the bytes look random: each bit set about half the time over 64 KiB', () => {
  let ones = 0;
  let total = 0;
  for (let i = 0; i < 1_024; i++) {
    for (const byte of pooledRandomBytes(64)) {
      for (let bit = 0; bit < 8; bit++) ones += (byte >> bit) & 1;
      total += 8;
    }
  }
  // 524,288 bits: a fair source lands within ±0.5 % of half with overwhelming probability (±7 sd).
  assert.ok(Math.abs(ones / total - 0.5) < 0.005, `${ones} of ${total}`);
});
