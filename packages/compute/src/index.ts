// Public surface of @sealroom/compute: the `compute` service module, the host agent seam, its error catalogue.
export { COMPUTE_ERRORS, ComputeError } from './errors.ts';
export type { ComputeErrorCode } from './errors.ts';
export type { HostAgent } from './host-agent.ts';
export { createComputeModule, createComputeService } from './module.ts';
export { computeConfigFragment } from './config.ts';
export { launcherBuildDigest } from '@sealroom/launcher';
export { joinDeployment, readHostState } from './hosts/host-state.ts';
export type { HostState, JoinOptions } from './hosts/host-state.ts';
export { startHostRunner } from './hosts/host-runner.ts';
export type { HostRunner, HostRunnerOptions } from './hosts/host-runner.ts';
export { LAUNCHER_ENTRY, launcherDeps, launcherProgram, runLauncher } from './launcher-program.ts';
