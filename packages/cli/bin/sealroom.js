#!/usr/bin/env node
// Entry point of the `sealroom` command: the CLI, on the pinned Node.js. It runs the bundle `npm ci` built
// (dist/, see build.mjs) unless a source file it was built from changed since, then the sources themselves.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runOnPinnedNode } from './pinned-node.js';

// Required, not imported: see pinned-node.js.
const { readFileSync, statSync } = createRequire(import.meta.url)('node:fs');

/**
 * dist/entry.mjs when it is newer than every source it was built from. Paths, not URLs: each command stats
 * ~430 files, and building a URL for each cost about as much as the stat.
 */
function freshBundle() {
  const root = fileURLToPath(new URL('../', import.meta.url));
  try {
    const { builtAt, files } = JSON.parse(readFileSync(`${root}dist/inputs.json`, 'utf8'));
    // Concatenated, not join()ed: the kernel resolves each `../`, and normalising ~430 paths in a cold
    // process cost more than the stats.
    for (const file of files) if (statSync(root + file).mtimeMs > builtAt) return undefined;
    return new URL('../dist/entry.mjs', import.meta.url).href;
  } catch {
    return undefined; // not built, or a source is gone
  }
}

await runOnPinnedNode('sealroom', import.meta.url, async (argv) => {
  const bundle = freshBundle();
  return (await import(bundle ?? '../src/main.ts')).main(argv);
});
