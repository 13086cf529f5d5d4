// Bundles a program of this repository into one folder of ES modules at install time (esbuild), and tells its
// runner whether that bundle is still newer than every source it was built from. Loading a bundle skips type
// stripping and resolving hundreds of files: what a program that starts often (npm start, the launcher) pays.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Plugin } from 'esbuild';

export interface BundleOptions {
  /** Entry name (the output file is `<name>.mjs`) → source path, relative to `root`. */
  readonly entryPoints: Readonly<Record<string, string>>;
  readonly root: string;
  /** The folder the bundle replaces; built beside it first, so a runner never sees half of one. */
  readonly outdir: string;
}

/** The manifest next to a bundle: when it was built and from which sources (relative to the bundle's folder). */
const INPUTS_FILE = 'inputs.json';

/** Builds the bundle; returns how many source files went into it. */
export async function bundleProgram(options: BundleOptions): Promise<number> {
  const started = Date.now();
  const { build } = await import('esbuild');
  const staging = `${options.outdir.replace(/\/+$/, '')}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: options.root,
    entryPoints: { ...options.entryPoints },
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
    plugins: [externalThirdParty(), withoutSideEffects(), sourceRelativeImportMeta(options.outdir)],
  });
  const files = Object.keys(result.metafile.inputs).map((p) => relative(options.outdir, join(options.root, p)));
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, INPUTS_FILE), `${JSON.stringify({ builtAt: started, files })}\n`);
  rmSync(options.outdir, { recursive: true, force: true });
  renameSync(staging, options.outdir);
  return files.length;
}

/**
 * `<outdir>/<entry>.mjs` when every source it was built from is older than the bundle; undefined when it
 * was not built, a source changed since (an edit, a checkout) or is gone: the caller then runs the sources.
 */
export function freshBundle(outdir: string, entry: string): string | undefined {
  try {
    const { builtAt, files } = JSON.parse(readFileSync(join(outdir, INPUTS_FILE), 'utf8')) as {
      builtAt: number;
      files: string[];
    };
    for (const file of files) if (statSync(join(outdir, file)).mtimeMs > builtAt) return undefined;
    return join(outdir, `${entry}.mjs`);
  } catch {
    return undefined;
  }
}

/** Only Sealroom's own sources are bundled; every other package is imported from node_modules at run time. */
export function externalThirdParty(): Plugin {
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
 * bundle drop the modules a program does not use.
 */
export function withoutSideEffects(): Plugin {
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

/**
 * Sources that find files next to themselves (protocol buffers, migrations, the console's assets) keep doing
 * so: each one's `import.meta.url` becomes its source file's URL, relative to the bundle's folder. Only code
 * is rewritten, never a string: the builder's banner for workload bundles spells `import.meta.url` as text,
 * and rewriting it would change every image built by a bundled program (a different digest than from source).
 */
export function sourceRelativeImportMeta(outdir: string, keep: readonly string[] = []): Plugin {
  return {
    name: 'source-relative-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (keep.includes(args.path) || !/import\.meta\.(url|dirname)/.test(text)) return undefined;
        const fromOut = relative(outdir, args.path).split('\\').join('/');
        const url = `new URL(${JSON.stringify(fromOut)}, import.meta.url)`;
        const dir = `decodeURIComponent(new URL(${JSON.stringify(`${dirname(fromOut)}/`)}, import.meta.url).pathname).replace(/\\/$/, '')`;
        const contents = replaceInCode(text, (name) => (name === 'url' ? `${url}.href` : dir));
        return { contents, loader: args.path.endsWith('ts') ? 'ts' : 'js' };
      });
    },
  };
}

/**
 * Replaces `import.meta.url` and `import.meta.dirname` where they are code: outside string literals and
 * comments (template literals' `${…}` are code). Regular-expression literals are not told apart from
 * division; none of the bundled sources puts either name in one.
 */
export function replaceInCode(text: string, replace: (name: 'url' | 'dirname') => string): string {
  const pattern = /import\.meta\.(url|dirname)\b/y;
  let out = '';
  let i = 0;
  /** Open template literals, each with the brace depth of its `${…}` when in one (-1: in the text part). */
  const templates: number[] = [];
  while (i < text.length) {
    const c = text[i] as string;
    const inTemplateText = templates.length > 0 && templates[templates.length - 1] === -1;
    if (inTemplateText) {
      if (c === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
      } else if (c === '`') {
        templates.pop();
        out += c;
        i += 1;
      } else if (c === '$' && text[i + 1] === '{') {
        templates[templates.length - 1] = 0;
        out += '${';
        i += 2;
      } else {
        out += c;
        i += 1;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const j = text.indexOf('\n', i);
      const end = j < 0 ? text.length : j;
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      const end = j < 0 ? text.length : j + 2;
      out += text.slice(i, end);
      i = end;
    } else if (c === '`') {
      templates.push(-1);
      out += c;
      i += 1;
    } else if (templates.length > 0 && (c === '{' || c === '}')) {
      const depth = templates[templates.length - 1] as number;
      if (c === '}' && depth === 0) templates[templates.length - 1] = -1;
      else templates[templates.length - 1] = depth + (c === '{' ? 1 : -1);
      out += c;
      i += 1;
    } else {
      pattern.lastIndex = i;
      const match = pattern.exec(text);
      if (match) {
        out += replace(match[1] as 'url' | 'dirname');
        i += match[0].length;
      } else {
        out += c;
        i += 1;
      }
    }
  }
  return out;
}
