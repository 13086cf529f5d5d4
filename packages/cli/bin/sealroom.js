#!/usr/bin/env node
// Entry point of the `sealroom` command: the CLI, on the pinned Node.js. It runs the bundle `npm ci` built
// (dist/, see build.mjs) unless a source file it was built from changed since, then the sources themselves.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOnPinnedNode } from './pinned-node.js';

/**
 * dist/entry.mjs when it is newer than every source it was built from. Paths, not URLs: each command stats
 * ~430 files, and building a URL for each cost about as much as the stat.
 */
function freshBundle() {
  const root = fileURLToPath(new URL('../', import.meta.url));
  try {
    const { builtAt, files } = JSON.parse(readFileSync(join(root, 'dist', 'inputs.json'), 'utf8'));
    for (const file of files) if (statSync(join(root, file)).mtimeMs > builtAt) return undefined;
    return new URL('../dist/entry.mjs', import.meta.url).href;
  } catch {
    return undefined; // not built, or a source is gone
  }
}

await runOnPinnedNode('sealroom', import.meta.url, async (argv) => {
  const bundle = freshBundle();
  return (await import(bundle ?? '../src/main.ts')).main(argv);
});
