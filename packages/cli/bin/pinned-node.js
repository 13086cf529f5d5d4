// Runs a command on the pinned Node.js 24 (the `node` npm package), re-executing the calling script under
// it when another Node started it: the sources are TypeScript that only Node 24 runs directly.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `scriptUrl` is the caller's `import.meta.url`; `main` runs when this process already is the pinned
 * Node (or, without the package, any Node 24) and returns the exit code.
 */
export async function runOnPinnedNode(name, scriptUrl, main) {
  const require = createRequire(import.meta.url);
  let pinned;
  try {
    pinned = realpathSync(join(dirname(require.resolve('node/package.json')), 'bin', 'node'));
  } catch {
    pinned = undefined;
  }
  if (pinned && realpathSync(process.execPath) !== pinned) {
    const result = spawnSync(pinned, [fileURLToPath(scriptUrl), ...process.argv.slice(2)], { stdio: 'inherit' });
    if (result.error) {
      process.stderr.write(`${name}: cannot start the pinned Node.js: ${result.error.message}\n`);
      process.exit(1);
    }
    process.exit(result.status ?? 128 + (constants.signals[result.signal] ?? 1));
  }
  if (!pinned && Number(process.versions.node.split('.')[0]) < 24) {
    process.stderr.write(
      `${name}: Node.js 24 is required; run \`npm ci\` in the repository to install the pinned version.\n`,
    );
    process.exit(1);
  }
  process.exitCode = await main(process.argv.slice(2));
}
