// Stopping a workload: SIGTERM, then SIGKILL once the grace period is over (docs/launcher.md,
// "Exit codes and restart policy").
import { type Timers, systemTimers } from '../timers.ts';
import type { ContainerExit, RunningContainer } from './types.ts';

/** Seconds a workload gets between SIGTERM and SIGKILL, as `docker stop`'s default. */
export const STOP_GRACE_MS = 10_000;

export interface StopOptions {
  readonly graceMs?: number;
  readonly timers?: Timers;
}

export async function stopContainer(container: RunningContainer, options: StopOptions = {}): Promise<ContainerExit> {
  const timers = options.timers ?? systemTimers;
  await container.signal('SIGTERM');
  const handle = timers.setTimeout(() => {
    void container.signal('SIGKILL');
  }, options.graceMs ?? STOP_GRACE_MS);
  try {
    return await container.exited;
  } finally {
    timers.clearTimeout(handle);
  }
}
