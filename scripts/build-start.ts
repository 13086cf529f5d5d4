// Bundles `npm start`'s program and the seed scenario into scripts/dist/ (npm runs it as the root `prepare`, so
// `npm ci` leaves it built): a first `npm start` then loads a few files instead of type-stripping ~400 sources.
// scripts/start.ts runs the sources instead whenever one of them is newer than the bundle.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleProgram } from './lib/bundle.ts';

const root = join(import.meta.dirname, '..');
const scenario = join('examples', 'wordcount', 'scenario.ts');
const started = Date.now();
const files = await bundleProgram({
  root,
  outdir: join(root, 'scripts', 'dist'),
  entryPoints: {
    'npm-start': join('scripts', 'lib', 'npm-start.ts'),
    ...(existsSync(join(root, scenario)) ? { scenario } : {}),
  },
});
process.stderr.write(`npm start: bundled scripts/dist/ (${files} source files) in ${Date.now() - started} ms\n`);
