// Image config and manifest construction with a fixed key order, serialised once (never re-serialised).
import {
  computeDigest,
  type ContainerConfig,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  OCI_CONFIG,
  OCI_MANIFEST,
} from '@sealroom/formats';
import type { LayerBlob } from './layer.ts';

/** image-spec allows any RFC 3339 time; the epoch (or SOURCE_DATE_EPOCH) keeps builds reproducible. */
export function toCreated(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

export interface ImageConfigOptions {
  readonly created: string;
  readonly config: ContainerConfig;
  readonly layers: readonly { readonly diffId: string; readonly createdBy: string }[];
  readonly architecture?: string;
}

/** Sorted maps (Env keeps its given order: it is a list) so that option order never changes the digest. */
export function buildImageConfig(options: ImageConfigOptions): ImageConfig {
  const c = options.config;
  const config: ContainerConfig = {
    ...(c.User === undefined ? {} : { User: c.User }),
    ...(c.ExposedPorts === undefined ? {} : { ExposedPorts: sortKeys(c.ExposedPorts) }),
    ...(c.Env === undefined ? {} : { Env: [...c.Env] }),
    ...(c.Entrypoint === undefined ? {} : { Entrypoint: [...c.Entrypoint] }),
    ...(c.Cmd === undefined ? {} : { Cmd: [...c.Cmd] }),
    ...(c.Volumes === undefined ? {} : { Volumes: sortKeys(c.Volumes) }),
    ...(c.WorkingDir === undefined ? {} : { WorkingDir: c.WorkingDir }),
    ...(c.Labels === undefined ? {} : { Labels: sortKeys(c.Labels) }),
    ...(c.StopSignal === undefined ? {} : { StopSignal: c.StopSignal }),
  };
  const history: HistoryEntry[] = options.layers.map((l) => ({ created: options.created, created_by: l.createdBy }));
  return {
    created: options.created,
    architecture: options.architecture ?? 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: options.layers.map((l) => l.diffId) },
    history,
  };
}

export function sortKeys<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as T;
  return out;
}

export interface BuiltBlob {
  readonly descriptor: Descriptor;
  readonly bytes: Buffer;
}

export function toJsonBlob(value: unknown, mediaType: string): BuiltBlob {
  const bytes = Buffer.from(JSON.stringify(value));
  return { descriptor: { mediaType, digest: computeDigest(bytes), size: bytes.length }, bytes };
}

export interface ImageBlobs {
  readonly config: BuiltBlob;
  readonly manifest: BuiltBlob;
}

export function buildImageManifest(
  config: ImageConfig,
  layers: readonly LayerBlob[],
  annotations?: Readonly<Record<string, string>>,
): ImageBlobs {
  const configBlob = toJsonBlob(config, OCI_CONFIG);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configBlob.descriptor,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })),
    ...(annotations === undefined || Object.keys(annotations).length === 0
      ? {}
      : { annotations: sortKeys(annotations) }),
  };
  return { config: configBlob, manifest: toJsonBlob(manifest, OCI_MANIFEST) };
}
