// Bundles the workload with esbuild into one ESM file; paths in the output are relative to the source dir.
import { build, version as esbuildVersion } from 'esbuild';
import { BuilderError } from './errors.ts';

export interface BundleResult {
  readonly code: Buffer;
  /** Source-relative input paths esbuild read (for the SBOM and provenance). */
  readonly inputs: readonly string[];
  readonly bundler: string;
}

/**
 * CommonJS dependencies inside an ESM bundle need `require`, and many (google-gax, protobufjs) read
 * `__dirname`/`__filename`. Those two are set on globalThis rather than declared, so an ES module in
 * the bundle that declares its own `__dirname` does not clash. The banner is constant: still reproducible.
 */
const REQUIRE_BANNER =
  "import { createRequire as __sealroomCreateRequire } from 'node:module';\n" +
  "import { fileURLToPath as __sealroomFileURLToPath } from 'node:url';\n" +
  "import { dirname as __sealroomDirname } from 'node:path';\n" +
  'const require = __sealroomCreateRequire(import.meta.url);\n' +
  'globalThis.__filename ??= __sealroomFileURLToPath(import.meta.url);\n' +
  'globalThis.__dirname ??= __sealroomDirname(globalThis.__filename);';

export async function bundleWorkload(
  dir: string,
  entry: string,
  options: { readonly external?: readonly string[] } = {},
): Promise<BundleResult> {
  try {
    const result = await build({
      absWorkingDir: dir,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      write: false,
      outfile: 'index.mjs',
      metafile: true,
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'silent',
      banner: { js: REQUIRE_BANNER },
      external: [...(options.external ?? [])],
    });
    const file = result.outputFiles.find((f) => f.path.endsWith('index.mjs'));
    if (!file) throw new BuilderError('ERR_BUILDER_BUNDLE', 'esbuild produced no index.mjs');
    return {
      code: Buffer.from(file.contents),
      inputs: Object.keys(result.metafile.inputs).sort(),
      bundler: `esbuild@${esbuildVersion}`,
    };
  } catch (cause) {
    const errors = (cause as { errors?: { text: string }[] }).errors;
    const detail = errors
      ? errors
          .slice(0, 3)
          .map((e) => e.text)
          .join('; ')
      : String((cause as Error).message);
    throw new BuilderError('ERR_BUILDER_BUNDLE', `Bundling '${entry}' failed: ${detail}`, { cause });
  }
}
