import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkResourceId, PROJECT_ID_PATTERN, projectOf, resourceTemplate } from './resource-name.ts';

const keyRing = resourceTemplate<'project' | 'location' | 'keyRing'>(
  'projects/{project}/locations/{location}/keyRings/{keyRing}',
);

test('a template parses matching names and formats them back', () => {
  const parsed = keyRing.parse('projects/p1/locations/global/keyRings/kr1');
  assert.deepEqual(parsed, { project: 'p1', location: 'global', keyRing: 'kr1' });
  assert.equal(keyRing.format(parsed), 'projects/p1/locations/global/keyRings/kr1');
});

test('a template refuses wrong literals, wrong lengths, empty and traversal segments', () => {
  for (const bad of [
    'projects/p1/locations/global/keyRing/kr1',
    'projects/p1/locations/global/keyRings',
    'projects/p1/locations/global/keyRings/kr1/x',
    'projects//locations/global/keyRings/kr1',
    'projects/../locations/global/keyRings/kr1',
    'projects/p 1/locations/global/keyRings/kr1',
  ]) {
    assert.equal(keyRing.tryParse(bad), undefined, bad);
    assert.throws(
      () => keyRing.parse(bad),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_RESOURCE_NAME',
    );
  }
  assert.throws(() => keyRing.format({ project: 'a/b', location: 'l', keyRing: 'k' }));
});

test('ids and project ids follow their rules', () => {
  assert.equal(checkResourceId('key-1_x', 'key id'), 'key-1_x');
  assert.throws(() => checkResourceId('bad/id', 'key id'), /Invalid key id/);
  assert.ok(PROJECT_ID_PATTERN.test('my-project-1'));
  assert.ok(!PROJECT_ID_PATTERN.test('My-project'));
  assert.ok(!PROJECT_ID_PATTERN.test('short'));
  assert.equal(projectOf('projects/abc/locations/x'), 'abc');
  assert.equal(projectOf('folders/1'), undefined);
});
