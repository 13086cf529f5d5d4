// Regenerates docs/errors.md from the error catalogues of every package.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';
import { renderErrorsDoc } from './lib/errors-doc.ts';

writeFileSync(join(resolveRepoRoot(), 'docs', 'errors.md'), await renderErrorsDoc());
