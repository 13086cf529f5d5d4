// Public surface of @sealroom/builder: reproducible image builds, cosign-compatible signing, attestations.
export { BUILDER_ERRORS, BuilderError } from './errors.ts';
export type { BuilderErrorCode } from './errors.ts';
export { executableMode, normaliseEntries, normaliseTarPath, readTar, writeTar } from './tar.ts';
export type { ReadTarEntry, TarEntry, TarOptions } from './tar.ts';
export { GZIP_LEVEL, describeCompressor, toLayerBlob } from './layer.ts';
export type { Compression, LayerBlob } from './layer.ts';
export { buildImageConfig, buildImageManifest, toCreated, toJsonBlob } from './image.ts';
export type { BuiltBlob, ImageBlobs, ImageConfigOptions } from './image.ts';
export { BUILD_CONFIG_FILE, loadBuildConfig, parseBuildConfig, toLaunchPolicyLabels } from './build-config.ts';
export type { BuildConfig, BuildConfigFile, LaunchPolicyConfig } from './build-config.ts';
export { IMAGE_NODE_PATH, locateNodeBinary, parseLddOutput, resolveNodeRuntime, toCustomRuntime } from './runtime.ts';
export type { RuntimeBase, RuntimeFile } from './runtime.ts';
export { bundleWorkload } from './bundle.ts';
export type { BundleResult } from './bundle.ts';
export { CYCLONEDX_PREDICATE_TYPE, buildCycloneDxSbom, collectComponents, toPurl } from './sbom.ts';
export type { SbomComponent } from './sbom.ts';
export { computeSourceDigest } from './source.ts';
export { APP_DIR, buildImage, createLayerCache, writeImageToLayout } from './build.ts';
export { openRuntimeCache, runtimeCacheDir } from './runtime-cache.ts';
export type { RuntimeCache } from './runtime-cache.ts';
export type { BuildInputs, BuildOptions, BuiltImage, LayerCache, NodeBuildInputs } from './build.ts';
export {
  DEFAULT_BUILD_TIMEOUT_MS,
  buildDockerfileImage,
  defaultBuildCacheDir,
  readCommitEpoch,
} from './dockerfile/build.ts';
export type { BaseUse, BuildProgress, DockerfileBuildInputs, DockerfileBuildOptions } from './dockerfile/build.ts';
export { registryBaseImages, splitReference } from './dockerfile/bases.ts';
export type { BaseImageSource, ResolvedBase } from './dockerfile/bases.ts';
export { detectEngine, detectStorageDriver } from './dockerfile/buildah.ts';
export type { EngineInfo, EngineStep, StorageDriver } from './dockerfile/buildah.ts';
export { readBuildContext } from './dockerfile/context.ts';
export type { BuildContext, ContextEntry } from './dockerfile/context.ts';
export { parseDockerfile } from './dockerfile/parse.ts';
export type { DockerfileInstruction, DockerfileStage, ImageUse, ParsedDockerfile } from './dockerfile/parse.ts';
export { buildDebianBaseImage } from './debian-base.ts';
export type { BaseImageBuild, DebianBaseOptions } from './debian-base.ts';
export { importImage, parseImportSource } from './import.ts';
export type { ImportedImage, ImportImageOptions, ImportSource } from './import.ts';
export {
  SIGNATURE_ALGORITHMS,
  algorithmsForKey,
  computeKeyId,
  decodePublicKeyPem,
  decodeRawStdBase64,
  toRawStdBase64,
} from './keys.ts';
export type { PublicKeyInfo, SignatureAlgorithm } from './keys.ts';
export { createCallbackSigner, createKeySigner } from './signer.ts';
export type { Signer } from './signer.ts';
export {
  COSIGN_PAYLOAD_TYPE,
  PUB_ANNOTATION,
  SIGALG_ANNOTATION,
  buildSimpleSigningPayload,
  parseSimpleSigningPayload,
  toCsOptional,
  verifyCsSignature,
  verifyRawSignature,
} from './simple-signing.ts';
export type { SimpleSigningPayload, VerifiedSignature } from './simple-signing.ts';
export {
  DSSE_MEDIA_TYPE,
  MAX_SIGNATURE_LAYERS,
  PREDICATE_TYPE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  appendSignatureLayers,
  buildSignatureManifest,
  toSignatureLayer,
} from './cosign-manifest.ts';
export type { SignatureLayer, SignatureManifest } from './cosign-manifest.ts';
export { signImage, toTrustedKey, verifyImageSignatures } from './sign.ts';
export type { ImageVerification, SignImageOptions, SignatureCheck, TrustedKey, VerifyImageOptions } from './sign.ts';
export { IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope, preAuthEncoding, signDsse, verifyDsse } from './dsse.ts';
export type { DsseEnvelope } from './dsse.ts';
export {
  IN_TOTO_STATEMENT_TYPE,
  PREDICATE_TYPES,
  SLSA_PROVENANCE_V1,
  attestImage,
  buildProvenancePredicate,
  buildSbomPredicate,
  buildStatement,
  verifyAttestation,
} from './attestation.ts';
export type { InTotoStatement } from './attestation.ts';
export { CYCLONEDX_MEDIA_TYPE, fetchAttachments, pushAttachments, pushImage, pushReferrer } from './publish.ts';
export type { AttachmentKind } from './publish.ts';
export {
  TEST_BASE_IMAGES,
  dockerfileBuildsUnavailable,
  prepareTestBaseLayout,
  pushTestBaseImages,
  testCacheDir,
} from './testing.ts';
export type { TestBaseName } from './testing.ts';
