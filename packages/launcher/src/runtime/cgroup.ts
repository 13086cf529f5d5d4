// The container's cgroup as the runc runtime places it: its path, and what the kernel counts there (memory, OOM kills).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** Every container runc starts for Sealroom sits under this cgroup: one place to find and kill leftovers. */
export const SEALROOM_CGROUP_PARENT = '/sealroom';

/** The OCI `linux.cgroupsPath` of a container (absolute, so it does not depend on the launcher's own cgroup). */
export function cgroupPathOf(containerId: string): string {
  return `${SEALROOM_CGROUP_PARENT}/${containerId}`;
}

/** cgroup v2 (unified) mounts `cgroup.controllers` at the root; v1 mounts one hierarchy per controller. */
export function isCgroupV2(root = CGROUP_ROOT): boolean {
  return existsSync(join(root, 'cgroup.controllers'));
}

async function readCounter(path: string, key: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const line = text?.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

/** How many processes of the cgroup the OOM killer killed (`oom_kill` of memory.events or memory.oom_control). */
export async function readOomKills(cgroupPath: string, root = CGROUP_ROOT): Promise<number | undefined> {
  return isCgroupV2(root)
    ? readCounter(join(root, cgroupPath, 'memory.events'), 'oom_kill')
    : readCounter(join(root, 'memory', cgroupPath, 'memory.oom_control'), 'oom_kill');
}

/** The memory the cgroup uses now (memory.current, or v1's memory.usage_in_bytes). */
export async function readMemoryUsage(cgroupPath: string, root = CGROUP_ROOT): Promise<number | undefined> {
  const file = isCgroupV2(root)
    ? join(root, cgroupPath, 'memory.current')
    : join(root, 'memory', cgroupPath, 'memory.usage_in_bytes');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const value = text === undefined ? Number.NaN : Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** The `cgroup.procs` files that list the container's processes (v2: one; v1: the memory and pids hierarchies). */
export function cgroupProcsFiles(cgroupPath: string, root = CGROUP_ROOT): string[] {
  return isCgroupV2(root)
    ? [join(root, cgroupPath, 'cgroup.procs')]
    : [join(root, 'memory', cgroupPath, 'cgroup.procs'), join(root, 'pids', cgroupPath, 'cgroup.procs')];
}
