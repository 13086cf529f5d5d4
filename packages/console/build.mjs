// Builds the console (app/) into dist/: content-hashed, minified assets and an index.html that names them.
// Plain JavaScript so that any Node.js that npm runs `prepare` with can build it; no network is needed.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const staging = join(here, `.dist-${process.pid}`);
const started = Date.now();

rmSync(staging, { recursive: true, force: true });
const result = await build({
  absWorkingDir: here,
  entryPoints: { app: 'app/main.tsx' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(staging, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
const style = outputs.find((f) => f.startsWith('app-') && f.endsWith('.css'));
if (!script || !style) throw new Error(`the console build produced no script or stylesheet: ${outputs.join(', ')}`);
// Subresource integrity, so the page runs only the bytes this build produced.
const integrity = (file) =>
  `sha384-${createHash('sha384')
    .update(readFileSync(join(staging, 'assets', file)))
    .digest('base64')}`;
const html = readFileSync(join(here, 'app', 'index.html'), 'utf8')
  .replace('%STYLE%', `<link rel="stylesheet" href="assets/${style}" integrity="${integrity(style)}">`)
  .replace('%SCRIPT%', `<script type="module" src="assets/${script}" integrity="${integrity(script)}"></script>`);
writeFileSync(join(staging, 'index.html'), html);
// Replace the previous build in one step, so a server reading dist/ never sees half of one.
mkdirSync(out, { recursive: true });
const old = join(here, `.dist-old-${process.pid}`);
renameSync(out, old);
renameSync(staging, out);
rmSync(old, { recursive: true, force: true });
process.stdout.write(`console built in ${Date.now() - started} ms: dist/assets/${script}, dist/assets/${style}\n`);
