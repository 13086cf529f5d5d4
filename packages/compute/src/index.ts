// Public surface of @sealroom/compute: Compute Engine-shaped instances and the host agent that boots them.
export { COMPUTE_ERRORS, ComputeError } from './errors.ts';
export type { ComputeErrorCode } from './errors.ts';
export type { Instance, InstanceServiceAccount, InstanceStatus, MetadataItem } from './instance.types.ts';
export type { BootRequest, DecodedToken, ExecResult, HostAgent, InstanceEvents } from './host-agent.ts';
export { createSerialStreams, SERIAL_POLL_MS, SERIAL_STREAM_MAX_MS } from './serial-stream.ts';
export type { SerialBatch, SerialStreams, SerialStreamOptions } from './serial-stream.ts';
export { createEmbeddedHostAgent } from './embedded-agent.ts';
export type { EmbeddedAgentOptions, InstanceCredentials } from './embedded-agent.ts';
export { createRegistryImageSource, discoverSignatures, registryBaseUrl } from './registry-images.ts';
export { createInstanceService, instanceResource } from './service.ts';
export type { CreateInstanceInput, InstanceService, ServiceAccountLookup } from './service.ts';
export { openSqlInstanceStore } from './store.ts';
export type { InstanceStore } from './store.ts';
export { computeRoutes, imageFamilyOf } from './http.ts';
export { toInstanceJson, toOperationJson } from './json.ts';
export { createComputeModule, createComputeService, launcherBuildDigest } from './module.ts';
export type { ComputeModuleOptions } from './module.ts';
