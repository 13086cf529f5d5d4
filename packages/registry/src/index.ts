// Public surface of @sealroom/registry: the OCI registry service, its client and image references.
export { REGISTRY_ERRORS, RegistryError } from './errors.ts';
export type { RegistryErrorCode } from './errors.ts';
export {
  assertManifestReference,
  assertRepositoryName,
  formatImageReference,
  parseImageReference,
} from './reference.ts';
export type { ImageReference } from './reference.ts';
export { REGISTRY_MAX_BODY_BYTES, REGISTRY_TIMEOUT_MS, RegistryClient } from './client.ts';
export type { RegistryClientOptions } from './client.ts';
export { createRegistryService } from './module.ts';
