// Layer archives for the launcher: decompression by magic bytes, and the shared tar reader of
// @sealroom/formats with its errors reported as ERR_LAUNCHER_IMAGE_INVALID.
import { gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { FormatsError, readTar } from '@sealroom/formats';
import { LauncherError } from '../errors.ts';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** As written in the archive (pax `path` or GNU long name when present). */
  readonly path: string;
  readonly type: TarEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Symlink target, or the hard link's target path in the archive. */
  readonly linkTarget: string;
  readonly data: Uint8Array;
}

function malformed(message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', `image layer is not a valid tar archive: ${message}`);
}

/** Gunzips or un-zstds a layer blob by its magic bytes; plain tar passes through. */
export function decompressLayer(blob: Uint8Array): Uint8Array {
  try {
    if (blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
    if (blob[0] === 0x28 && blob[1] === 0xb5 && blob[2] === 0x2f && blob[3] === 0xfd) {
      const zstd = (zlib as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;
      if (!zstd) throw malformed('zstd layers need Node.js with zlib zstd support');
      return zstd(blob);
    }
  } catch (cause) {
    if (cause instanceof LauncherError) throw cause;
    throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', 'image layer does not decompress', { cause });
  }
  return blob;
}

/** Parses a whole (decompressed) tar archive; throws ERR_LAUNCHER_IMAGE_INVALID on anything malformed. */
export function parseTar(archive: Uint8Array): TarEntry[] {
  try {
    return readTar(archive).map((entry) => ({
      path: entry.path,
      type: entry.type,
      mode: entry.mode & 0o7777,
      uid: entry.uid,
      gid: entry.gid,
      linkTarget: entry.linkname,
      data: entry.content,
    }));
  } catch (error) {
    if (!(error instanceof FormatsError)) throw error;
    throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', `image layer is not a valid tar archive: ${error.message}`, {
      cause: error,
    });
  }
}
