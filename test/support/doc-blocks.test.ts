import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractShellBlocks } from './doc-blocks.ts';

test('shell blocks are found with their line, no-run ones left out, needs= read', () => {
  const text = [
    '# Title', // 1
    '```sh', // 2
    'echo one',
    '```',
    '```sh no-run',
    'sealroom thing [--maybe]',
    '```',
    '```yaml',
    'a: b',
    '```',
    '```bash needs=buildah,runc',
    'buildah --version',
    'echo two',
    '```',
  ].join('\n');
  assert.deepEqual(extractShellBlocks(text, 'page.md'), [
    { where: 'page.md:2', code: 'echo one', needs: [] },
    { where: 'page.md:11', code: 'buildah --version\necho two', needs: ['buildah', 'runc'] },
  ]);
  assert.deepEqual(
    extractShellBlocks(text, 'page.md', 3).map((b) => b.where),
    ['page.md:11'],
    'blocks before the section are left out',
  );
});
