// Content digests (`sha256:<hex>`): the one type and the one parser every role uses.
import { createHash } from 'node:crypto';
import { FormatsError } from './errors.ts';

/** A content digest, `sha256:` + 64 lowercase hex; only `parseDigest`, `isDigest` and `computeDigest` make one. */
export type Digest = `sha256:${string}` & { readonly __digest: unique symbol };

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** True when `value` is a well-formed digest (narrows it to `Digest`). */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/** Checks and narrows `value`; throws ERR_FORMATS_BAD_DIGEST for anything but sha256 (no path tricks). */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new FormatsError('ERR_FORMATS_BAD_DIGEST', `Invalid digest '${value.slice(0, 80)}'.`);
  return value;
}

/** The 64 hex digits of a digest: the blob's file name in an image layout. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function computeDigest(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

/** Throws ERR_FORMATS_DIGEST_MISMATCH unless `bytes` hash to `expected` (ERR_FORMATS_BAD_DIGEST if it is no digest). */
export function assertDigest(bytes: Uint8Array, expected: string): void {
  parseDigest(expected);
  const actual = computeDigest(bytes);
  if (actual !== expected) {
    throw new FormatsError('ERR_FORMATS_DIGEST_MISMATCH', `Content digest ${actual} does not match ${expected}.`);
  }
}

/** cosign's tag for a digest: `sha256-<hex>` plus a suffix such as `.sig` (sigstore cosign tag discovery). */
export function toDigestTag(digest: string, suffix = ''): string {
  return `sha256-${digestHex(parseDigest(digest))}${suffix}`;
}
