// Regenerates the command reference in docs/cli.md from the CLI's command table.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';
import { renderCliDoc } from './lib/cli-doc.ts';

writeFileSync(join(resolveRepoRoot(), 'docs', 'cli.md'), await renderCliDoc());
