// `npm start`: runs the control plane in dev mode (state in ./.sealroom, or SEALROOM_STATE_DIR) until Ctrl-C.
// When the seed scenario is present (examples/wordcount/scenario.ts) it runs it against this server first,
// unless `npm start -- --no-scenario`. Ctrl-C (SIGINT) or SIGTERM stops the server and its instances' workloads.
// The program (lib/npm-start.ts) runs from the bundle `npm ci` built into scripts/dist/ (build-start.ts), unless
// a source file it was built from changed since: then from the sources, which costs a second more to start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freshBundle } from './lib/bundle.ts';
import type { NpmStartOptions } from './lib/npm-start.ts';

const bundle = freshBundle(join(import.meta.dirname, 'dist'), 'npm-start');
const source = join(import.meta.dirname, '..', 'examples', 'wordcount', 'scenario.ts');
const scenario = bundle ? join(import.meta.dirname, 'dist', 'scenario.mjs') : source;
const program = (await import(bundle ? pathToFileURL(bundle).href : './lib/npm-start.ts')) as {
  runNpmStart(options: NpmStartOptions): Promise<void>;
};
await program.runNpmStart(existsSync(scenario) ? { scenario: pathToFileURL(scenario).href } : {});
