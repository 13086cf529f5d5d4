// gcloud's --metadata dictionary syntax, including the ^DELIM^ escape the tutorial uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LauncherError } from './errors.ts';
import { parseMetadataFlag, parseMetadataFlags } from './metadata-syntax.ts';

test('the tutorial command line with ^~^ keeps commas inside values', () => {
  const parsed = parseMetadataFlag('^~^tee-image-reference=r/p/i@sha256:ab~tee-cmd=["a","b"]~tee-restart-policy=Never');
  assert.deepEqual(parsed, {
    'tee-image-reference': 'r/p/i@sha256:ab',
    'tee-cmd': '["a","b"]',
    'tee-restart-policy': 'Never',
  });
});

test('without an escape the delimiter is a comma, and a value keeps every = after the first', () => {
  assert.deepEqual(parseMetadataFlag('a=1,b=x=y'), { a: '1', b: 'x=y' });
});

test('a multi-character delimiter and one trailing delimiter are accepted', () => {
  assert.deepEqual(parseMetadataFlag('^:::^a=1:::b=2:::'), { a: '1', b: '2' });
});

test('an empty value is kept and an item without = is a syntax error', () => {
  assert.deepEqual(parseMetadataFlag('a='), { a: '' });
  assert.throws(() => parseMetadataFlag('a=1,b'), LauncherError);
  assert.throws(() => parseMetadataFlag('=v'), /Bad syntax/);
});

test('a __proto__ key is an own entry, never the prototype', () => {
  const parsed = parseMetadataFlag('__proto__=x');
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.deepEqual(Object.keys(parsed), ['__proto__']);
});

test('later keys and later flags win', () => {
  assert.deepEqual(parseMetadataFlag('a=1,a=2'), { a: '2' });
  assert.deepEqual(parseMetadataFlags(['a=1,b=1', '^~^a=3']), { a: '3', b: '1' });
});

test('any dictionary survives printing with a fresh delimiter and parsing back', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
  const value = fc.string({ maxLength: 20 }).filter((v) => !v.includes('~'));
  fc.assert(
    fc.property(fc.dictionary(key, value, { minKeys: 1 }), (dict) => {
      const text = `^~^${Object.entries(dict)
        .map(([k, v]) => `${k}=${v}`)
        .join('~')}`;
      assert.deepEqual(parseMetadataFlag(text), { ...dict });
    }),
  );
});
