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
/** esbuild's namespace of the `node:fs` module fsWithoutNamespace() writes (not a file: not an input). */
const FS_NAMESPACE = 'fs-without-namespace';

await runOnPinnedNode('sealroom build', import.meta.url, async () => {
  const started = Date.now();
  const { build } = await import('esbuild');
  // The plugins npm start's bundle uses too (scripts/lib/bundle.ts); the command list is read from the sources.
  const { externalThirdParty, sourceRelativeImportMeta, withoutSideEffects } = await import(
    pathToFileURL(join(here, '..', '..', 'scripts', 'lib', 'bundle.ts')).href
  );
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
    // layer) keep doing so: their import.meta.url is their source file's, relative to the chunk; entry.ts
    // means its own place: dist/, where commands.json is.
    plugins: [
      fsWithoutNamespace(),
      externalThirdParty(),
      withoutSideEffects(),
      sourceRelativeImportMeta(join(here, 'dist'), [join(here, 'src', 'entry.ts')]),
    ],
  });
  // A name fsWithoutNamespace() leaves out (a stream class, `promises`) would be undefined at run time.
  const undefinedImports = result.warnings.filter((w) => w.id === 'import-is-undefined');
  if (undefinedImports.length > 0) {
    throw new Error(`sealroom build: ${undefinedImports.map((w) => w.text).join('; ')}; import it from its own module`);
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.startsWith(`${FS_NAMESPACE}:`))
    .map((p) => relative(here, join(here, p)));
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'commands.json'), `${JSON.stringify({ version: CLI_VERSION, commands })}\n`);
  writeFileSync(join(staging, 'inputs.json'), `${JSON.stringify({ builtAt: started, files: inputs })}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  process.stderr.write(`@sealroom/cli: built dist/ (${inputs.length} source files) in ${Date.now() - started} ms\n`);
  return 0;
});

/**
 * `node:fs` as the CJS object, not its ES namespace: building the namespace reads every export, and
 * fs's getters (`promises`, the stream classes) load fs/promises, readline and the stream modules, about
 * a tenth of what `sealroom --version` costs. The module exports every plain property; an import of a
 * getter's name fails the build (above) instead of being undefined.
 */
function fsWithoutNamespace() {
  return {
    name: FS_NAMESPACE,
    setup(b) {
      b.onResolve({ filter: /^(node:)?fs$/ }, () => ({ path: 'node:fs', namespace: FS_NAMESPACE }));
      b.onLoad({ filter: /.*/, namespace: FS_NAMESPACE }, () => {
        const fs = process.getBuiltinModule('node:fs');
        const names = Object.entries(Object.getOwnPropertyDescriptors(fs))
          .filter(([name, d]) => !d.get && /^[A-Za-z_$][\w$]*$/.test(name))
          .map(([name]) => name);
        return {
          contents: `const fs = process.getBuiltinModule('node:fs');\nexport default fs;\nexport const { ${names.join(', ')} } = fs;\n`,
          loader: 'js',
        };
      });
    },
  };
}
