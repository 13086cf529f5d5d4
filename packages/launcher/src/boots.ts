// The host side of restart policies: exit 3 reboots (a fresh platform and token), 4 holds, others power off.
import { type HostAction, hostActionFor } from './exit-code.ts';

export interface SuperviseOptions {
  /** Boots the instance once (fresh platform, then the launcher) and returns the launcher's exit code. */
  boot(bootNumber: number): Promise<number>;
  /** Aborted when the operator stops or deletes the instance: no further reboot. */
  readonly stop?: AbortSignal;
  /** A safety net against reboot loops (e.g. Always with a workload that exits at once). */
  readonly maxBoots?: number;
}

export interface SuperviseResult {
  readonly exitCode: number;
  /** What the instance does now: powered off (TERMINATED), held (debug, stays RUNNING), or reboot cut short. */
  readonly action: HostAction;
  readonly boots: number;
}

export async function superviseInstance(options: SuperviseOptions): Promise<SuperviseResult> {
  const maxBoots = options.maxBoots ?? Number.POSITIVE_INFINITY;
  for (let boots = 1; ; boots += 1) {
    const exitCode = await options.boot(boots);
    const action = hostActionFor(exitCode);
    if (action !== 'reboot' || options.stop?.aborted || boots >= maxBoots) return { exitCode, action, boots };
  }
}
