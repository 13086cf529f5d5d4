// Bundles `npm start`'s program and the seed scenario into scripts/dist/, and the launcher every instance boot
// starts into packages/compute/dist/ (npm runs it as the root `prepare`, so `npm ci` leaves them built): a first
// `npm start` then loads a few files instead of type-stripping ~480 sources, a boot's launcher ~250 fewer.
// Each runner takes the sources instead whenever one of them is newer than its bundle.
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
// The program each instance boot starts (packages/compute/src/launcher-program.ts runs it while it is fresh).
const launcher = await bundleProgram({
  root,
  outdir: join(root, 'packages', 'compute', 'dist'),
  entryPoints: { 'launcher-entry': join('packages', 'compute', 'src', 'launcher-entry.ts') },
});
process.stderr.write(`sealroom launcher: bundled packages/compute/dist/ (${launcher} source files)\n`);
