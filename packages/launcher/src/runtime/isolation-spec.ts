// The parts of the OCI spec that isolate an instance's resources: its memory limit and its view of cgroups.

/**
 * `linux.resources.memory`: the limit, and swap equal to it (the OCI `swap` is memory plus swap, so
 * none is left for swap: cgroup v2's memory.swap.max=0, v1's memsw limit = the memory limit), as
 * Confidential Space VMs have no swap. The OOM killer stays on: a workload over its limit is killed.
 */
export function memoryResourcesOf(limitBytes: number | undefined): { resources?: Record<string, unknown> } {
  if (limitBytes === undefined) return {};
  return { resources: { memory: { limit: limitBytes, swap: limitBytes, disableOOMKiller: false } } };
}

/**
 * /sys/fs/cgroup inside the container: read-only by default (runc's own spec), read-write with
 * `tee-cgroup-ns`, as Google's launcher mounts it when it adds the cgroup namespace.
 */
export function cgroupMountOf(cgroupNamespace: boolean): Record<string, unknown> {
  return {
    destination: '/sys/fs/cgroup',
    type: 'cgroup',
    source: 'cgroup',
    options: ['nosuid', 'noexec', 'nodev', 'relatime', cgroupNamespace ? 'rw' : 'ro'],
  };
}
