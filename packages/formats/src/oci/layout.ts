// OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`, `index.json`, `blobs/sha256/<hex>`.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertDigest, computeDigest, digestHex, parseDigest } from '../digest.ts';
import { FormatsError } from '../errors.ts';
import { OCI_INDEX, REF_NAME_ANNOTATION } from './media-types.ts';
import { isTag } from './names.ts';
import type { Descriptor, ImageIndex } from './oci.types.ts';

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

export interface OciLayout {
  readonly dir: string;
  /** Writes a blob (idempotent) after checking it against `digest` when given; returns its descriptor fields. */
  putBlob(bytes: Uint8Array, expectedDigest?: string): Promise<{ digest: string; size: number }>;
  hasBlob(digest: string): Promise<boolean>;
  /** Reads a blob and checks that it still hashes to its name. */
  readBlob(digest: string): Promise<Buffer>;
  blobPath(digest: string): string;
  /** Adds or replaces the `index.json` entry; with `refName`, any other entry of that name loses it. */
  addManifest(descriptor: Descriptor, refName?: string): Promise<void>;
  readIndex(): Promise<ImageIndex>;
  /** The descriptor whose ref name is `refName` (or whose digest is `refName`). */
  resolve(refName: string): Promise<Descriptor>;
}

/** Opens a layout, creating `oci-layout`, an empty `index.json` and `blobs/sha256` if the folder is new. */
export async function openOciLayout(dir: string, options: { readonly create?: boolean } = {}): Promise<OciLayout> {
  const layoutPath = join(dir, 'oci-layout');
  const existing = await readFile(layoutPath, 'utf8').catch(() => undefined);
  if (existing === undefined) {
    if (!options.create) throw new FormatsError('ERR_FORMATS_BAD_LAYOUT', `No oci-layout file in '${dir}'.`);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(layoutPath, LAYOUT_FILE);
    await writeAtomic(join(dir, 'index.json'), emptyIndexJson());
  } else {
    let version: unknown;
    try {
      version = (JSON.parse(existing) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      version = undefined;
    }
    if (version !== '1.0.0') throw new FormatsError('ERR_FORMATS_BAD_LAYOUT', `Unsupported oci-layout in '${dir}'.`);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  }
  return createLayout(dir);
}

/**
 * A layout read as it is, creating and checking nothing: for readers handed a directory by a role that
 * already wrote it (the launcher's image cache), where a missing blob or index is reported on first use.
 */
export function readOciLayout(dir: string): OciLayout {
  return createLayout(dir);
}

function emptyIndexJson(): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function createLayout(dir: string): OciLayout {
  const blobPath = (digest: string) => join(dir, 'blobs', 'sha256', digestHex(parseDigest(digest)));
  const readIndex = async (): Promise<ImageIndex> => {
    const text = await readFile(join(dir, 'index.json'), 'utf8').catch(() => {
      throw new FormatsError('ERR_FORMATS_BAD_LAYOUT', `No index.json in '${dir}'.`);
    });
    const index = JSON.parse(text) as ImageIndex;
    if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
      throw new FormatsError('ERR_FORMATS_BAD_LAYOUT', `index.json in '${dir}' is not an image index.`);
    }
    return index;
  };
  return {
    dir,
    blobPath,
    readIndex,
    async putBlob(bytes, expectedDigest) {
      // One pass over the bytes: a large layer is hashed once here, not once more to compare.
      const digest = computeDigest(bytes);
      if (expectedDigest !== undefined && digest !== parseDigest(expectedDigest))
        throw new FormatsError(
          'ERR_FORMATS_DIGEST_MISMATCH',
          `Content digest ${digest} does not match ${expectedDigest}.`,
        );
      const path = blobPath(digest);
      const present = await stat(path).then(
        (s) => s.size === bytes.length,
        () => false,
      );
      if (!present) await writeAtomic(path, bytes);
      return { digest, size: bytes.length };
    },
    async hasBlob(digest) {
      return stat(blobPath(digest)).then(
        () => true,
        () => false,
      );
    },
    async readBlob(digest) {
      const bytes = await readFile(blobPath(digest)).catch(() => {
        throw new FormatsError('ERR_FORMATS_NOT_IN_LAYOUT', `Blob ${digest} is not in the layout.`);
      });
      assertDigest(bytes, digest);
      return bytes;
    },
    async addManifest(descriptor, refName) {
      if (refName !== undefined && !isTag(refName)) {
        throw new FormatsError('ERR_FORMATS_BAD_REF_NAME', `Invalid ref name '${refName.slice(0, 140)}'.`);
      }
      const index = await readIndex();
      const kept = index.manifests.filter((m) => {
        const name = m.annotations?.[REF_NAME_ANNOTATION];
        if (refName !== undefined) return name !== refName;
        return !(m.digest === descriptor.digest && name === undefined);
      });
      const annotations = {
        ...descriptor.annotations,
        ...(refName === undefined ? {} : { [REF_NAME_ANNOTATION]: refName }),
      };
      const entry: Descriptor = {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        ...(descriptor.platform === undefined ? {} : { platform: descriptor.platform }),
      };
      const next: ImageIndex = { ...index, manifests: [...kept, entry] };
      await writeAtomic(join(dir, 'index.json'), JSON.stringify(next));
    },
    async resolve(refName) {
      const index = await readIndex();
      const found = index.manifests.find(
        (m) => m.annotations?.[REF_NAME_ANNOTATION] === refName || m.digest === refName,
      );
      if (!found) throw new FormatsError('ERR_FORMATS_NOT_IN_LAYOUT', `No manifest named '${refName}' in the layout.`);
      return found;
    },
  };
}
