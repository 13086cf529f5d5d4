// Public surface of @sealroom/launcher: the TEE runtime's launch spec, launch policy, exit codes and pieces.
export { FAILURE_CLASS_OF, LAUNCHER_ERRORS, LauncherError } from './errors.ts';
export type { FailureClass, LauncherErrorCode } from './errors.ts';
export { parseMetadataFlag, parseMetadataFlags } from './metadata-syntax.ts';
export {
  METADATA_KEY_ALIASES,
  METADATA_KEYS,
  RESTART_POLICIES,
  parseLaunchSpec,
  parseMounts,
} from './launch-spec.ts';
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
export { canUseDmCrypt, mountEphemeralDisk } from './runtime/ephemeral-disk.ts';
export type { EphemeralDisk, EphemeralDiskKind, EphemeralDiskOptions } from './runtime/ephemeral-disk.ts';
export {
  SEALROOM_CGROUP_PARENT,
  cgroupPathOf,
  cgroupProcsFiles,
  isCgroupV2,
  readMemoryUsage,
  readOomKills,
} from './runtime/cgroup.ts';
export { startReaper } from './runtime/reaper.ts';
export type { Reaper } from './runtime/reaper.ts';
export { MEMORY_MONITOR_INTERVAL_MS, reportWorkloadExit, startMemoryMonitor } from './workload-report.ts';
export type { MemoryMonitorOptions } from './workload-report.ts';
export { createWorkloadOutput } from './workload-logs.ts';
export type { LineOutput, LogStream, WorkloadLogSink } from './workload-logs.ts';
export { runLaunch } from './launch.ts';
export type { LaunchOptions, LaunchPhase, LaunchResult } from './launch.ts';
export { DEFAULT_CRASH_LOOP_BACKOFF, superviseInstance } from './boots.ts';
export type { SuperviseOptions, SuperviseResult } from './boots.ts';
export { decompressLayer, parseTar } from './oci/tar.ts';
export type { TarEntry, TarEntryType } from './oci/tar.ts';
export { applyLayer, resolveInRoot, toRootRelative, unpackLayers } from './oci/unpack.ts';
export { createOciLayoutImageSource, treeSize } from './oci/layout-source.ts';
export type { OciLayoutSourceOptions } from './oci/layout-source.ts';
export { readMemFreeKb } from './host-info.ts';
export { createVerifierTokenSource, regionOfZone } from './verifier-client.ts';
export type { ImageSignature, VerifierClientOptions } from './verifier-client.ts';
export { COSIGN_SIGNATURE_ANNOTATION, MAX_SIGNATURES, createSignatureDiscovery } from './signature-discovery.ts';
export type { SignatureDiscoveryOptions, SignatureRegistry } from './signature-discovery.ts';
export { HARD_RESET } from './launch.ts';
export { DEFAULT_ADDRESS_POOL, parseAddressPool } from './network/address-pool.ts';
export { parseCidr } from './network/cidr.ts';
export { parseExposedPorts } from './network/exposed-ports.ts';
export type { ExposedPort } from './network/exposed-ports.ts';
export {
  EXPOSED_RULE_PRIORITY,
  IMPLIED_RULE_PRIORITY,
  IP_PROTOCOL_NUMBERS,
  PORT_PROTOCOLS,
  evaluateFirewall,
  rulesForInstance,
} from './network/firewall.ts';
export type {
  Connection,
  FirewallAction,
  FirewallDirection,
  FirewallMatch,
  FirewallRule,
  FirewallTarget,
  FirewallVerdict,
  PortRange,
} from './network/firewall.ts';
export { createHostNetwork, hostNames, probeNetworkIsolation, removeLeftovers } from './network/host-network.ts';
export type { AttachOptions, HostNetwork, HostNetworkOptions, InstanceNetwork } from './network/host-network.ts';
export type { PublishedPort } from './network/nft-rules.ts';
export {
  MAX_WAIT_SECONDS,
  METADATA_BASE_PATH,
  METADATA_FLAVOR,
  METADATA_FLAVOR_HEADER,
  startMetadataServer,
} from './metadata-server/server.ts';
export type { MetadataCredentials, MetadataServer, MetadataServerOptions } from './metadata-server/server.ts';
export type { InstanceFacts } from './metadata-server/tree.ts';
export {
  CA_BUNDLE_FILE_NAME,
  CA_FILE_NAME,
  ENDPOINTS_FILE_NAME,
  METADATA_HOSTNAME,
  PLATFORM_SERVICES,
  caDigest,
  toEndpointsDocument,
  writePlatformFiles,
} from './metadata-server/platform-files.ts';
export type { PlatformEndpoints, PlatformFiles, WritePlatformFilesOptions } from './metadata-server/platform-files.ts';
export { CONTAINER_PLATFORM_DIR } from './runtime/types.ts';
export { PLATFORM_DIR_ENV } from './runtime/process.ts';
export {
  DEFAULT_METADATA_HOST,
  METADATA_HOST_ENV,
  createMetadataClient,
  parseMetadataHost,
  watchAttributes,
} from './init/metadata-client.ts';
export type { InstanceSnapshot, MetadataClient } from './init/metadata-client.ts';
export {
  DEFAULT_HARDWARE,
  bootPlatform,
  resolvePlatform,
} from './init/platforms.ts';
export type {
  BootedPlatform,
  BootPlatformOptions,
  HardwareSettings,
  PlatformChoice,
  PlatformKind,
  TpmSettings,
} from './init/platforms.ts';
export { createSerialLogger } from './init/serial-logger.ts';
export { bootInstance, prepareBootIsolation } from './init/boot.ts';
export type { BootReporter, DeploymentAccess, InstanceBootOptions, InstanceBootResult } from './init/boot.ts';
export {
  hostChannelOn,
  launcherChannelOn,
  openLauncherChannel,
  REPORT_CHANNEL_VERSION,
} from './init/report-channel.ts';
export type { HostChannel, HostMessage, LauncherChannel, LauncherReport } from './init/report-channel.ts';
export { LAUNCHER_FLAGS, launcherBuildDigest, parseLauncherFlags, runLauncherProgram } from './init/program.ts';
export type { LauncherFlags, LauncherProgramDeps } from './init/program.ts';
