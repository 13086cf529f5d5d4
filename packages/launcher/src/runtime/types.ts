// The container runtime seam: what the launcher asks of runc, bwrap or a plain process (STYLE.md rule 4).
import type { TmpfsMount } from '../launch-spec.ts';

export type RuntimeKind = 'runc' | 'bwrap' | 'process';

/** Where the launcher's directory (token file, socket) appears inside the container. */
export const CONTAINER_LAUNCHER_DIR = '/run/container_launcher';
/** /dev/shm size when `tee-dev-shm-size-kb` is 0, as containerd's default (64 MiB). */
export const DEFAULT_DEV_SHM_SIZE_KB = 65_536;

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
  readonly tmpfsMounts: readonly TmpfsMount[];
  /** 0 = DEFAULT_DEV_SHM_SIZE_KB. */
  readonly devShmSizeKb: number;
  /** Scratch space of this runtime on the host (bundles, runc state). */
  readonly workDir: string;
}

export interface ContainerOutput {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

export interface ContainerExit {
  /** The workload's exit status; 128 + n when it died of signal n. */
  readonly exitCode: number;
  readonly signal?: NodeJS.Signals;
}

export interface RunningContainer {
  /** Resolves when the workload ends; rejects with ERR_LAUNCHER_RUNTIME_START if its program never ran. */
  readonly exited: Promise<ContainerExit>;
  /** Delivers a signal to the workload process (pid 1 of the container). */
  signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface ContainerRuntime {
  readonly kind: RuntimeKind;
  /** Creates and starts the container; rejects with ERR_LAUNCHER_RUNTIME_START when it cannot. */
  start(config: ContainerConfig, output: ContainerOutput): Promise<RunningContainer>;
}
