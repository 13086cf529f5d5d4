// Public surface of @sealroom/formats: digests, deterministic tar, OCI content and layouts, X.509/DER.
export { FORMATS_ERRORS, FormatsError } from './errors.ts';
export type { FormatsErrorCode } from './errors.ts';
export { assertDigest, computeDigest, digestHex, isDigest, parseDigest, toDigestTag } from './digest.ts';
export type { Digest } from './digest.ts';
export { executableMode, normaliseEntries, normaliseTarPath, readTar, writeTar } from './tar.ts';
export type { ReadTarEntry, TarEntry, TarOptions } from './tar.ts';
export {
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
} from './oci/media-types.ts';
export type {
  ContainerConfig,
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Platform,
} from './oci/oci.types.ts';
export { isRepositoryName, isTag } from './oci/names.ts';
export { openOciLayout, readOciLayout } from './oci/layout.ts';
export type { OciLayout } from './oci/layout.ts';
export { pullToLayout, pushFromLayout } from './oci/copy.ts';
export type { FetchedManifest, OciDistribution } from './oci/copy.ts';
export {
  TAG as DER_TAG,
  der,
  derBitString,
  derBoolean,
  derExplicit,
  derInteger,
  derOid,
  derSequence,
  derTime,
  derUtf8,
  expectTag,
  parseDer,
  readChildren,
  readDer,
  toBigInt,
  toBoolean,
  toOid,
  toText,
} from './x509/der.ts';
export type { DerNode } from './x509/der.ts';
export {
  EKU,
  encodeName,
  ipFromBytes,
  ipToBytes,
  issueCertificate,
  readExtensions,
  readSubject,
  readSubjectAltNames,
  readSubjectKeyId,
  toPem,
} from './x509/certificate.ts';
export type { CertExtension, IssueCertificateOptions, SubjectAltName } from './x509/certificate.ts';
export { verifyCertificateChain } from './x509/chain.ts';
export type { VerifiedChain, VerifyChainOptions } from './x509/chain.ts';
