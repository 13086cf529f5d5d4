// `sealroom build`: bundle a Node workload and put it on the runtime base as a reproducible OCI image.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { type ImageConfig, openOciLayout } from '@sealroom/formats';
import { type BaseImage, loadBaseImage } from './base-image.ts';
import { loadBuildConfig } from './build-config.ts';
import { bundleWorkload } from './bundle.ts';
import { BuilderError } from './errors.ts';
import { buildImageConfig, buildImageManifest, type ImageBlobs, toCreated } from './image.ts';
import { type Compression, describeCompressor, type LayerBlob, toLayerBlob } from './layer.ts';
import { type RuntimeBase, resolveNodeRuntime } from './runtime.ts';
import { collectComponents, type SbomComponent } from './sbom.ts';
import { computeSourceDigest } from './source.ts';
import { type TarEntry, writeTar } from './tar.ts';
import type { DockerfileBuildInputs } from './dockerfile/build.ts';

export const APP_DIR = '/app';
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BuildOptions {
  /** The workload's source folder (holds package.json and optionally sealroom.build.json). */
  readonly dir: string;
  readonly configPath?: string;
  /**
   * Defaults to the pinned Node runtime resolved on this host (`resolveNodeRuntime`); a function is called
   * once the workload's bundling has started, so the two overlap.
   */
  readonly runtime?: RuntimeBase | (() => RuntimeBase);
  /** Instead of the runtime: a base image from an OCI layout, pinned by digest. */
  readonly base?: { readonly layoutDir: string; readonly digest: string };
  readonly sourceDateEpoch?: number;
  readonly compression?: Compression;
  /** Reuses the runtime layer across builds (it is large and rarely changes). */
  readonly layerCache?: LayerCache;
  /** Writes the image into this OCI layout (created if missing), named `tag` when given. */
  readonly layoutDir?: string;
  readonly tag?: string;
}

export interface NodeBuildInputs {
  readonly kind: 'node';
  readonly sourceDigest: string;
  readonly bundler: string;
  readonly compressor: string;
  readonly runtime: Readonly<Record<string, string>>;
  readonly components: readonly SbomComponent[];
  readonly app: { readonly name: string; readonly version: string };
}

export type BuildInputs = NodeBuildInputs | DockerfileBuildInputs;

export interface BuiltImage {
  readonly digest: string;
  readonly configDigest: string;
  readonly manifest: Buffer;
  readonly config: ImageConfig;
  readonly layers: readonly LayerBlob[];
  readonly blobs: ImageBlobs;
  readonly inputs: BuildInputs;
}

/** Built runtime layers by a key of their content (a Map in memory, or a host's cache on disk). */
export interface LayerCache {
  get(key: string): LayerBlob | undefined;
  set(key: string, layer: LayerBlob): unknown;
}

export function createLayerCache(): LayerCache {
  return new Map<string, LayerBlob>();
}

function buildRuntimeLayer(
  runtime: RuntimeBase,
  compression: Compression,
  epoch: number,
  cache?: LayerCache,
): LayerBlob {
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        runtime.files.map((f) => [f.imagePath, f.mode, f.sha256]),
        compression,
        describeCompressor(compression),
        epoch,
      ]),
    )
    .digest('hex');
  const cached = cache?.get(key);
  if (cached) return cached;
  const entries: TarEntry[] = [{ type: 'dir', path: 'tmp', mode: 0o1777 }];
  for (const file of runtime.files) {
    const content = readFileSync(file.hostPath);
    if (createHash('sha256').update(content).digest('hex') !== file.sha256) {
      throw new BuilderError('ERR_BUILDER_RUNTIME', `Runtime file '${file.imagePath}' changed since it was resolved.`);
    }
    entries.push({ type: 'file', path: file.imagePath, content, mode: file.mode });
  }
  const layer = toLayerBlob(writeTar(entries, { mtimeSeconds: epoch }), compression);
  cache?.set(key, layer);
  return layer;
}

function runtimeBase(runtime: RuntimeBase, compression: Compression, epoch: number, cache?: LayerCache): BaseImage {
  return {
    layers: [buildRuntimeLayer(runtime, compression, epoch, cache)],
    env: [],
    labels: runtime.labels,
    nodePath: runtime.nodePath,
  };
}

function readApp(dir: string): { name: string; version: string } {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return {
      name: typeof pkg.name === 'string' ? pkg.name : 'workload',
      version: typeof pkg.version === 'string' ? pkg.version : '0.0.0',
    };
  } catch {
    return { name: 'workload', version: '0.0.0' };
  }
}

/**
 * Builds a Node.js workload into a reproducible OCI image: the same source gives the same digest in
 * another directory, at another time, as another user. `sealroom build` calls it, then pushes the image.
 *
 * @example
 * ```ts
 * const image = await buildImage({ dir: 'examples/wordcount', layoutDir: 'out/layout', tag: 'v1' });
 * image.digest; // sha256:… of the manifest, the digest the launcher measures and the token carries
 * ```
 */
export async function buildImage(options: BuildOptions): Promise<BuiltImage> {
  const dir = resolve(options.dir);
  const config = loadBuildConfig(dir, options.configPath);
  const epoch = options.sourceDateEpoch ?? config.sourceDateEpoch;
  const compression = options.compression ?? config.compression;
  // esbuild bundles the workload in its own process while this one resolves and hashes the runtime layer
  // (~140 MB): started first, the two overlap on a second core. A failed base is reported before the bundle.
  const bundling = bundleWorkload(dir, config.entry, { external: config.external });
  bundling.catch(() => undefined);
  // One turn of the event loop sends the request to esbuild's process before the synchronous work below.
  await new Promise((resolve) => setImmediate(resolve));
  const runtime = () =>
    typeof options.runtime === 'function' ? options.runtime() : (options.runtime ?? resolveNodeRuntime(dir));
  const base = options.base
    ? await loadBaseImage(options.base.layoutDir, options.base.digest)
    : runtimeBase(runtime(), compression, epoch, options.layerCache);
  const bundle = await bundling;
  const sourceDigest = computeSourceDigest(dir);
  const app = readApp(dir);

  const appTar = writeTar([{ type: 'file', path: `${APP_DIR}/index.mjs`, content: bundle.code }], {
    mtimeSeconds: epoch,
  });
  const appLayer = toLayerBlob(appTar, compression);
  const created = toCreated(epoch);
  const imageConfig = buildImageConfig({
    created,
    config: {
      ...(config.user === undefined ? {} : { User: config.user }),
      ...(config.exposedPorts.length > 0
        ? { ExposedPorts: Object.fromEntries(config.exposedPorts.map((p) => [p, {}])) }
        : {}),
      Env: [...(base.env.some((e) => e.startsWith('PATH=')) ? base.env : [DEFAULT_PATH, ...base.env]), ...config.env],
      Entrypoint: config.entrypoint ?? [base.nodePath, `${APP_DIR}/index.mjs`],
      ...(config.cmd.length > 0 ? { Cmd: config.cmd } : {}),
      WorkingDir: config.workingDir,
      Labels: { ...base.labels, 'org.sealroom.build.source-digest': sourceDigest, ...config.labels },
      ...(config.stopSignal === undefined ? {} : { StopSignal: config.stopSignal }),
    },
    layers: [
      ...base.layers.map((l) => ({
        diffId: l.diffId,
        createdBy: `sealroom build: base ${base.labels['org.sealroom.base.image'] ?? 'node runtime'}`,
      })),
      { diffId: appLayer.diffId, createdBy: `sealroom build: ${bundle.bundler} bundle of ${config.entry}` },
    ],
  });
  const layers = [...base.layers, appLayer];
  const blobs = buildImageManifest(imageConfig, layers);
  const image: BuiltImage = {
    digest: blobs.manifest.descriptor.digest,
    configDigest: blobs.config.descriptor.digest,
    manifest: blobs.manifest.bytes,
    config: imageConfig,
    layers,
    blobs,
    inputs: {
      kind: 'node',
      sourceDigest,
      bundler: bundle.bundler,
      compressor: describeCompressor(compression),
      runtime: base.labels,
      components: collectComponents(dir, bundle.inputs),
      app,
    },
  };
  if (options.layoutDir !== undefined) await writeImageToLayout(image, options.layoutDir, options.tag);
  return image;
}

export async function writeImageToLayout(
  image: Pick<BuiltImage, 'layers' | 'blobs' | 'configDigest' | 'digest' | 'manifest'>,
  layoutDir: string,
  tag?: string,
): Promise<void> {
  const layout = await openOciLayout(layoutDir, { create: true });
  for (const layer of image.layers) await layout.putBlob(layer.bytes, layer.digest);
  await layout.putBlob(image.blobs.config.bytes, image.configDigest);
  await layout.putBlob(image.manifest, image.digest);
  await layout.addManifest(image.blobs.manifest.descriptor, tag);
}
