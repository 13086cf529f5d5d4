// Public surface of @sealroom/registry: OCI content types, digests, references, image layouts.
export { REGISTRY_ERRORS, RegistryError } from './errors.ts';
export type { RegistryErrorCode } from './errors.ts';
export { assertDigest, computeDigest, isDigest, parseDigest, toDigestTag } from './digest.ts';
export {
  DOCKER_CONFIG,
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_MEDIA_TYPES,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_TAR,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
  REF_NAME_ANNOTATION,
  isIndexMediaType,
  isManifestMediaType,
} from './media-types.ts';
export type {
  ContainerConfig,
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Platform,
} from './oci.types.ts';
export {
  assertManifestReference,
  assertRepositoryName,
  formatImageReference,
  isRepositoryName,
  isTag,
  parseImageReference,
} from './reference.ts';
export type { ImageReference } from './reference.ts';
export { openOciLayout } from './layout.ts';
export type { OciLayout } from './layout.ts';
export { REGISTRY_MAX_BODY_BYTES, REGISTRY_TIMEOUT_MS, RegistryClient } from './client.ts';
export type { FetchedManifest, RegistryClientOptions } from './client.ts';
export { pullToLayout, pushFromLayout } from './copy.ts';
export { createRegistryService } from './module.ts';
export { ociErrorMapper, registryRoutes } from './http.ts';
export { toRepositoryJson } from './http-repositories.ts';
export { createRegistry } from './service.ts';
export type { Registry, RegistryOptions } from './service.ts';
export { openSqlRegistryStore } from './store.ts';
export type { ManifestRecord, RegistryStore, RepositoryRecord } from './store.ts';
export { openDiskBlobStore } from './blob-store.ts';
export type { BlobStore } from './blob-store.ts';
export { findDistributionBinary, startDistributionRegistry, startRegistryTestServer } from './testing.ts';
export type { DistributionRegistry, RegistryTestServer } from './testing.ts';
