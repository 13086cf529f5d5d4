#!/usr/bin/env node
// Entry point of the `sealroom` command: the CLI, on the pinned Node.js.
import { runOnPinnedNode } from './pinned-node.js';

await runOnPinnedNode('sealroom', import.meta.url, async (argv) => (await import('../src/main.ts')).main(argv));
