// Blob bytes on disk under `<stateDir>/registry/`: content-addressed blobs and in-progress uploads.
// A blob file appears only by rename after its digest was checked, so a reader never sees partial data;
// a chunk that fails (disk full, over the limit) is cut off again, so an upload never holds half a chunk.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { storageFaultOf } from '@sealroom/core';
import { digestHex, parseDigest } from '@sealroom/formats';
import { RegistryError } from './errors.ts';

export interface BlobStore {
  /** Appends a stream to an upload file; returns the new size. `limit` bounds the upload's total size. */
  appendUpload(id: string, body: Readable, limit: number): Promise<number>;
  uploadSize(id: string): Promise<number>;
  /** Checks the upload's content against `digest`, then moves it into place; deletes it on mismatch. */
  commitUpload(id: string, digest: string): Promise<number>;
  deleteUpload(id: string): Promise<void>;
  /** Stores bytes already in memory (manifests). */
  putBytes(bytes: Uint8Array, digest: string): Promise<void>;
  size(digest: string): Promise<number | undefined>;
  read(digest: string): Readable;
  readBytes(digest: string): Promise<Buffer>;
}

const UPLOAD_ID = /^[a-f0-9-]{36}$/;

export async function openDiskBlobStore(root: string): Promise<BlobStore> {
  const blobsDir = join(root, 'blobs', 'sha256');
  const uploadsDir = join(root, 'uploads');
  await mkdir(blobsDir, { recursive: true });
  await mkdir(uploadsDir, { recursive: true });
  const blobPath = (digest: string) => join(blobsDir, digestHex(parseDigest(digest)));
  const uploadPath = (id: string) => {
    if (!UPLOAD_ID.test(id)) throw new RegistryError('ERR_REGISTRY_UPLOAD_UNKNOWN', 'Unknown upload.');
    return join(uploadsDir, id);
  };
  /**
   * Running SHA-256 of each upload, so the final PUT needs no second read. Kept in memory only: after a
   * restart, or if the file and the hash disagree on length, the commit hashes the file instead.
   */
  const running = new Map<string, { hash: Hash; size: number }>();
  const fileSize = (path: string) =>
    stat(path).then(
      (s) => s.size,
      () => undefined,
    );
  return {
    async appendUpload(id, body, limit) {
      const path = uploadPath(id);
      const before = (await fileSize(path)) ?? 0;
      let written = before;
      const state = running.get(id);
      const hash = before === 0 ? createHash('sha256') : state?.size === before ? state.hash : undefined;
      running.delete(id);
      const out = createWriteStream(path, { flags: 'a' });
      try {
        await pipeline(
          body,
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              written += chunk.length;
              if (written > limit)
                throw new RegistryError('ERR_REGISTRY_SIZE_INVALID', 'The upload exceeds the size limit.');
              hash?.update(chunk);
              yield chunk;
            }
          },
          out,
        );
      } catch (error) {
        // The upload stays where it was (the offset the client was told), ready for the chunk again.
        if (before === 0) await rm(path, { force: true }).catch(() => {});
        else await truncate(path, before).catch(() => {});
        throw storageFaultOf(error) ?? error;
      }
      if (hash) running.set(id, { hash, size: written });
      return written;
    },
    async uploadSize(id) {
      return (await fileSize(uploadPath(id))) ?? 0;
    },
    async commitUpload(id, digest) {
      const hex = digestHex(parseDigest(digest));
      const path = uploadPath(id);
      // An upload with no bytes at all has no file yet; create it so an empty blob can be committed.
      const handle = await open(path, 'a+').catch(() => undefined);
      await handle?.close();
      const state = running.get(id);
      running.delete(id);
      let size = (await fileSize(path)) ?? 0;
      let actual: string;
      if (state && state.size === size) {
        actual = state.hash.digest('hex');
      } else {
        const hash = createHash('sha256');
        size = 0;
        for await (const chunk of createReadStream(path)) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        actual = hash.digest('hex');
      }
      if (actual !== hex) {
        await rm(path, { force: true });
        throw new RegistryError(
          'ERR_REGISTRY_DIGEST_MISMATCH',
          `Uploaded content has digest sha256:${actual}, not ${digest}.`,
        );
      }
      await rename(path, blobPath(digest));
      return size;
    },
    async deleteUpload(id) {
      running.delete(id);
      await rm(uploadPath(id), { force: true });
    },
    async putBytes(bytes, digest) {
      const path = blobPath(digest);
      if ((await fileSize(path)) === bytes.length) return;
      const tmp = join(uploadsDir, `put-${digestHex(parseDigest(digest))}-${process.pid}`);
      try {
        const handle = await open(tmp, 'w');
        try {
          await handle.writeFile(bytes);
        } finally {
          await handle.close();
        }
        await rename(tmp, path);
      } catch (error) {
        await rm(tmp, { force: true }).catch(() => {});
        throw storageFaultOf(error) ?? error;
      }
    },
    size: (digest) => fileSize(blobPath(digest)),
    read: (digest) => createReadStream(blobPath(digest)),
    async readBytes(digest) {
      const chunks: Buffer[] = [];
      for await (const chunk of createReadStream(blobPath(digest))) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
  };
}
