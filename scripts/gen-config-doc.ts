// Regenerates the settings reference in docs/config.md from the configuration fragments.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';
import { renderConfigDoc } from './lib/config-doc.ts';

writeFileSync(join(resolveRepoRoot(), 'docs', 'config.md'), renderConfigDoc());
