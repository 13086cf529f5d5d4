// Builds the OCI runtime spec (config.json) runc runs the workload with (Google's launcher's container
// settings: the instance's network namespace, RLIMIT_NOFILE 131072, oom_score_adj 1000, a sized /dev/shm).
import { cgroupPathOf } from './cgroup.ts';
import { cgroupMountOf, memoryResourcesOf } from './isolation-spec.ts';
import { platformMounts } from './platform-mounts.ts';
import { CONTAINER_LAUNCHER_DIR, type ContainerConfig, DEFAULT_DEV_SHM_SIZE_KB } from './types.ts';

/** runc's own default capability set (`runc spec`); `tee-added-capabilities` adds to it. */
const DEFAULT_CAPABILITIES = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const RLIMIT_NOFILE = 131_072;

export interface RuncSpecOptions {
  readonly addedCapabilities?: readonly string[];
  readonly cgroupNamespace?: boolean;
  /** The launcher's own hard RLIMIT_NOFILE: raising above it needs CAP_SYS_RESOURCE on the host. */
  readonly hostNofileHardLimit?: number;
}

export function buildRuncSpec(config: ContainerConfig, options: RuncSpecOptions = {}): Record<string, unknown> {
  const added = config.addedCapabilities ?? options.addedCapabilities ?? [];
  const caps = [...new Set([...DEFAULT_CAPABILITIES, ...added])];
  const cgroupNamespace = config.cgroupNamespace ?? options.cgroupNamespace ?? false;
  const nofile = Math.min(RLIMIT_NOFILE, options.hostNofileHardLimit ?? RLIMIT_NOFILE);
  const shmKb = config.devShmSizeKb > 0 ? config.devShmSizeKb : DEFAULT_DEV_SHM_SIZE_KB;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: config.user?.uid ?? 0, gid: config.user?.gid ?? 0 },
      args: [...config.args],
      env: [...config.env],
      cwd: config.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      noNewPrivileges: true,
      oomScoreAdj: 1000,
    },
    root: { path: config.rootfs, readonly: config.writableRootfs !== true },
    hostname: config.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmKb}k`],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      cgroupMountOf(cgroupNamespace),
      // The token file and the teeserver socket: the workload may read and connect, never write.
      { destination: CONTAINER_LAUNCHER_DIR, type: 'bind', source: config.launcherDir, options: ['rbind', 'ro'] },
      ...platformMounts(config).map((m) => ({ ...m, type: 'bind', options: ['rbind', 'ro'] })),
      ...config.tmpfsMounts.map((mount) => ({
        destination: mount.destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'noexec', 'nodev', ...(mount.sizeBytes === undefined ? [] : [`size=${mount.sizeBytes}`])],
      })),
    ],
    linux: {
      cgroupsPath: cgroupPathOf(config.id),
      ...memoryResourcesOf(config.memoryLimitBytes),
      // The instance's own network namespace when the host made one, else the host network.
      namespaces: [
        ...(config.netnsPath ? [{ type: 'network', path: config.netnsPath }] : []),
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...(cgroupNamespace ? [{ type: 'cgroup' }] : []),
      ],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
