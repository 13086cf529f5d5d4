import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromBase64, fromBase64Lenient, fromBase64Url, toBase64, toBase64Url } from './base64.ts';

test('fromBase64 decodes canonical base64 and rejects what Buffer.from would silently accept', () => {
  assert.deepEqual(fromBase64('aGVsbG8='), Buffer.from('hello'));
  assert.deepEqual(fromBase64(''), Buffer.alloc(0));
  for (const bad of ['aGVsbG8', 'aGV$bG8=', 'aGVsbG8=\n', 'a===', 'aGVs_G8=']) {
    assert.throws(() => fromBase64(bad, 'ciphertext'), /Invalid value at 'ciphertext'/);
  }
});

test('fromBase64Lenient takes either alphabet with or without padding', () => {
  assert.deepEqual(fromBase64Lenient('-_8'), Buffer.from([0xfb, 0xff]));
  assert.deepEqual(fromBase64Lenient('+/8='), Buffer.from([0xfb, 0xff]));
  assert.throws(() => fromBase64Lenient('abcde'));
});

test('base64url round-trips and rejects padding or foreign characters', () => {
  const bytes = Buffer.from([0, 1, 254, 255, 62, 63]);
  assert.deepEqual(fromBase64Url(toBase64Url(bytes)), bytes);
  assert.equal(toBase64(bytes), bytes.toString('base64'));
  assert.throws(() => fromBase64Url('ab+c'));
  assert.throws(() => fromBase64Url('abc='));
});
