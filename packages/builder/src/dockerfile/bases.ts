// Base images without the internet: what a FROM names is looked up in one repository of a registry (the
// built-in one, filled by `sealroom artifacts docker images import`), pinned by digest, and copied into
// the build's own OCI layout for the engine; blobs are kept in a content-addressed cache between builds.
import { copyFileSync, linkSync } from 'node:fs';
import { isSealroomError } from '@sealroom/core';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isDigest,
  isIndexMediaType,
  isRepositoryName,
  isTag,
  type OciDistribution,
  type OciLayout,
} from '@sealroom/formats';
import { BuilderError } from '../errors.ts';

export interface ResolvedBase {
  /** Where the image lives, `HOST/PROJECT/REPOSITORY/IMAGE`. */
  readonly name: string;
  /** The linux/amd64 image manifest the build uses. */
  readonly digest: string;
  /** The index the tag pointed to, when it was one. */
  readonly indexDigest?: string;
}

/** Where FROM images come from; owned by the builder, implemented over a registry below. */
export interface BaseImageSource {
  /** `HOST/PROJECT/REPOSITORY`, for messages. */
  readonly location: string;
  /** The repository a FROM reference maps to, or a reason it cannot map. */
  toName(reference: string): { name: string; reference: string } | { error: string };
  /** Pins a reference to a digest; undefined when the repository has no such image. */
  resolve(reference: string): Promise<ResolvedBase | undefined>;
  /**
   * Copies the pinned image (manifest, config, layers) into `layout`, taking blobs from `blobCache`
   * when it has them and keeping what it fetches there; returns the manifest's descriptor.
   */
  copyTo(base: ResolvedBase, layout: OciLayout, blobCache?: OciLayout): Promise<Descriptor>;
}

interface SplitReference {
  readonly domain: string | undefined;
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/** docker reference grammar: `[domain/]path[:tag][@digest]`; a first part with `.` or `:` (or `localhost`) is a domain. */
export function splitReference(reference: string): SplitReference | undefined {
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) return undefined;
  }
  const first = rest.split('/')[0] as string;
  const hasDomain = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const domain = hasDomain ? first : undefined;
  let path = hasDomain ? rest.slice(first.length + 1) : rest;
  if ((domain === undefined || domain === 'docker.io') && path.startsWith('library/'))
    path = path.slice('library/'.length);
  if (!isRepositoryName(path)) return undefined;
  return { domain, path, tag, digest };
}

async function getJson<T>(client: OciDistribution, name: string, reference: string) {
  const fetched = await client.getManifest(name, reference);
  return { ...fetched, json: JSON.parse(fetched.bytes.toString('utf8')) as T };
}

/**
 * FROM `busybox:1.36`, `docker.io/library/busybox:1.36` and `gcr.io/distroless/static` map to
 * `REPOSITORY/busybox:1.36` and `REPOSITORY/distroless/static:latest` in `registry`; a reference that
 * already names `registry` is used as it is.
 */
export function registryBaseImages(options: {
  readonly client: OciDistribution;
  /** `host:port` of the registry. */
  readonly registry: string;
  /** `PROJECT/REPOSITORY` inside it. */
  readonly repository: string;
}): BaseImageSource {
  const { client, registry, repository } = options;
  const location = `${registry}/${repository}`;
  const toName: BaseImageSource['toName'] = (reference) => {
    const split = splitReference(reference);
    if (!split) return { error: `'${reference.slice(0, 200)}' is not a valid image reference` };
    const name = split.domain === registry ? split.path : `${repository}/${split.path}`;
    if (!isRepositoryName(name)) return { error: `'${reference.slice(0, 200)}' maps to no valid repository name` };
    return { name, reference: split.digest ?? split.tag ?? 'latest' };
  };
  const fetchBlob = async (name: string, digest: string, layout: OciLayout, blobCache: OciLayout | undefined) => {
    if (await layout.hasBlob(digest)) return;
    if (blobCache && (await blobCache.hasBlob(digest))) {
      try {
        linkSync(blobCache.blobPath(digest), layout.blobPath(digest));
      } catch {
        copyFileSync(blobCache.blobPath(digest), layout.blobPath(digest));
      }
      return;
    }
    const bytes = await client.getBlob(name, digest);
    if (blobCache) await blobCache.putBlob(bytes, digest);
    await layout.putBlob(bytes, digest);
  };
  return {
    location,
    toName,
    async resolve(reference) {
      const mapped = toName(reference);
      if ('error' in mapped) throw new BuilderError('ERR_BUILDER_BASE_IMAGE', `${mapped.error}.`);
      let fetched: Awaited<ReturnType<typeof getJson<ImageManifest & ImageIndex>>>;
      try {
        fetched = await getJson<ImageManifest & ImageIndex>(client, mapped.name, mapped.reference);
      } catch (error) {
        if (isSealroomError(error) && error.code === 'ERR_REGISTRY_NOT_FOUND') return undefined;
        throw error;
      }
      const name = `${registry}/${mapped.name}`;
      if (!isIndexMediaType(fetched.mediaType) && !isIndexMediaType(fetched.json.mediaType ?? '')) {
        return { name, digest: fetched.digest };
      }
      const child = fetched.json.manifests.find(
        (m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64',
      );
      if (!child) {
        throw new BuilderError('ERR_BUILDER_BASE_IMAGE', `${name}@${fetched.digest} has no linux/amd64 image.`);
      }
      return { name, digest: child.digest, indexDigest: fetched.digest };
    },
    async copyTo(base, layout, blobCache) {
      const name = base.name.slice(registry.length + 1);
      const manifest = await getJson<ImageManifest>(client, name, base.digest);
      if (!manifest.json.config || !Array.isArray(manifest.json.layers)) {
        throw new BuilderError('ERR_BUILDER_BASE_IMAGE', `${base.name}@${base.digest} is not an image manifest.`);
      }
      for (const blob of [manifest.json.config, ...manifest.json.layers])
        await fetchBlob(name, blob.digest, layout, blobCache);
      await layout.putBlob(manifest.bytes, manifest.digest);
      return {
        mediaType: manifest.mediaType || manifest.json.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.length,
      };
    },
  };
}
