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

test('fromBase64Lenient decodes and refuses exactly as normalising to the standard alphabet would', () => {
  // The reference: map the URL-safe alphabet to the standard one, drop trailing padding, check, decode.
  const reference = (text: string): Buffer | 'refused' => {
    const normalised = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
    return /^[A-Za-z0-9+/]*$/.test(normalised) && normalised.length % 4 !== 1
      ? Buffer.from(normalised, 'base64')
      : 'refused';
  };
  const alphabet = 'AZaz09+/-_=$ .\n';
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const samples = ['', '=', '==', 'QQ', 'QQ=', 'QQ==', 'QQ===', 'Q=Q=', 'QUJD', 'QUJD=', '-_-_', 'QU=J', '+/8', 'é'];
  // Code units whose low byte is a base64 character (Node's decoder reads only that byte), at lengths that
  // would otherwise decode in full; a NUL, a surrogate pair and a lone surrogate.
  samples.push(
    'QUJDQ\u0141JD',
    'QU\u4141JD',
    'QUJ\u0000',
    'QUJD\u{1F600}QQ',
    'QUJDQU\uD83D',
    '\u0141\u0141\u0141\u0141',
  );
  for (let i = 0; i < 2000; i++) {
    const length = next() % 12;
    let text = Buffer.from(Array.from({ length }, () => next() % 256)).toString(i % 2 ? 'base64' : 'base64url');
    if (i % 3 === 0) text += alphabet[next() % alphabet.length];
    if (i % 5 === 0) text = text.slice(0, next() % (text.length + 1));
    samples.push(text);
  }
  for (const text of samples) {
    const expected = reference(text);
    if (expected === 'refused') assert.throws(() => fromBase64Lenient(text), /not valid base64/, text);
    else assert.deepEqual(fromBase64Lenient(text), expected, text);
  }
});

test('base64url round-trips and rejects padding or foreign characters', () => {
  const bytes = Buffer.from([0, 1, 254, 255, 62, 63]);
  assert.deepEqual(fromBase64Url(toBase64Url(bytes)), bytes);
  assert.equal(toBase64(bytes), bytes.toString('base64'));
  assert.throws(() => fromBase64Url('ab+c'));
  assert.throws(() => fromBase64Url('abc='));
});
