// The engine's result in canonical form: the final stage's base kept byte for byte, everything the build
// added on top written again as one layer by the project's tar writer, and the config rewritten.
import type { ImageConfig, ImageManifest, OciLayout } from '@sealroom/formats';
import { buildImageManifest, type ImageBlobs, toCreated } from '../image.ts';
import { type Compression, type LayerBlob, toLayerBlob } from '../layer.ts';
import { writeTar } from '../tar.ts';
import { toDockerfileImageConfig } from './image-config.ts';
import { applyLayerTo, diffStates, dropEngineMountPoints, type FsState, toLayerTar } from './layers.ts';

export interface CanonicalImageInput {
  /** The OCI layout the engine exported its image to, as `result`. */
  readonly outputLayout: OciLayout;
  /** The layout holding the pinned bases the build used. */
  readonly basesLayout: OciLayout;
  readonly bases: readonly { readonly digest: string; readonly manifest: string }[];
  readonly epochSeconds: number;
  readonly compression: Compression;
  /** The Dockerfile instructions that built the final stage on its base, for the history. */
  readonly steps: readonly string[];
}

export interface CanonicalImage {
  readonly config: ImageConfig;
  readonly layers: readonly LayerBlob[];
  readonly blobs: ImageBlobs;
  /** The image's filesystem, for finding the packages it holds. */
  readonly filesystem: FsState;
}

const readJson = async <T>(layout: OciLayout, digest: string): Promise<T> =>
  JSON.parse((await layout.readBlob(digest)).toString('utf8')) as T;

/** Docker's layer media types name the same bytes as OCI's. */
function toOciLayerType(mediaType: string): string {
  if (mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip')
    return 'application/vnd.oci.image.layer.v1.tar+gzip';
  if (mediaType === 'application/vnd.docker.image.rootfs.diff.tar') return 'application/vnd.oci.image.layer.v1.tar';
  return mediaType;
}

export async function toCanonicalImage(input: CanonicalImageInput): Promise<CanonicalImage> {
  const output = input.outputLayout;
  const manifest = await readJson<ImageManifest>(output, (await output.resolve('result')).digest);
  const engineConfig = await readJson<ImageConfig>(output, manifest.config.digest);
  const diffIds = engineConfig.rootfs.diff_ids;
  // The base the final stage stands on: the longest base whose layers are the first layers of the result.
  let best: { manifest: ImageManifest; config: ImageConfig; digest: string } | undefined;
  for (const base of input.bases) {
    const m = await readJson<ImageManifest>(input.basesLayout, base.manifest);
    const c = await readJson<ImageConfig>(input.basesLayout, m.config.digest);
    const ids = c.rootfs.diff_ids;
    const prefix = ids.length <= diffIds.length && ids.every((id, i) => diffIds[i] === id);
    if (prefix && (!best || ids.length > best.config.rootfs.diff_ids.length))
      best = { manifest: m, config: c, digest: base.digest };
  }
  const baseLayers: LayerBlob[] = [];
  const baseState: FsState = new Map();
  for (const [i, d] of (best?.manifest.layers ?? []).entries()) {
    const bytes = await input.basesLayout.readBlob(d.digest);
    baseLayers.push({ mediaType: toOciLayerType(d.mediaType), bytes, digest: d.digest, diffId: diffIds[i] as string });
    applyLayerTo(baseState, toLayerTar(bytes), false);
  }
  const finalState: FsState = new Map(baseState);
  for (const d of manifest.layers.slice(baseLayers.length))
    applyLayerTo(finalState, toLayerTar(await output.readBlob(d.digest)), true);
  dropEngineMountPoints(baseState, finalState);
  const entries = diffStates(baseState, finalState);
  const added =
    entries.length === 0
      ? []
      : [toLayerBlob(writeTar(entries, { mtimeSeconds: input.epochSeconds }), input.compression)];
  const layers = [...baseLayers, ...added];
  const config = toDockerfileImageConfig(engineConfig, {
    created: toCreated(input.epochSeconds),
    baseHistory: best?.config.history ?? [],
    diffIds: layers.map((l) => l.diffId),
    addedLayer: added.length > 0,
    steps: input.steps,
  });
  const annotations = best ? { 'org.opencontainers.image.base.digest': best.digest } : undefined;
  return { config, layers, blobs: buildImageManifest(config, layers, annotations), filesystem: finalState };
}
