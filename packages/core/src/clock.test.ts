import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toRfc3339 } from './clock.ts';

test('toRfc3339 prints what toISOString does, from its cache too, and refuses a bad time', () => {
  const start = Date.UTC(2026, 11, 2, 23, 59, 59, 999);
  // More distinct times than the cache holds, each printed twice: the second answer comes from the cache
  // (or, after the cache emptied itself, is made again).
  for (let i = 0; i < 10_000; i++) {
    const ms = start + i * 997;
    const expected = new Date(ms).toISOString();
    assert.equal(toRfc3339(ms), expected);
    assert.equal(toRfc3339(ms), expected);
  }
  assert.equal(toRfc3339(0), '1970-01-01T00:00:00.000Z');
  assert.throws(() => toRfc3339(Number.NaN), RangeError);
  assert.throws(() => toRfc3339(8.64e15 + 1), RangeError);
});
