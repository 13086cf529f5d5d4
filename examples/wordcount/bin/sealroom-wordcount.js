#!/usr/bin/env node
// Entry point of `sealroom-wordcount`: the collaborators' client, on the pinned Node.js.
import { runOnPinnedNode } from '@sealroom/cli/pinned-node';

await runOnPinnedNode('sealroom-wordcount', import.meta.url, async (argv) =>
  (await import('../src/cli/main.ts')).runWordcount(argv),
);
