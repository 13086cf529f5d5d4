// The host side of restart policies: exit 3 reboots (a fresh platform and token), 4 holds, others power off.
import { type HostAction, hostActionFor } from './exit-code.ts';
import { systemTimers, type Timers } from './timers.ts';

/** A boot shorter than `minUptimeMs` that ends in a reboot is a crash loop: the next boot waits, doubling. */
export interface CrashLoopBackoff {
  readonly minUptimeMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_CRASH_LOOP_BACKOFF: CrashLoopBackoff = {
  minUptimeMs: 10_000,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
};

export interface SuperviseOptions {
  /** Boots the instance once (fresh platform, then the launcher) and returns the launcher's exit code. */
  boot(bootNumber: number): Promise<number>;
  /** Aborted when the operator stops or deletes the instance: no further reboot. */
  readonly stop?: AbortSignal;
  /** A safety net against reboot loops (e.g. Always with a workload that exits at once). */
  readonly maxBoots?: number;
  /** Delays between reboots of a workload that keeps ending at once (default DEFAULT_CRASH_LOOP_BACKOFF). */
  readonly backoff?: CrashLoopBackoff;
  readonly now?: () => number;
  readonly timers?: Timers;
  /** Told of each wait before a reboot, for the serial console. */
  readonly onBackoff?: (delayMs: number, bootNumber: number) => void;
}

export interface SuperviseResult {
  readonly exitCode: number;
  /** What the instance does now: powered off (TERMINATED), held (debug, stays RUNNING), or reboot cut short. */
  readonly action: HostAction;
  readonly boots: number;
}

export async function superviseInstance(options: SuperviseOptions): Promise<SuperviseResult> {
  const maxBoots = options.maxBoots ?? Number.POSITIVE_INFINITY;
  const backoff = options.backoff ?? DEFAULT_CRASH_LOOP_BACKOFF;
  const now = options.now ?? Date.now;
  const timers = options.timers ?? systemTimers;
  let quickReboots = 0;
  for (let boots = 1; ; boots += 1) {
    const started = now();
    const exitCode = await options.boot(boots);
    const action = hostActionFor(exitCode);
    if (action !== 'reboot' || options.stop?.aborted || boots >= maxBoots) return { exitCode, action, boots };
    quickReboots = now() - started < backoff.minUptimeMs ? quickReboots + 1 : 0;
    if (quickReboots > 0) {
      const delayMs = Math.min(backoff.baseDelayMs * 2 ** (quickReboots - 1), backoff.maxDelayMs);
      options.onBackoff?.(delayMs, boots + 1);
      await sleep(delayMs, timers, options.stop);
      if (options.stop?.aborted) return { exitCode, action, boots };
    }
  }
}

/** Waits `ms`, or less when `stop` aborts. */
function sleep(ms: number, timers: Timers, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || stop?.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      timers.clearTimeout(handle);
      resolve();
    };
    const handle = timers.setTimeout(() => {
      stop?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    stop?.addEventListener('abort', onAbort, { once: true });
  });
}
