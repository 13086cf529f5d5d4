// Layers as content: a tar, optionally gzip-compressed with fixed settings, with its diff_id and blob digest.
import { gzipSync } from 'node:zlib';
import { computeDigest, OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP } from '@sealroom/formats';

export type Compression = 'gzip' | 'none';

/** Level 6 (zlib's default); the header is Node's fixed `1f8b 0800 00000000 00 03` (mtime 0, OS Unix). */
export const GZIP_LEVEL = 6;

export interface LayerBlob {
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly digest: string;
  /** sha256 of the uncompressed tar (image-spec `config.md` rootfs.diff_ids). */
  readonly diffId: string;
}

/**
 * Deflate bytes depend on the zlib implementation and version, so the compressor is identified by
 * Node's bundled zlib version (pinned through the `node` package) and recorded in provenance.
 */
export function describeCompressor(compression: Compression): string {
  return compression === 'gzip' ? `node-zlib/${process.versions.zlib} level=${GZIP_LEVEL}` : 'none';
}

export function toLayerBlob(tar: Buffer, compression: Compression): LayerBlob {
  const diffId = computeDigest(tar);
  if (compression === 'none') return { mediaType: OCI_LAYER_TAR, bytes: tar, digest: diffId, diffId };
  const bytes = gzipSync(tar, { level: GZIP_LEVEL });
  return { mediaType: OCI_LAYER_TAR_GZIP, bytes, digest: computeDigest(bytes), diffId };
}
