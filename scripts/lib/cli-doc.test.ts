import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';
import { renderCliDoc } from './cli-doc.ts';

test('docs/cli.md lists exactly the commands the CLI offers (run `npm run docs:cli`)', async () => {
  assert.equal(readFileSync(join(resolveRepoRoot(), 'docs', 'cli.md'), 'utf8'), await renderCliDoc());
});
