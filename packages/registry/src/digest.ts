// Content digests (`sha256:<hex>`): computing, parsing and checking them.
import { createHash } from 'node:crypto';
import { RegistryError } from './errors.ts';

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

export function computeDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isDigest(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

/** Returns the hex part of a digest; throws ERR_REGISTRY_BAD_DIGEST for anything but sha256 (no path tricks). */
export function parseDigest(value: string): { readonly algorithm: 'sha256'; readonly hex: string } {
  if (!DIGEST_PATTERN.test(value)) {
    throw new RegistryError('ERR_REGISTRY_BAD_DIGEST', `Invalid digest '${value.slice(0, 80)}'.`);
  }
  return { algorithm: 'sha256', hex: value.slice('sha256:'.length) };
}

/** Throws ERR_REGISTRY_DIGEST_MISMATCH unless `bytes` hash to `expected`. */
export function assertDigest(bytes: Uint8Array, expected: string): void {
  parseDigest(expected);
  const actual = computeDigest(bytes);
  if (actual !== expected) {
    throw new RegistryError('ERR_REGISTRY_DIGEST_MISMATCH', `Content digest ${actual} does not match ${expected}.`);
  }
}

/** cosign's tag for a digest: `sha256-<hex>` plus a suffix such as `.sig` (SIGNATURE_SPEC.md tag discovery). */
export function toDigestTag(digest: string, suffix = ''): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}${suffix}`;
}
