import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';
import { collectErrorRows, renderErrorsDoc } from './errors-doc.ts';

test('docs/errors.md lists exactly the error codes the packages define (run `npm run docs:errors`)', async () => {
  const onDisk = readFileSync(join(resolveRepoRoot(), 'docs', 'errors.md'), 'utf8');
  assert.equal(onDisk, await renderErrorsDoc());
});

test('every error code is ERR_ and upper snake case, and its status maps to HTTP', async () => {
  const rows = await collectErrorRows();
  assert.ok(rows.length > 20);
  for (const row of rows) assert.match(row.code, /^ERR_[A-Z0-9_]+$/);
});
