// An ImageSource over an OCI image layout directory (image-spec image-layout.md): digest-checked blobs, unpacked per boot.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Descriptor,
  digestHex,
  FormatsError,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type OciLayout,
  parseDigest,
  readOciLayout,
} from '@sealroom/formats';
import type { ImageConfig } from '../container-process.ts';
import { LauncherError } from '../errors.ts';
import type { ImageSource, PulledImage } from '../image-source.ts';
import { unpackLayers } from './unpack.ts';

function invalid(message: string, cause?: unknown): LauncherError {
  return new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', message, cause === undefined ? {} : { cause });
}

export interface OciLayoutSourceOptions {
  readonly layoutDir: string;
  /**
   * The layout to read through, when the caller has it open (the host's image cache serves the blobs it has
   * just fetched and verified from memory); default: the layout in `layoutDir`, every blob hashed as read.
   */
  readonly layout?: OciLayout;
  /** Where each pulled image is unpacked (`<dir>/<digest hex>/rootfs`). */
  readonly unpackDir: string;
}

/** Reads a blob and checks it against its digest: a layout on disk is not trusted more than a registry. */
async function readBlob(layout: OciLayout, digest: string): Promise<Buffer> {
  try {
    return await layout.readBlob(parseDigest(digest));
  } catch (cause) {
    if (!(cause instanceof FormatsError)) throw cause;
    if (cause.code === 'ERR_FORMATS_BAD_DIGEST') throw invalid(`unsupported digest ${digest.slice(0, 80)}`, cause);
    if (cause.code === 'ERR_FORMATS_DIGEST_MISMATCH') throw invalid(`blob ${digest} does not match its digest`, cause);
    throw invalid(`blob ${digest} is missing from the image layout`, cause);
  }
}

async function readJson<T>(layout: OciLayout, digest: string): Promise<T> {
  const bytes = await readBlob(layout, digest);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw invalid(`blob ${digest} is not JSON`, cause);
  }
}

/** Picks the manifest for `reference`: by `@sha256:` digest, else by the `ref.name` annotation (the tag). */
async function pickRoot(layout: OciLayout, reference: string): Promise<string> {
  const at = reference.indexOf('@');
  if (at >= 0) return reference.slice(at + 1);
  const tag = /:([\w][\w.-]{0,127})$/.exec(reference.slice(reference.lastIndexOf('/') + 1))?.[1] ?? 'latest';
  try {
    return (await layout.resolve(tag)).digest;
  } catch (cause) {
    if (cause instanceof FormatsError && cause.code === 'ERR_FORMATS_BAD_LAYOUT') {
      throw invalid('the image layout has no readable index.json', cause);
    }
    if (cause instanceof FormatsError) throw invalid(`the image layout has no manifest tagged ${tag}`, cause);
    throw cause;
  }
}

type ManifestOrIndex = Partial<ImageManifest> & Partial<Pick<ImageIndex, 'manifests'>>;

/** Bytes of the regular files under `root` (hard links counted once per name, as `du --apparent-size -l`). */
export async function treeSize(root: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await lstat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export function createOciLayoutImageSource(options: OciLayoutSourceOptions): ImageSource {
  const layout = options.layout ?? readOciLayout(options.layoutDir);
  return {
    pull: async (reference: string): Promise<PulledImage> => {
      const digest = await pickRoot(layout, reference);
      let manifest = await readJson<ManifestOrIndex>(layout, digest);
      if (isIndexMediaType(manifest.mediaType ?? '') || manifest.manifests) {
        const chosen: Descriptor | undefined =
          manifest.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ??
          manifest.manifests?.[0];
        if (!chosen) throw invalid(`image index ${digest} lists no manifest`);
        manifest = await readJson<ManifestOrIndex>(layout, chosen.digest);
      }
      if (!manifest.config) throw invalid(`manifest ${digest} has no config`);
      const configBlob = await readBlob(layout, manifest.config.digest);
      const config = await readJson<{ config?: ImageConfig }>(layout, manifest.config.digest);
      const rootfs = join(options.unpackDir, digestHex(parseDigest(digest)), 'rootfs');
      await rm(rootfs, { recursive: true, force: true });
      const blobs = await Promise.all((manifest.layers ?? []).map((layer) => readBlob(layout, layer.digest)));
      await unpackLayers(rootfs, blobs);
      const sizeBytes = await treeSize(rootfs);
      // The measured reference pins the digest (ImageDigest is the index digest for a multi-arch image).
      return {
        reference,
        digest,
        configDigest: manifest.config.digest,
        config: config.config ?? {},
        configBlob,
        rootfs,
        sizeBytes,
      };
    },
  };
}
