// The image seam: pull by reference, pin the digest, unpack the layers (the registry client implements it later).
import type { ImageConfig } from './container-process.ts';
import type { ImageIdentity } from './measure.ts';

export interface PulledImage extends ImageIdentity {
  readonly config: ImageConfig;
  /** The image config blob as stored (its SHA-256 is `configDigest`): the verifier reads labels from it. */
  readonly configBlob?: Uint8Array;
  /** Host directory holding the unpacked layers; the container sees it read-only. */
  readonly rootfs: string;
  /** Bytes of the unpacked image (regular files): what it takes of the instance's disk. */
  readonly sizeBytes?: number;
}

export interface ImageSource {
  /** Resolves the reference to a digest, fetches and unpacks it; a failure fails the launch (not retried). */
  pull(reference: string): Promise<PulledImage>;
}
