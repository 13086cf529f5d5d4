#!/usr/bin/env node
// Entry point of `sealroom-wordcount`: runs the CLI on the pinned Node.js, re-executing itself under it
// when another Node started it (the sources are TypeScript that only Node 24 runs directly).
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
let pinned;
try {
  pinned = realpathSync(join(dirname(require.resolve('node/package.json')), 'bin', 'node'));
} catch {
  pinned = undefined;
}
const current = realpathSync(process.execPath);

if (pinned && current !== pinned) {
  const result = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.error) {
    process.stderr.write(`sealroom-wordcount: cannot start the pinned Node.js: ${result.error.message}\n`);
    process.exit(1);
  }
  process.exit(result.status ?? 128 + (constants.signals[result.signal] ?? 1));
} else if (!pinned && Number(process.versions.node.split('.')[0]) < 24) {
  process.stderr.write(
    'sealroom-wordcount: Node.js 24 is required; run `npm ci` in the repository to install the pinned version.\n',
  );
  process.exit(1);
} else {
  const { runWordcount } = await import('../src/cli/main.ts');
  process.exitCode = await runWordcount(process.argv.slice(2));
}
