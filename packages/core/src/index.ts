// Public surface of @sealroom/core: the pieces every package shares.
export {
  CORE_ERRORS,
  CoreError,
  GRPC_CODE_OF,
  HTTP_STATUS_OF,
  SealroomError,
  invalidArgument,
  isSealroomError,
  notFound,
  permissionDenied,
} from './errors.ts';
export type { CanonicalStatus, CoreErrorCode, ErrorCatalog, ErrorSpec, SealroomErrorOptions } from './errors.ts';
export { createFakeClock, parseDurationMs, systemClock, toDuration, toRfc3339 } from './clock.ts';
export type { Clock, FakeClock } from './clock.ts';
export {
  newInstanceId,
  newNumericId,
  newProjectNumber,
  newSecretToken,
  newUniqueId,
  newUuid,
  newUuidV7,
  writeMillis48,
} from './ids.ts';
export { fromBase64, fromBase64Lenient, fromBase64Url, toBase64, toBase64Url } from './base64.ts';
export { crc32c, parseCrc32c } from './crc32c.ts';
export { PROJECT_ID_PATTERN, checkResourceId, projectOf, resourceTemplate } from './resource-name.ts';
export type { ResourceTemplate } from './resource-name.ts';
export { REDACTED, createMemoryLogger, redact, silentLogger } from './logger.ts';
export type { LogFields, Logger, MemoryLogger } from './logger.ts';
export type {
  SqlDatabase,
  SqlExecutor,
  SqlNotifications,
  SqlRow,
  SqlStatement,
  SqlValue,
  TransactionOptions,
} from './sql.ts';
export { pendingMigrations } from './sql.ts';
export { createGroupCommitter, type GroupCommitter } from './group-commit.ts';
export { createLocalNotifications } from './notifications.ts';
export { createLeases, LEASE_MIGRATIONS, scheduleLeased } from './leases.ts';
export type { LeasedScheduleOptions, Leases, LeasesOptions } from './leases.ts';
export { DEFAULT_MIN_FREE_BYTES, openSqliteDatabase } from './sqlite.ts';
export { storageFaultKindOf, storageFaultOf, toStorageFault } from './storage-fault.ts';
export type { StorageFaultKind, StorageHealth } from './storage-fault.ts';
export type { SqliteOptions } from './sqlite.ts';
export { KeptResults, deepFreeze } from './kept.ts';
export { pooledRandomBytes } from './random.ts';
export {
  ecdsaP1363ToDer,
  publicKeyFromPem,
  signRs256Jwt,
  verifyEcdsaDer,
  verifyEcdsaP1363,
  verifyRs256,
  verifyRsaPkcs1,
} from './signatures.ts';
export { generateRsaKeyPair } from './key-pairs.ts';
export { createSealer, loadOrCreateRootKey } from './sealer.ts';
export type { Sealer } from './sealer.ts';
export type {
  AccessTokenIssuer,
  AccessTokenRequest,
  AuditLog,
  AuditOutcome,
  AuditRecord,
  Authenticator,
  Authorizer,
  AuthorizerDecision,
  Caller,
  CallerKind,
  FederatedIdentity,
  IssuedAccessToken,
  ProjectRef,
  ProjectResolver,
} from './caller.ts';
export { resolveRepoRoot, resolveSharedDir } from './shared-dir.ts';
export { mountSmallFilesystem } from './small-filesystem.ts';
export type { SmallFilesystem } from './small-filesystem.ts';
export {
  OUTPUT_POLICY_LABEL,
  describeOutputPolicy,
  formatOutputPolicy,
  outputPolicyClaims,
  outputPolicyDigest,
  parseOutputPolicy,
  parseOutputPolicyLabel,
} from './output-policy.ts';
export type { DpMechanism, DpPolicy, OutputPolicy } from './output-policy.ts';
export { CONTRACT_ERRORS, ContractError } from './contracts/errors.ts';
export type { ContractErrorCode } from './contracts/errors.ts';
export type { JsonSchema } from './contracts/json-schema.ts';
export { CLAIMS_SCHEMA } from './contracts/claims.schema.ts';
export {
  RESTART_POLICIES,
  claimOf,
  decodeClaims,
  decodeClaimsPayload,
  encodeClaims,
  isRestartPolicy,
  parseClaims,
  sealroomClaimsOf,
} from './contracts/claims.ts';
export type {
  Claims,
  ConfidentialSpaceClaims,
  ContainerClaims,
  DebugStatus,
  GceClaims,
  HwModel,
  ImageSignatureAlgorithm,
  ImageSignatureClaim,
  NvidiaGpuClaims,
  RestartPolicy,
  SealroomClaims,
  SealroomTrustClaims,
  Submods,
  SupportAttribute,
} from './contracts/claims.ts';
export {
  HASH_ALGORITHMS,
  VERIFY_ATTESTATION_SCHEMA,
  VERIFY_CONFIDENTIAL_SPACE_SCHEMA,
} from './contracts/evidence.schema.ts';
export {
  encodeVerifyConfidentialSpaceRequest,
  fromSignedEntitiesJson,
  fromSevSnpAttestationJson,
  fromTdCcelJson,
  fromTpmAttestationJson,
  parseVerifyAttestationRequest,
  parseVerifyConfidentialSpaceRequest,
  toSevSnpAttestationJson,
  toTdCcelJson,
  toTpmAttestationJson,
} from './contracts/evidence.ts';
export type {
  ConfidentialSpaceOptionsJson,
  ContainerImageSignatureJson,
  GcpCredentialsJson,
  SevSnpAttestationBytes,
  SevSnpAttestationJson,
  SignedEntityJson,
  TdCcelBytes,
  TdCcelJson,
  TpmAttestationJson,
  TpmEvidenceBytes,
  TpmQuoteJson,
  VerifyAttestationRequest,
  VerifyConfidentialSpaceRequest,
} from './contracts/evidence.ts';
