// The container runtime seam: what the launcher asks of runc, bwrap or a plain process (a small interface
// owned by its user, so each backend stays behind it).
import type { TmpfsMount } from '../launch-spec.ts';

export type RuntimeKind = 'runc' | 'bwrap' | 'process';

/** Where the launcher's directory (token file, socket) appears inside the container. */
export const CONTAINER_LAUNCHER_DIR = '/run/container_launcher';
/** /dev/shm size when `tee-dev-shm-size-kb` is 0, as containerd's default (64 MiB). */
export const DEFAULT_DEV_SHM_SIZE_KB = 65_536;
/** Where the platform's endpoints and CA appear inside the container (`endpoints.json`, `ca.pem`). */
export const CONTAINER_PLATFORM_DIR = '/run/sealroom';

export interface ContainerConfig {
  /** Unique per boot; names runc's state and the bundle directory. */
  readonly id: string;
  /** The image's unpacked root filesystem on the host; the container sees it read-only. */
  readonly rootfs: string;
  /** ENTRYPOINT + CMD after the `tee-cmd` override; args[0] is the program. */
  readonly args: readonly string[];
  /** Final `NAME=value` list: image ENV, then overrides, then HOSTNAME. */
  readonly env: readonly string[];
  /** Absolute working directory inside the container ('/' when the image sets none). */
  readonly cwd: string;
  /** Numeric user from the image config; root when absent. */
  readonly user?: { readonly uid: number; readonly gid: number };
  readonly hostname: string;
  /** Host directory mounted read-only at /run/container_launcher. */
  readonly launcherDir: string;
  /** Host directory mounted read-only at /run/sealroom: the platform's endpoints and CA. */
  readonly platformDir?: string;
  /** Host file mounted read-only at /etc/hosts (names metadata.google.internal). */
  readonly hostsFile?: string;
  readonly tmpfsMounts: readonly TmpfsMount[];
  /** 0 = DEFAULT_DEV_SHM_SIZE_KB. */
  readonly devShmSizeKb: number;
  /** Scratch space of this runtime on the host (bundles, runc state). */
  readonly workDir: string;
  /** The image's `ExposedPorts` keys (`N/tcp`, `N/udp`): the host publishes them before the start. */
  readonly exposedPorts?: readonly string[];
  /** The instance's network namespace (`/run/netns/NAME`) to join; absent = the host network. */
  readonly netnsPath?: string;
  /** `tee-added-capabilities` the launch policy allowed, added to the default sets (names like `CAP_SYS_ADMIN`). */
  readonly addedCapabilities?: readonly string[];
  /** `tee-cgroup-ns`: a cgroup namespace of its own, with /sys/fs/cgroup mounted read-write. */
  readonly cgroupNamespace?: boolean;
  /** The instance's memory limit from its machine type, swap excluded; absent = not limited. */
  readonly memoryLimitBytes?: number;
  /** The root is the instance's writable layer over the image (its ephemeral disk); read-only otherwise. */
  readonly writableRootfs?: boolean;
}

export interface ContainerOutput {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

export interface ContainerExit {
  /** The workload's exit status; 128 + n when it died of signal n. */
  readonly exitCode: number;
  readonly signal?: NodeJS.Signals;
  /** The kernel killed the workload because it went over its memory limit. */
  readonly outOfMemory?: boolean;
}

export interface RunningContainer {
  /** Resolves when the workload ends; rejects with ERR_LAUNCHER_RUNTIME_START if its program never ran. */
  readonly exited: Promise<ContainerExit>;
  /** Delivers a signal to the workload process (pid 1 of the container). */
  signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** The memory the container uses now, in bytes; absent when the runtime cannot tell (no cgroup). */
  memoryUsageBytes?(): Promise<number | undefined>;
}

export interface ContainerRuntime {
  readonly kind: RuntimeKind;
  /** Creates and starts the container; rejects with ERR_LAUNCHER_RUNTIME_START when it cannot. */
  start(config: ContainerConfig, output: ContainerOutput): Promise<RunningContainer>;
}
