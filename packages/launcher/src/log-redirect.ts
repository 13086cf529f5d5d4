// Where the workload's stdout/stderr go, and the measured memory-monitoring flag (docs/launcher.md, "Logs").
import type { LaunchPolicy } from './launch-policy.ts';
import type { LaunchSpec } from './launch-spec.ts';

export interface LogDestinations {
  /** The instance's serial output (`/dev/console` on a real VM). */
  readonly serial: boolean;
  /** The logging service (Cloud Logging's `confidential-space-launcher` log). */
  readonly cloudLogging: boolean;
}

export const NO_LOG_DESTINATIONS: LogDestinations = { serial: false, cloudLogging: false };

/**
 * Decides the workload's log destinations from `tee-container-log-redirect`, the image's
 * `log_redirect` policy and the image family. A redirect the policy refuses sends nothing anywhere
 * (verifyLaunchPolicy refuses the launch in that case; this keeps the decision safe on its own).
 */
export function decideLogRedirect(spec: LaunchSpec, policy: LaunchPolicy): LogDestinations {
  const allowed = policy.logRedirect === 'always' || (policy.logRedirect === 'debugonly' && !spec.hardened);
  if (!allowed) return NO_LOG_DESTINATIONS;
  switch (spec.logRedirect) {
    case 'true':
      return { serial: true, cloudLogging: true };
    case 'serial':
      return { serial: true, cloudLogging: false };
    case 'cloud_logging':
      return { serial: false, cloudLogging: true };
    case 'false':
      return NO_LOG_DESTINATIONS;
  }
}

/**
 * The MemoryMonitor event byte and the `monitoring_enabled.memory` claim: true only for
 * `memoryonly`. Under `all` memory metrics run, yet the measured byte is 0, as in Google's launcher.
 */
export function isMemoryMonitoringMeasured(spec: LaunchSpec): boolean {
  return spec.monitoring === 'memoryonly';
}
