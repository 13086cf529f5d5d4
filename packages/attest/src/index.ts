// Public surface of @sealroom/attest: TPM 2.0 structures, event logs, and evidence platforms.
export { ATTEST_ERRORS, AttestError } from './errors.ts';
export type { AttestErrorCode } from './errors.ts';
export { TPM_ALG, TPM_ECC_CURVE, digest, findHash, hashInfo } from './tpm/constants.ts';
export type { HashInfo } from './tpm/constants.ts';
export { encodePcrSelectionList, parsePcrSelectionList } from './tpm/pcr-selection.ts';
export type { PcrSelection } from './tpm/pcr-selection.ts';
export { encodeQuoteInfo, parseQuoteInfo } from './tpm/attest.ts';
export type { ClockInfo, QuoteInfo } from './tpm/attest.ts';
export { encodeTpmSignature, parseTpmSignature, signTpm, verifyTpmSignature } from './tpm/signature.ts';
export type { TpmSignature } from './tpm/signature.ts';
export {
  checkAttestationKeyTemplate,
  encodeTpmPublic,
  fromPublicKey,
  matchesPublicKey,
  parseTpmPublic,
  toPublicKey,
  tpmName,
} from './tpm/public.ts';
export type { EccPublic, RsaPublic, TpmPublic } from './tpm/public.ts';
export { verifyQuote } from './tpm/quote.ts';
export type { TpmQuote, VerifyQuoteOptions } from './tpm/quote.ts';
export {
  EV,
  bindTcgEventLog,
  encodeTcgEventLog,
  kernelCmdlineEvent,
  parseTcgEventLog,
  replayTcgEventLog,
} from './eventlog/tcg.ts';
export type { TcgEvent, TcgEventInput, TcgEventLog } from './eventlog/tcg.ts';
export { extractBootState, normalizeCmdline } from './eventlog/boot-state.ts';
export type { BootState } from './eventlog/boot-state.ts';
export type { SecureBootState } from './eventlog/secure-boot.ts';
export {
  EFI_GUID,
  efiGuid,
  encodeSignatureList,
  encodeUefiVariable,
  parseSignatureLists,
  parseUefiVariable,
} from './eventlog/uefi.ts';
export type { SignatureDatabase, UefiVariable } from './eventlog/uefi.ts';
export { CEL_TYPE, celRecordFor, decodeCel, encodeCel, encodeCelRecord, replayCel } from './eventlog/cel.ts';
export type { CelIndexType, CelRecord, CelRecordInput } from './eventlog/cel.ts';
export {
  COS_CCMR,
  COS_PCR,
  COS_REGISTERS,
  COS_TYPE,
  ENV_NAME_PATTERN,
  RESTART_POLICIES,
  bindCosLog,
  encodeCosContent,
  parseCosState,
} from './eventlog/cos.ts';
export type { AttestedCosState, CosEvidenceKind, GpuCcMode, RestartPolicy } from './eventlog/cos.ts';
export { verifyBootLog, verifyLaunchLog, verifyTpmEvidence } from './tpm/evidence.ts';
export type { QuotedPcrs, TpmEvidence, VerifiedTpmEvidence, VerifyTpmEvidenceOptions } from './tpm/evidence.ts';
export { TAG as DER_TAG, parseDer, readChildren, readDer } from './x509/der.ts';
export type { DerNode } from './x509/der.ts';
export { encodeName, issueCertificate, readExtensions, verifyCertificateChain } from './x509/certificate.ts';
export type { CertExtension, IssueCertificateOptions, VerifiedChain, VerifyChainOptions } from './x509/certificate.ts';
export {
  GCE_INSTANCE_INFO_OID,
  decodeInstanceInfo,
  encodeInstanceInfo,
  readInstanceInfo,
} from './x509/instance-info.ts';
export type { InstanceInfo } from './x509/instance-info.ts';
export type { HwModel, Platform, PlatformEvidence } from './platform/platform.ts';
export {
  AK_CERT_VALIDITY_MS,
  PLATFORM_CA_VALIDITY_MS,
  createPlatformCa,
  loadPlatformCa,
} from './platform/platform-ca.ts';
export type { PlatformCa } from './platform/platform-ca.ts';
export { PCR_COUNT, SOFT_TPM_BANKS, SoftTpm } from './platform/soft-tpm.ts';
export type { AkAlgorithm, SoftTpmOptions } from './platform/soft-tpm.ts';
export { SoftPlatform, bootSoftPlatform, softBootCmdline } from './platform/soft.ts';
export { SOFT_CRTM_VERSION, softBootEvents, softBootImages, softSecureBootKeys } from './platform/soft-firmware.ts';
export type { SoftFirmwareOptions, SoftSecureBootKeys } from './platform/soft-firmware.ts';
export type { ImageFamily, SoftBootOptions } from './platform/soft.ts';
export { loadOrCreatePlatformCa } from './platform/platform-ca-file.ts';
