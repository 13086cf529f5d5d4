// Public surface of @sealroom/launcher: the TEE runtime's launch spec, launch policy, exit codes and pieces.
export { FAILURE_CLASS_OF, LAUNCHER_ERRORS, LauncherError } from './errors.ts';
export type { FailureClass, LauncherErrorCode } from './errors.ts';
export { parseMetadataFlag, parseMetadataFlags } from './metadata-syntax.ts';
export { METADATA_KEYS, RESTART_POLICIES, parseLaunchSpec, parseMounts } from './launch-spec.ts';
export type {
  EnvOverride,
  LaunchSpec,
  LogRedirectLocation,
  ParseLaunchSpecOptions,
  RestartPolicy,
  TmpfsMount,
} from './launch-spec.ts';
export { LAUNCH_POLICY_LABEL_PREFIX, parseLaunchPolicy, verifyLaunchPolicy } from './launch-policy.ts';
export type { LaunchPolicy, LogRedirectPolicy } from './launch-policy.ts';
export type { MonitoringType } from './parse-values.ts';
export { checkLaunch } from './launch-check.ts';
export type { CheckLaunchOptions, LaunchCheck } from './launch-check.ts';
export {
  EXIT_FAIL,
  EXIT_HOLD,
  EXIT_PANIC,
  EXIT_REBOOT,
  EXIT_SUCCESS,
  exitCodeFor,
  hostActionFor,
  outcomeOf,
  outcomeOfWorkloadExit,
} from './exit-code.ts';
export type { ExitCodeInput, HostAction, LaunchExitCode, LaunchOutcome } from './exit-code.ts';
export { NO_LOG_DESTINATIONS, decideLogRedirect, isMemoryMonitoringMeasured } from './log-redirect.ts';
export type { LogDestinations } from './log-redirect.ts';
export { TOKEN_TYPES } from './token-source.ts';
export type {
  CustomTokenRequest,
  TokenSource,
  TokenSourceContext,
  TokenSourceFactory,
  TokenType,
} from './token-source.ts';
export {
  MAX_AUDIENCE_BYTES,
  MAX_NONCES,
  MAX_NONCE_BYTES,
  MIN_NONCE_BYTES,
  parseCustomTokenRequest,
} from './token-request.ts';
export { TEESERVER_SOCKET_NAME, startTeeServer } from './teeserver.ts';
export type { TeeServer, TeeServerOptions } from './teeserver.ts';
export { createFakeTimers, systemTimers } from './timers.ts';
export type { FakeTimers, TimerHandle, Timers } from './timers.ts';
export {
  DEFAULT_BACKOFF,
  TOKEN_FILE_NAME,
  backoffDelayMs,
  retryDelayMs,
  createTokenRefresher,
  readTokenExpiryMs,
  refreshDelayMs,
  writeTokenFile,
} from './token-refresher.ts';
export type {
  BackoffOptions,
  TokenRefresher,
  TokenRefresherOptions,
  TokenRefresherStatus,
  TokenValidity,
} from './token-refresher.ts';
export { CONTAINER_LAUNCHER_DIR, DEFAULT_DEV_SHM_SIZE_KB } from './runtime/types.ts';
export type {
  ContainerConfig,
  ContainerExit,
  ContainerOutput,
  ContainerRuntime,
  RunningContainer,
  RuntimeKind,
} from './runtime/types.ts';
export { createRuncRuntime } from './runtime/runc.ts';
export type { RuncRuntimeOptions } from './runtime/runc.ts';
export { buildRuncSpec } from './runtime/runc-spec.ts';
export type { RuncSpecOptions } from './runtime/runc-spec.ts';
export { buildBwrapArgs, createBwrapRuntime } from './runtime/bwrap.ts';
export type { BwrapRuntimeOptions } from './runtime/bwrap.ts';
export { LAUNCHER_DIR_ENV, createProcessRuntime } from './runtime/process.ts';
export { detectContainerRuntime } from './runtime/detect.ts';
export type { DetectRuntimeOptions, RuntimeDetection } from './runtime/detect.ts';
export { STOP_GRACE_MS, stopContainer } from './runtime/stop.ts';
export type { StopOptions } from './runtime/stop.ts';
export { ensureMountPoints } from './runtime/mount-points.ts';
export { DEFAULT_PATH_ENV, buildContainerProcess, resolveImageUser } from './container-process.ts';
export type { ContainerProcess, ImageConfig } from './container-process.ts';
export { cosEventsFor, measureLaunch } from './measure.ts';
export type { CosEvent, ImageIdentity } from './measure.ts';
export type { ImageSource, PulledImage } from './image-source.ts';
export { createWorkloadOutput } from './workload-logs.ts';
export type { LineOutput, LogStream, WorkloadLogSink } from './workload-logs.ts';
export { runLaunch } from './launch.ts';
export type { LaunchOptions, LaunchPhase, LaunchResult } from './launch.ts';
export { DEFAULT_CRASH_LOOP_BACKOFF, superviseInstance } from './boots.ts';
export type { SuperviseOptions, SuperviseResult } from './boots.ts';
export { decompressLayer, parseTar } from './oci/tar.ts';
export type { TarEntry, TarEntryType } from './oci/tar.ts';
export { applyLayer, resolveInRoot, toRootRelative, unpackLayers } from './oci/unpack.ts';
export { createOciLayoutImageSource } from './oci/layout-source.ts';
export type { OciLayoutSourceOptions } from './oci/layout-source.ts';
export { readMemFreeKb } from './host-info.ts';
export { createVerifierTokenSource, regionOfZone, toTpmAttestationJson } from './verifier-client.ts';
export type { ImageSignature, VerifierClientOptions } from './verifier-client.ts';
export { COSIGN_SIGNATURE_ANNOTATION, MAX_SIGNATURES, createSignatureDiscovery } from './signature-discovery.ts';
export type { SignatureDiscoveryOptions, SignatureRegistry } from './signature-discovery.ts';
export { HARD_RESET } from './launch.ts';
