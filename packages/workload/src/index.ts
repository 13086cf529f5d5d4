// Public surface of @sealroom/workload: the SDK for code running inside a Sealroom instance.
export { httpFailure, WORKLOAD_ERRORS, WorkloadError } from './errors.ts';
export type { WorkloadErrorCode } from './errors.ts';
export {
  CONTAINER_LAUNCHER_DIR,
  LAUNCHER_DIR_ENV,
  TEESERVER_SOCKET_NAME,
  TOKEN_FILE_NAME,
  resolveLauncherPaths,
} from './paths.ts';
export type { LauncherPaths } from './paths.ts';
export { decodeTokenClaims, readDefaultToken, readTokenClaims } from './token.ts';
export type { ReadTokenOptions } from './token.ts';
export { fetchDefaultToken, requestCustomToken } from './teeserver-client.ts';
export type { CustomTokenOptions, CustomTokenType } from './teeserver-client.ts';
export {
  JWT_TOKEN_TYPE,
  buildExternalAccountCredentials,
  impersonationUrlFor,
  tokenUrlFor,
} from './credentials.ts';
export type { ExternalAccountCredentials, ExternalAccountOptions } from './credentials.ts';
export { classifyFailure, isTransientFailure } from './failure.ts';
export type { FailureClass, FailureKind, FailureReason } from './failure.ts';
export { DEFAULT_RETRY_GATE, createRetryGate, retryGateDelayMs } from './retry-gate.ts';
export type { RetryGate, RetryGateOptions, RetryGateState } from './retry-gate.ts';
export {
  bearerCallCredentials,
  toCallCredentialsError,
  createExternalAccountClient,
  kmsClientOptions,
  pubsubClientOptions,
} from './google-clients.ts';
export type {
  KmsClientOptionsInput,
  KmsTransport,
  PubsubClientOptionsInput,
  SealroomEndpoint,
} from './google-clients.ts';
export {
  DATA_KEY_BYTES,
  IV_BYTES,
  TAG_BYTES,
  contributionAad,
  createDataKey,
  decryptWithDataKey,
  encryptWithDataKey,
} from './envelope.ts';
export { createDataKeyCache, createKmsKeyWrapper } from './key-wrapper.ts';
export type { DataKeyCache, DataKeyCacheOptions, KeyWrapper, KmsCryptoClient } from './key-wrapper.ts';
export { TLS_BINDING_LABEL, tlsBindingNonce } from './tls-binding.ts';
export {
  bernoulliExp,
  cryptoUniform,
  gaussianSigma2,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  toRational,
} from './dp-noise.ts';
export type { Rational, UniformSource } from './dp-noise.ts';
export { createPrivacyLedger, outputPolicyOfClaims, releaseResult } from './release.ts';
export type {
  OutputPolicyClaims,
  PrivacyLedger,
  PrivacyLedgerSnapshot,
  Release,
  ReleaseOptions,
  ValueTally,
} from './release.ts';
export {
  CONTAINER_PLATFORM_DIR,
  ENDPOINTS_FILE_NAME,
  PLATFORM_DIR_ENV,
  googleClientOptions,
  readPlatformEndpoints,
} from './platform-endpoints.ts';
export type { GoogleClientOptionsInput, PlatformEndpointsDocument, ServiceEndpoint } from './platform-endpoints.ts';
