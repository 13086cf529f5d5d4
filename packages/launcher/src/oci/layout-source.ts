// An ImageSource over an OCI image layout directory (image-spec image-layout.md): digest-checked blobs, unpacked per boot.
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfig } from '../container-process.ts';
import { LauncherError } from '../errors.ts';
import type { ImageSource, PulledImage } from '../image-source.ts';
import { unpackLayers } from './unpack.ts';

interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly platform?: { readonly os?: string; readonly architecture?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

function invalid(message: string, cause?: unknown): LauncherError {
  return new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', message, cause === undefined ? {} : { cause });
}

export interface OciLayoutSourceOptions {
  readonly layoutDir: string;
  /** Where each pulled image is unpacked (`<dir>/<digest hex>/rootfs`). */
  readonly unpackDir: string;
}

/** Reads a blob and checks it against its digest: a layout on disk is not trusted more than a registry. */
async function readBlob(layoutDir: string, digest: string): Promise<Buffer> {
  const match = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!match) throw invalid(`unsupported digest ${digest}`);
  const bytes = await readFile(join(layoutDir, 'blobs', 'sha256', match[1]!)).catch((cause: unknown) => {
    throw invalid(`blob ${digest} is missing from the image layout`, cause);
  });
  if (createHash('sha256').update(bytes).digest('hex') !== match[1])
    throw invalid(`blob ${digest} does not match its digest`);
  return bytes;
}

async function readJson<T>(layoutDir: string, digest: string): Promise<T> {
  try {
    return JSON.parse((await readBlob(layoutDir, digest)).toString('utf8')) as T;
  } catch (cause) {
    if (cause instanceof LauncherError) throw cause;
    throw invalid(`blob ${digest} is not JSON`, cause);
  }
}

/** Picks the manifest for `reference`: by `@sha256:` digest, else by the `ref.name` annotation (the tag). */
function pickRoot(index: { manifests?: Descriptor[] }, reference: string): Descriptor | string {
  const at = reference.indexOf('@');
  if (at >= 0) return reference.slice(at + 1);
  const tag = /:([\w][\w.-]{0,127})$/.exec(reference.slice(reference.lastIndexOf('/') + 1))?.[1] ?? 'latest';
  const found = index.manifests?.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!found) throw invalid(`the image layout has no manifest tagged ${tag}`);
  return found;
}

export function createOciLayoutImageSource(options: OciLayoutSourceOptions): ImageSource {
  return {
    pull: async (reference: string): Promise<PulledImage> => {
      const index = JSON.parse(await readFile(join(options.layoutDir, 'index.json'), 'utf8')) as {
        manifests?: Descriptor[];
      };
      const root = pickRoot(index, reference);
      const digest = typeof root === 'string' ? root : root.digest;
      let manifest = await readJson<{
        mediaType?: string;
        manifests?: Descriptor[];
        config?: Descriptor;
        layers?: Descriptor[];
      }>(options.layoutDir, digest);
      if (INDEX_TYPES.has(manifest.mediaType ?? '') || manifest.manifests) {
        const chosen =
          manifest.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ??
          manifest.manifests?.[0];
        if (!chosen) throw invalid(`image index ${digest} lists no manifest`);
        manifest = await readJson(options.layoutDir, chosen.digest);
      }
      if (!manifest.config) throw invalid(`manifest ${digest} has no config`);
      const configBlob = await readBlob(options.layoutDir, manifest.config.digest);
      const config = await readJson<{ config?: ImageConfig }>(options.layoutDir, manifest.config.digest);
      const rootfs = join(options.unpackDir, digest.replace(/^sha256:/, ''), 'rootfs');
      await rm(rootfs, { recursive: true, force: true });
      const blobs = await Promise.all(
        (manifest.layers ?? []).map((layer) => readBlob(options.layoutDir, layer.digest)),
      );
      await unpackLayers(rootfs, blobs);
      // The measured reference pins the digest (ImageDigest is the index digest for a multi-arch image).
      return {
        reference,
        digest,
        configDigest: manifest.config.digest,
        config: config.config ?? {},
        configBlob,
        rootfs,
      };
    },
  };
}
