// Public surface of @sealroom/verifier: the attestation verifier service (OIDC issuer of attestation tokens).
export { VERIFIER_ERRORS, VerifierError } from './errors.ts';
export type { VerifierErrorCode } from './errors.ts';
export { createVerifierModule, createVerifierService } from './module.ts';
export type { VerifierServiceOptions } from './module.ts';
export { loadVerifierConfig, parseVerifierConfig, verifierConfigFragment, verifierConfigSchema } from './config.ts';
export type { VerifierConfig } from './config.ts';
export { BOOT_BANKS, SUPPORT_ATTRIBUTES, createImageDatabase, softImageEntries, softImageEntry } from './image-db.ts';
export type { BootBank, ImageDatabase, ImageEntry, SupportAttribute } from './image-db.ts';
export { appraiseBoot, summarizeBoot } from './boot-appraisal.ts';
export type { BootAppraisalOptions, BootSummary } from './boot-appraisal.ts';
export { appraiseTpmEvidence } from './appraisal.ts';
export type { Appraisal, AppraisalOptions, TrustedRoot } from './appraisal.ts';
export { EAT_PROFILE, OEM_ID, buildClaims, instanceSelfLink } from './claims.ts';
export { keyIdOf, verifyImageSignature, verifyImageSignatures } from './image-signatures.ts';
export type { ImageSignatureInput, VerifiedImageSignature } from './image-signatures.ts';
export { createServiceAccountTokenVerifier } from './sa-tokens.ts';
export { createKeyRing } from './signing-keys.ts';
export type { KeyRing } from './signing-keys.ts';
export { createVerifier } from './service.ts';
export type { Challenge, TokenOptions, Verifier, VerifyRequest, VerifyResult } from './service.ts';
export { createSqlVerifierStore } from './store.ts';
export type { VerifierStore } from './store.ts';
export { snpClaims, tdxClaims } from './hardware-claims.ts';
export type { HardwareClaimOptions, HardwareClaims, HardwareModel } from './hardware-claims.ts';
export { classifyFile } from './evidence-files.ts';
export type { ClassifiedFile, EvidenceFileKind } from './evidence-files.ts';
export { collateralOf, importCollateral, loadCollateral } from './collateral-store.ts';
export type { ImportOptions } from './collateral-store.ts';
export type { ImportedCollateral, LoadedCollateral } from './collateral-store.ts';
export { verifyEvidenceOffline } from './offline.ts';
export type { OfflineOptions, OfflineVerdict } from './offline.ts';
export {
  AMD_KDS_URL,
  COLLATERAL_HOSTS,
  INTEL_CERTIFICATES_URL,
  INTEL_PCS_URL,
  fetchSnpCollateral,
  fetchTdxCollateral,
} from './collateral-fetch.ts';
export type { CollateralFetchOptions, SnpFetchRequest, TdxFetchRequest } from './collateral-fetch.ts';
