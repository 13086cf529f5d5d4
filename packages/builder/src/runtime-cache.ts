// A host's cache of the Node runtime base, so that only the first build on a machine pays for it: the resolved
// files (dpkg lookups, hashes of ~100 MB), keyed by what those files are on disk, and the runtime layer, keyed
// by the files' content. The image is the same either way; the cache only skips recomputing it.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { LayerCache } from './build.ts';
import type { LayerBlob } from './layer.ts';
import { IMAGE_NODE_PATH, locateNodeBinary, parseLddOutput, type RuntimeBase, resolveNodeRuntime } from './runtime.ts';

/** Layers kept: the runtime of the pinned Node, and the one before it while a checkout moves between pins. */
const KEPT_LAYERS = 2;

export interface RuntimeCache {
  /** `resolveNodeRuntime`, answered from the cache while the binary, its libraries and dpkg's database are unchanged. */
  resolveNodeRuntime(fromDir?: string): RuntimeBase;
  /** The built runtime layers, for `buildImage`'s `layerCache`. */
  readonly layers: LayerCache;
}

/** The cache folder: `SEALROOM_CACHE_DIR`, else `$XDG_CACHE_HOME/sealroom`, else `~/.cache/sealroom`. */
export function runtimeCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.SEALROOM_CACHE_DIR) return env.SEALROOM_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'sealroom');
  return env.HOME ? join(env.HOME, '.cache', 'sealroom') : undefined;
}

export function openRuntimeCache(dir: string): RuntimeCache {
  const root = join(dir, 'runtime');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const write = (name: string, bytes: Buffer | string) => {
    const temp = join(root, `.${name}.${process.pid}.tmp`);
    writeFileSync(temp, bytes, { mode: 0o600 });
    renameSync(temp, join(root, name));
  };
  return {
    resolveNodeRuntime(fromDir = process.cwd()) {
      const { key, nodePath } = fingerprintOf(fromDir);
      const file = join(root, `base-${key}.json`);
      try {
        const cached = JSON.parse(readFileSync(file, 'utf8')) as RuntimeBase;
        // The same pinned package in another checkout: its binary is read from there if the layer is built.
        return {
          ...cached,
          files: cached.files.map((f) => (f.imagePath === IMAGE_NODE_PATH ? { ...f, hostPath: nodePath } : f)),
        };
      } catch {
        const base = resolveNodeRuntime(fromDir);
        write(`base-${key}.json`, JSON.stringify(base));
        return base;
      }
    },
    layers: {
      get(key) {
        try {
          const meta = JSON.parse(readFileSync(join(root, `layer-${key}.json`), 'utf8')) as Omit<LayerBlob, 'bytes'> & {
            size: number;
          };
          const bytes = readFileSync(join(root, `layer-${key}.blob`));
          // A blob cut short (a full disk, a killed write) is rebuilt, never used; its digest is the registry's check.
          if (bytes.length !== meta.size) return undefined;
          return { mediaType: meta.mediaType, digest: meta.digest, diffId: meta.diffId, bytes };
        } catch {
          return undefined;
        }
      },
      set(key, layer) {
        write(`layer-${key}.blob`, layer.bytes);
        write(
          `layer-${key}.json`,
          JSON.stringify({
            mediaType: layer.mediaType,
            digest: layer.digest,
            diffId: layer.diffId,
            size: layer.bytes.length,
          }),
        );
        pruneLayers(root, `layer-${key}.blob`);
      },
    },
  };
}

/**
 * What the runtime's files are on this host without reading them: the pinned package (npm checked its
 * integrity when it installed the binary) and the binary's size, so every checkout of the same pin shares
 * one entry; for each library ldd lists its inode, size and change times; dpkg's database stands for the
 * packages' versions. A layer not in the cache is built from the files and checked against their hashes.
 */
function fingerprintOf(fromDir: string): { key: string; nodePath: string } {
  const node = locateNodeBinary(fromDir);
  const ldd = execFileSync('ldd', [node.path], { encoding: 'utf8' });
  const paths = [...parseLddOutput(ldd).map((lib) => realpathSync(lib.hostPath)), '/var/lib/dpkg/status'];
  const stats = paths.map((path) => {
    const s = statSync(path);
    return [path, s.dev, s.ino, s.size, s.mtimeMs, s.ctimeMs];
  });
  const key = createHash('sha256')
    .update(JSON.stringify([node.pkg, node.version, node.integrity, statSync(node.path).size, stats]))
    .digest('hex');
  return { key, nodePath: node.path };
}

/** Keeps the layer just written and the newest others, KEPT_LAYERS in all. */
function pruneLayers(root: string, written: string): void {
  const others = readdirSync(root)
    .filter((name) => name.startsWith('layer-') && name.endsWith('.blob') && name !== written)
    .map((name) => ({ name, time: statSync(join(root, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  for (const { name } of others.slice(KEPT_LAYERS - 1)) {
    rmSync(join(root, name), { force: true });
    rmSync(join(root, name.replace(/\.blob$/, '.json')), { force: true });
  }
}
