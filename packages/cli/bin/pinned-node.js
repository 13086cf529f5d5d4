// Runs a command on the pinned Node.js 24 (the `node` npm package), re-executing the calling script under
// it when another Node started it: the sources are TypeScript that only Node 24 runs directly.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Required, not imported: an ES import of node:fs builds its namespace, which loads fs's stream and promise
// modules, a tenth of a short `sealroom` command's start.
const { existsSync, realpathSync } = createRequire(import.meta.url)('node:fs');

/** Signals passed on to the re-executed Node, so that stopping this process stops the command. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `scriptUrl` is the caller's `import.meta.url`; `main` runs when this process already is the pinned
 * Node (or, without the package, any Node 24) and returns the exit code.
 */
export async function runOnPinnedNode(name, scriptUrl, main) {
  const pinned = pinnedNode();
  if (pinned && realpathSync.native(process.execPath) !== pinned) {
    process.exit(await reexecute(name, pinned, fileURLToPath(scriptUrl)));
  }
  if (!pinned && Number(process.versions.node.split('.')[0]) < 24) {
    process.stderr.write(
      `${name}: Node.js 24 is required; run \`npm ci\` in the repository to install the pinned version.\n`,
    );
    process.exit(1);
  }
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * The pinned Node's executable, real path: the `node` package in the nearest node_modules above this file,
 * as Node's resolution (and bin/sealroom) finds it; undefined without the package. A walk of a few
 * directories, not require.resolve(), which costs a short command more than its own work.
 */
function pinnedNode() {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', 'node', 'bin', 'node');
    if (existsSync(candidate)) return realpathSync.native(candidate);
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Runs `script` on `node` with this process's arguments and terminal; resolves with its exit code. A
 * SIGINT, SIGTERM or SIGHUP sent to this process is sent on (a Ctrl-C at a terminal reaches both processes
 * as well: the commands that handle SIGINT take a second one within a second as the same).
 */
async function reexecute(name, node, script) {
  // Imported here: child_process brings net, streams and dgram, which a command on the pinned Node skips.
  const [{ spawn }, { constants }] = await Promise.all([import('node:child_process'), import('node:os')]);
  return new Promise((resolve) => {
    const child = spawn(node, [script, ...process.argv.slice(2)], { stdio: 'inherit' });
    const forward = (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    child.once('error', (error) => {
      process.stderr.write(`${name}: cannot start the pinned Node.js: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 1)));
  });
}
