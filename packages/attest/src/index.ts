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
export { verifyAkCertificateChain } from './x509/ak-chain.ts';
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
export { SoftPlatform, bootSoftPlatform, bootSoftPlatformCertifiedBy, softBootCmdline } from './platform/soft.ts';
export type { AkCertifier } from './platform/soft.ts';
export { SOFT_CRTM_VERSION, softBootEvents, softBootImages, softSecureBootKeys } from './platform/soft-firmware.ts';
export type { SoftFirmwareOptions, SoftSecureBootKeys } from './platform/soft-firmware.ts';
export type { ImageFamily, SoftBootOptions } from './platform/soft.ts';
export { loadOrCreatePlatformCa } from './platform/platform-ca-file.ts';
export { REPORT_DATA_TAG, checkReportData, expectedReportData, reportDataFor } from './report-data.ts';
export type { ExpectedReportData, ReportDataInput } from './report-data.ts';
export {
  SNP_MAX_VERSION,
  SNP_MIN_VERSION,
  SNP_PRODUCTS,
  SNP_REPORT_SIZE,
  decodeSnpTcb,
  parseSnpReport,
  productOfCpuid,
} from './sev-snp/report.ts';
export type { SnpPolicy, SnpProduct, SnpReport, SnpSigningKey, SnpTcb } from './sev-snp/report.ts';
export { AMD_ARK_SHA256, readSnpKeyCertificate, splitPemCertificates, verifySnpChain } from './sev-snp/certs.ts';
export type { SnpChainOptions, SnpKeyCertificate, VerifiedSnpChain } from './sev-snp/certs.ts';
export { appraiseSnpReport, verifySnpReport } from './sev-snp/verify.ts';
export type { SnpAppraisalPolicy, SnpEvidence, VerifiedSnpReport } from './sev-snp/verify.ts';
export { SIMULATED_TCB, createSnpAuthority, issueSnpCrl, mintSnpReport } from './sev-snp/simulator.ts';
export type { SimulatedSnpAuthority, SnpReportFields } from './sev-snp/simulator.ts';
export { crlSignedBy, normalizeSerial, parseCrl, readDerTime, verifyWithAlgorithm } from './x509/crl.ts';
export type { CertificateList } from './x509/crl.ts';
export { TDX_MAX_QUOTE_SIZE, parseTdxQuote, tdDebug } from './tdx/quote.ts';
export type { QeReport, TdxBody, TdxQuote, TdxQuoteHeader } from './tdx/quote.ts';
export {
  INTEL_LEAF,
  INTEL_SGX_ROOT_SHA256,
  checkIntelRevocation,
  readPckExtensions,
  verifyIntelChain,
} from './tdx/pck.ts';
export type { IntelChainOptions, PckExtensions } from './tdx/pck.ts';
export { evaluateQeIdentity, evaluateTdxTcb, rawJsonMember } from './tdx/collateral.ts';
export type {
  CollateralDates,
  QeIdentityEvaluation,
  SignedCollateral,
  TcbStatus,
  TdxTcbEvaluation,
} from './tdx/collateral.ts';
export { appraiseTdxQuote, verifyTdxQuote } from './tdx/verify.ts';
export type {
  TdxAppraisalPolicy,
  TdxCollateral,
  TdxReferenceMeasurements,
  VerifiedTdxQuote,
  VerifyTdxOptions,
} from './tdx/verify.ts';
export {
  TPM_CC,
  TPM_RH,
  TpmDevice,
  connectTpmSocket,
  openTpm,
  openTpmDevice,
  resetTpmSimulator,
} from './tpm/device.ts';
export type { TpmBank, TpmKey, TpmTransport } from './tpm/device.ts';
export { GCE_NV_INDEX, TpmPlatform, bootTpmPlatform, gceAkTemplateEcc } from './platform/tpm.ts';
export type { TpmBootOptions } from './platform/tpm.ts';
export type { SevSnpReportEvidence, TdxQuoteEvidence, TpmPlatformEvidence } from './platform/platform.ts';
export { CONFIGFS_TSM_REPORT_ROOT, TSM_PROVIDERS, probeTsmProvider, requestTsmReport } from './tsm/configfs.ts';
export type { TsmOptions, TsmPlatformKind, TsmReport, TsmReportRequest } from './tsm/configfs.ts';
export type { KernelFs } from './tsm/fs.ts';
export { SNP_CERT_GUID, encodeSnpCertTable, parseSnpCertTable } from './tsm/cert-table.ts';
export type { SnpCertTableEntry } from './tsm/cert-table.ts';
export { RTMR_DIGEST_BYTES, TDX_MEASUREMENTS_ROOT, extendRtmr, readRtmr } from './tsm/rtmr.ts';
export type { RtmrOptions } from './tsm/rtmr.ts';
export { createInstanceIdentity } from './platform/identity.ts';
export type { IdentityOptions, InstanceIdentity } from './platform/identity.ts';
export { SevSnpPlatform, bootSevSnpPlatform } from './platform/sev-snp.ts';
export type { SevSnpBootOptions } from './platform/sev-snp.ts';
export { CCEL_PATHS, TdxPlatform, bootTdxPlatform } from './platform/tdx.ts';
export type { TdxBootOptions } from './platform/tdx.ts';
export { kdfa, kdfe, makeCredential } from './tpm/credential.ts';
export type { MadeCredential } from './tpm/credential.ts';
export { beginAkEnrolment, ekTemplate, enrolAttestationKey } from './platform/ak-enrolment.ts';
export type { AkEnroller, RemoteAkChallenge } from './platform/ak-enrolment.ts';
export type { AkEnrolmentChallenge, EnrolAkOptions } from './platform/ak-enrolment.ts';
