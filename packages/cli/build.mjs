// Builds the installed `sealroom` into dist/ (npm runs it as `prepare`): one ES-module bundle of the
// command-line runner (entry.ts), with each command group split into a chunk imported only when one of its
// commands runs; dist/commands.json, every command's description (so help and parsing need no group's
// code); dist/inputs.json, the source files it was built from, so bin/sealroom.js runs the sources instead
// of a bundle older than them. Third-party packages stay external (node_modules). Runs on the pinned Node:
// the command list is read from the TypeScript sources.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runOnPinnedNode } from './bin/pinned-node.js';

const here = dirname(fileURLToPath(import.meta.url));

await runOnPinnedNode('sealroom build', import.meta.url, async () => {
  const started = Date.now();
  const { build } = await import('esbuild');
  const { COMMANDS } = await import(pathToFileURL(join(here, 'src', 'commands', 'index.ts')).href);
  const { COMMAND_MODULES } = await import(pathToFileURL(join(here, 'src', 'lazy-commands.ts')).href);
  const { commandsOf } = await import(pathToFileURL(join(here, 'src', 'entry.ts')).href);
  const { CLI_VERSION } = await import(pathToFileURL(join(here, 'src', 'main.ts')).href);
  const moduleOf = new Map();
  for (const [module, load] of Object.entries(COMMAND_MODULES)) {
    for (const spec of commandsOf(await load())) moduleOf.set(spec, module);
  }
  const commands = COMMANDS.map((spec) => {
    const module = moduleOf.get(spec);
    if (!module) throw new Error(`sealroom ${spec.path.join(' ')}: its group is not in src/lazy-commands.ts`);
    const { run: _run, ...entry } = spec;
    return { ...entry, module };
  });

  const staging = join(here, `.dist-${process.pid}`);
  const out = join(here, 'dist');
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: here,
    entryPoints: { entry: 'src/entry.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
    // Sources that find files next to themselves (protocol buffers, the console's assets, the runtime
    // layer) keep doing so: their import.meta.url is their source file's, relative to the chunk.
    plugins: [externalThirdParty(), withoutSideEffects(), sourceRelativeImportMeta()],
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(here, join(here, p)));
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'commands.json'), `${JSON.stringify({ version: CLI_VERSION, commands })}\n`);
  writeFileSync(join(staging, 'inputs.json'), `${JSON.stringify({ builtAt: started, files: inputs })}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  process.stderr.write(`@sealroom/cli: built dist/ (${inputs.length} source files) in ${Date.now() - started} ms\n`);
  return 0;
});

/** Only Sealroom's own packages are bundled; everything else is imported from node_modules at run time. */
function externalThirdParty() {
  return {
    name: 'external-third-party',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith('@sealroom/') ? undefined : { path: args.path, external: true },
      );
    },
  };
}

/**
 * Sealroom's sources declare and export; importing one runs nothing else worth keeping. Saying so lets the
 * bundle drop the modules (and their imports of node:sqlite, node:crypto, …) that a chunk does not use.
 */
function withoutSideEffects() {
  return {
    name: 'without-side-effects',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.inner || args.kind === 'entry-point') return undefined;
        const result = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { inner: true },
        });
        if (result.errors.length > 0 || result.external || !result.path.endsWith('.ts')) return undefined;
        return { path: result.path, sideEffects: false };
      });
    },
  };
}

/** Rewrites `import.meta.url` in each bundled source to that source's URL, relative to the chunk. */
function sourceRelativeImportMeta() {
  return {
    name: 'source-relative-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        const { readFile } = await import('node:fs/promises');
        const text = await readFile(args.path, 'utf8');
        // entry.ts means its own place: dist/, where commands.json is.
        if (!text.includes('import.meta.url') || args.path === join(here, 'src', 'entry.ts')) return undefined;
        // Every chunk is in dist/, so the package root is one step up from any of them.
        const fromRoot = relative(here, args.path).split('\\').join('/');
        const contents = text.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(`../${fromRoot}`)}, import.meta.url).href`,
        );
        return { contents, loader: args.path.endsWith('ts') ? 'ts' : 'js' };
      });
    },
  };
}
