import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeDigest, digestHex, isDigest, parseDigest, toDigestTag } from './digest.ts';
import { FormatsError } from './errors.ts';

const HEX = 'a'.repeat(64);

test('parseDigest accepts sha256 with 64 lowercase hex and nothing else', () => {
  assert.equal(parseDigest(`sha256:${HEX}`), `sha256:${HEX}`);
  for (const bad of [
    `sha256:${'A'.repeat(64)}`,
    `sha256:${HEX.slice(1)}`,
    `sha256:${HEX}0`,
    `sha512:${HEX}`,
    `sha256:../${HEX.slice(3)}`,
    ` sha256:${HEX}`,
    `sha256:${HEX}\n`,
    '',
  ]) {
    assert.throws(
      () => parseDigest(bad),
      (e: unknown) => e instanceof FormatsError && e.code === 'ERR_FORMATS_BAD_DIGEST',
      bad,
    );
    assert.equal(isDigest(bad), false);
  }
  assert.equal(isDigest(42), false);
});

test('computeDigest hashes bytes to a digest that parses, and its hex is the blob name', () => {
  const digest = computeDigest(Buffer.from('hello'));
  assert.equal(digest, 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  assert.equal(isDigest(digest), true);
  assert.equal(digestHex(digest), '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
});

test("toDigestTag gives cosign's sha256-<hex> tag and refuses a malformed digest", () => {
  assert.equal(toDigestTag(`sha256:${HEX}`, '.sig'), `sha256-${HEX}.sig`);
  assert.throws(() => toDigestTag('sha256:nothex'), /Invalid digest/);
});
