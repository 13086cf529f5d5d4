// A base image pinned by digest, read from an OCI image layout (offline): its layers are reused as they
// are, its environment kept, and the labels name its digest so the image says where its base came from.
import {
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isDigest,
  isIndexMediaType,
  openOciLayout,
} from '@sealroom/formats';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuilderError } from './errors.ts';
import type { LayerBlob } from './layer.ts';
import { IMAGE_NODE_PATH } from './runtime.ts';
import { normaliseTarPath, readTar } from './tar.ts';

export interface BaseImage {
  readonly layers: readonly LayerBlob[];
  readonly env: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly nodePath: string;
}

/**
 * `source` is an OCI layout folder or an `oci-archive` tarball of one (what `skopeo copy … oci-archive:F`
 * writes); `digest` pins the base (an index resolves to its linux/amd64 manifest).
 */
export async function loadBaseImage(source: string, digest: string): Promise<BaseImage> {
  if (!isDigest(digest))
    throw new BuilderError('ERR_BUILDER_CONFIG', 'A base image must be pinned by a sha256 digest.');
  if (!existsSync(source))
    throw new BuilderError('ERR_BUILDER_CONFIG', `Base image source '${source}' does not exist.`);
  if (statSync(source).isFile()) {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-base-'));
    try {
      extractOciArchive(readFileSync(source), dir);
      return await loadBaseImage(dir, digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const layout = await openOciLayout(source);
  let manifestDigest: string = digest;
  let bytes = await layout.readBlob(digest);
  let json = JSON.parse(bytes.toString('utf8')) as ImageManifest & ImageIndex;
  if (isIndexMediaType(json.mediaType ?? '')) {
    const child = json.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
    if (!child) throw new BuilderError('ERR_BUILDER_CONFIG', `Base index ${digest} has no linux/amd64 image.`);
    manifestDigest = child.digest;
    bytes = await layout.readBlob(child.digest);
    json = JSON.parse(bytes.toString('utf8')) as ImageManifest & ImageIndex;
  }
  if (!json.config || !Array.isArray(json.layers)) {
    throw new BuilderError('ERR_BUILDER_CONFIG', `Base ${manifestDigest} is not an image manifest.`);
  }
  const config = JSON.parse((await layout.readBlob(json.config.digest)).toString('utf8')) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== json.layers.length) {
    throw new BuilderError(
      'ERR_BUILDER_CONFIG',
      `Base ${manifestDigest} has ${json.layers.length} layers but ${diffIds.length} diff_ids.`,
    );
  }
  const layers: LayerBlob[] = [];
  for (const [i, d] of json.layers.entries()) {
    layers.push({
      mediaType: d.mediaType,
      bytes: await layout.readBlob(d.digest),
      digest: d.digest,
      diffId: diffIds[i] as string,
    });
  }
  return {
    layers,
    env: config.config?.Env ?? [],
    nodePath: IMAGE_NODE_PATH,
    labels: {
      'org.sealroom.base.image': manifestDigest,
      'org.sealroom.base.image.source': 'oci-layout, pinned by digest',
    },
  };
}

/** Unpacks an oci-archive (a tar of a layout); only regular files and directories, never outside `dir`. */
export function extractOciArchive(archive: Buffer, dir: string): void {
  for (const entry of readTar(archive)) {
    // `tar -C layout .` names the root `./` and everything under it `./…`.
    const trimmed = entry.path.replace(/^(\.\/)+/, '').replace(/^\.$/, '');
    if (trimmed === '' || trimmed === '/') continue;
    const path = normaliseTarPath(trimmed);
    if (entry.type === 'dir') mkdirSync(join(dir, path), { recursive: true });
    else if (entry.type === 'file') {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), entry.content);
    }
  }
}
