import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError } from './errors.ts';
import { isRepositoryName } from '@sealroom/formats';
import { formatImageReference, parseImageReference } from './reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  const good: [string, object][] = [
    ['127.0.0.1:8080/proj/repo1/app:v1', { registry: '127.0.0.1:8080', repository: 'proj/repo1/app', tag: 'v1' }],
    [`localhost:5000/a/b@${D}`, { registry: 'localhost:5000', repository: 'a/b', digest: D }],
    [`reg.example/a/b:t@${D}`, { registry: 'reg.example', repository: 'a/b', tag: 't', digest: D }],
    ['reg.example/a', { registry: 'reg.example', repository: 'a' }],
  ];
  for (const [text, ref] of good) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseImageReference(text), ref);
      assert.equal(formatImageReference(parseImageReference(text)), text);
    });
  }
  for (const bad of [
    'noslash',
    'reg/../etc',
    'reg/A/b',
    'reg/a//b',
    'reg/a:-bad',
    'reg/a@sha256:xyz',
    '/a/b',
    'reg/a/b/',
  ]) {
    it(`refuses ${bad}`, () => assert.throws(() => parseImageReference(bad), RegistryError));
  }
  it('accepts the distribution name grammar and refuses path traversal', () => {
    assert.ok(isRepositoryName('p/r/img_1.x-y'));
    for (const name of ['..', 'a/..', 'a/./b', '%2e%2e', 'a\\b', '']) assert.equal(isRepositoryName(name), false, name);
  });
});
