// The platform's files in the container: /run/sealroom (endpoints, CA) and /etc/hosts (metadata.google.internal).
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTAINER_PLATFORM_DIR, type ContainerConfig } from './types.ts';

/** Read-only bind mounts of the platform directory and the hosts file, when the host gives them. */
export function platformMounts(config: ContainerConfig): { source: string; destination: string }[] {
  return [
    ...(config.platformDir === undefined ? [] : [{ source: config.platformDir, destination: CONTAINER_PLATFORM_DIR }]),
    ...(config.hostsFile === undefined ? [] : [{ source: config.hostsFile, destination: '/etc/hosts' }]),
  ];
}

/**
 * bwrap binds onto an existing file only: an image without a regular /etc/hosts keeps none (the workload
 * then reaches the metadata server through GCE_METADATA_HOST alone).
 */
export async function bwrapPlatformConfig(config: ContainerConfig): Promise<ContainerConfig> {
  if (config.hostsFile === undefined) return config;
  const etc = await lstat(join(config.rootfs, 'etc')).catch(() => undefined);
  const hosts = etc?.isDirectory()
    ? await lstat(join(config.rootfs, 'etc', 'hosts')).catch(() => undefined)
    : undefined;
  if (hosts?.isFile()) return config;
  const { hostsFile: _dropped, ...rest } = config;
  return rest;
}
