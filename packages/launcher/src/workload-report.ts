// What the operator learns about a running workload: how it ended (without its exit value on hardened images,
// as Google's launcher words it) and, when the launch policy allows monitoring, its memory use.
import type { Logger } from '@sealroom/core';
import type { LaunchSpec } from './launch-spec.ts';
import type { ContainerExit, RunningContainer } from './runtime/types.ts';
import type { TimerHandle, Timers } from './timers.ts';

/** node-problem-detector's system-stats monitor reports memory every 60 s in Google's image. */
export const MEMORY_MONITOR_INTERVAL_MS = 60_000;

/**
 * Logs the workload's end. A workload the kernel killed for going over its memory limit is reported as
 * "out of memory" on every image (the host saw it happen); otherwise a hardened image's serial output
 * says only that the return code was non-zero, since the value itself may carry workload data.
 */
export function reportWorkloadExit(
  logger: Logger,
  exit: ContainerExit,
  options: { readonly hardened: boolean; readonly memoryLimitBytes?: number | undefined },
): void {
  if (exit.outOfMemory) {
    logger.error(
      options.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: options.memoryLimitBytes },
      'workload killed: out of memory (it went over the memory limit of the instance)',
    );
    return;
  }
  if (exit.exitCode === 0) logger.info({ exitCode: 0 }, 'workload exited');
  else if (options.hardened) logger.error({}, 'workload finished with a non-zero return code');
  else logger.error({ exitCode: exit.exitCode }, 'workload finished with a non-zero return code');
}

export interface MemoryMonitorOptions {
  readonly spec: LaunchSpec;
  readonly container: RunningContainer;
  readonly timers: Timers;
  readonly intervalMs?: number;
  readonly memoryLimitBytes?: number | undefined;
  /** One line to the instance's log stream (Cloud Logging's `confidential-space-launcher` log). */
  readonly report: (message: string) => void;
}

/**
 * Reports the container's memory use every interval while `tee-monitoring-memory-enable` (or
 * `tee-monitoring-enable`) is on. The launch policy was already checked (`monitoring_memory_allow`,
 * `hardened_monitoring`, `debug_monitoring`): a spec that reaches here with monitoring on is allowed.
 * Returns the function that stops it.
 */
export function startMemoryMonitor(options: MemoryMonitorOptions): () => void {
  if (options.spec.monitoring === 'none') return () => {};
  const read = options.container.memoryUsageBytes;
  if (!read) {
    options.report('memory monitoring: this container runtime has no cgroup to read memory use from');
    return () => {};
  }
  let stopped = false;
  let handle: TimerHandle | undefined;
  const limit = options.memoryLimitBytes === undefined ? '' : ` memory/limit_bytes=${options.memoryLimitBytes}`;
  const tick = async (): Promise<void> => {
    const used = await read().catch(() => undefined);
    if (stopped) return;
    if (used !== undefined) options.report(`memory/bytes_used=${used}${limit}`);
    handle = options.timers.setTimeout(() => void tick(), options.intervalMs ?? MEMORY_MONITOR_INTERVAL_MS);
  };
  void tick();
  return () => {
    stopped = true;
    if (handle !== undefined) options.timers.clearTimeout(handle);
  };
}
