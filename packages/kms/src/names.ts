// KMS resource names and the ids Cloud KMS accepts for key rings and keys.
import { checkResourceId, resourceTemplate } from '@sealroom/core';

export const LOCATION = resourceTemplate<'project' | 'location'>('projects/{project}/locations/{location}');
export const KEY_RING = resourceTemplate<'project' | 'location' | 'keyRing'>(
  'projects/{project}/locations/{location}/keyRings/{keyRing}',
);
export const CRYPTO_KEY = resourceTemplate<'project' | 'location' | 'keyRing' | 'cryptoKey'>(
  'projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}',
);
export const CRYPTO_KEY_VERSION = resourceTemplate<'project' | 'location' | 'keyRing' | 'cryptoKey' | 'version'>(
  'projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}/cryptoKeyVersions/{version}',
);

/** Cloud KMS ids: 1–63 characters of letters, digits, '_' and '-'. */
export const KMS_ID_PATTERN = /^[a-zA-Z0-9_-]{1,63}$/;

export function checkKmsId(id: string, what: string): string {
  return checkResourceId(id, what, KMS_ID_PATTERN);
}

/** Locations this deployment offers; Cloud KMS names regions, `global` is the one the tutorials use. */
export const LOCATION_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
