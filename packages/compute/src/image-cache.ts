// The host's image cache, keyed by digest and re-hashed on every use: a blob that no longer matches its
// digest (a disk error, a tampered file) is removed, so the next pull fetches it again from the registry.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FormatsError, type OciLayout } from '@sealroom/formats';

interface ManifestOrIndex {
  readonly config?: { readonly digest: string };
  readonly layers?: readonly { readonly digest: string }[];
  readonly manifests?: readonly { readonly digest: string }[];
}

/** Reads and hashes one blob; a mismatch removes it and answers false, a missing blob answers false. */
async function checkBlob(layout: OciLayout, digest: string, evicted: string[]): Promise<Buffer | undefined> {
  try {
    return await layout.readBlob(digest);
  } catch (error) {
    if (error instanceof FormatsError && error.code === 'ERR_FORMATS_DIGEST_MISMATCH') {
      await rm(layout.blobPath(digest), { force: true });
      evicted.push(digest);
    } else if (!(error instanceof FormatsError)) {
      throw error;
    }
    return undefined;
  }
}

/**
 * Re-hashes every blob of the image `digest` names (the manifest or index, each child manifest, the
 * config and the layers) and removes those whose bytes do not hash to their digest. Returns the digests
 * removed; an empty list means the cached image is exactly what the registry served. Configs and layers
 * in `verifiedOnWrite` were hashed as this very pull wrote them (the layout refuses a mismatch), so they
 * are not read again; every blob the cache already held is.
 */
export async function verifyCachedImage(
  layout: OciLayout,
  digest: string,
  verifiedOnWrite: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const evicted: string[] = [];
  const visit = async (manifestDigest: string): Promise<void> => {
    const bytes = await checkBlob(layout, manifestDigest, evicted);
    if (!bytes) return;
    let manifest: ManifestOrIndex;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as ManifestOrIndex;
    } catch {
      return;
    }
    for (const child of manifest.manifests ?? []) await visit(child.digest);
    for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])])
      if (!verifiedOnWrite.has(blob.digest)) await checkBlob(layout, blob.digest, evicted);
  };
  await visit(digest);
  return evicted;
}

/**
 * A digest of an unpacked tree: every entry's path, type, mode and size, each file's SHA-256 and each
 * symlink's target, in path order. Recorded when the tree is unpacked from verified blobs and
 * recomputed on every use, so a tree changed on the host is unpacked again, never run.
 */
export async function hashTree(root: string): Promise<{ digest: string; sizeBytes: number }> {
  const tree = createHash('sha256');
  let sizeBytes = 0;
  const entries = (await readdir(root, { recursive: true, withFileTypes: true }))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  for (const path of entries) {
    const info = await lstat(path);
    const rel = relative(root, path);
    tree.update(`${rel}\0${info.mode}\0${info.size}\0`);
    if (info.isFile()) {
      sizeBytes += info.size;
      const file = createHash('sha256');
      for await (const chunk of createReadStream(path)) file.update(chunk as Buffer);
      tree.update(file.digest());
    } else if (info.isSymbolicLink()) {
      tree.update(await readlink(path));
    }
    tree.update('\n');
  }
  return { digest: `sha256:${tree.digest('hex')}`, sizeBytes };
}
