// The image author's input: `tee.launch_policy.*` labels, and verifyLaunchPolicy joining them with the spec
// (docs/launcher.md, "Launch policy").
import { LauncherError } from './errors.ts';
import type { LaunchSpec } from './launch-spec.ts';
import { type MonitoringType, cleanPath, isPathWithin, parseGoBool, parseMonitoringType } from './parse-values.ts';

export type LogRedirectPolicy = 'always' | 'never' | 'debugonly';

export interface LaunchPolicy {
  readonly allowEnvOverride: readonly string[];
  readonly allowCmdOverride: boolean;
  readonly logRedirect: LogRedirectPolicy;
  readonly hardenedMonitoring: MonitoringType;
  readonly debugMonitoring: MonitoringType;
  /** Cleaned paths; a mount must be at or under one of them. */
  readonly allowMountDestinations: readonly string[];
  readonly allowCapabilities: boolean;
  readonly allowCgroups: boolean;
}

export const LAUNCH_POLICY_LABEL_PREFIX = 'tee.launch_policy.';

const label = (name: string): string => `${LAUNCH_POLICY_LABEL_PREFIX}${name}`;

function policyError(name: string, value: string, reason: string): LauncherError {
  return new LauncherError(
    'ERR_LAUNCHER_POLICY_INVALID',
    `failed to parse image launch policy: label ${label(name)}="${value}": ${reason}: contact the image author`,
  );
}

/** Parses the labels of the image config (`.config.Labels`); unknown labels are ignored. */
export function parseLaunchPolicy(labels: Readonly<Record<string, string>>): LaunchPolicy {
  const get = (name: string): string | undefined => labels[label(name)];
  const bool = (name: string): boolean => {
    const value = get(name);
    if (value === undefined) return false;
    const parsed = parseGoBool(value);
    if (parsed === undefined) throw policyError(name, value, 'expected a boolean');
    return parsed;
  };
  const envValue = get('allow_env_override');
  const mountValue = get('allow_mount_destinations');
  return {
    allowEnvOverride: envValue === undefined ? [] : envValue.split(',').filter((item) => item !== ''),
    allowCmdOverride: bool('allow_cmd_override'),
    logRedirect: parseLogRedirectPolicy(get('log_redirect')),
    ...parseMonitoringPolicy(get('monitoring_memory_allow'), get('hardened_monitoring'), get('debug_monitoring')),
    allowMountDestinations:
      mountValue === undefined
        ? []
        : mountValue
            .split(':')
            .filter((item) => item !== '')
            .map(cleanPath),
    allowCapabilities: bool('allow_capabilities'),
    allowCgroups: bool('allow_cgroups'),
  };
}

function parseLogRedirectPolicy(value: string | undefined): LogRedirectPolicy {
  if (value === undefined) return 'debugonly';
  const normalized = value.trim().toLowerCase();
  if (normalized === 'always' || normalized === 'never' || normalized === 'debugonly') return normalized;
  throw policyError('log_redirect', value, 'expected always, never or debugonly');
}

function parseMonitoringPolicy(
  legacy: string | undefined,
  hardened: string | undefined,
  debug: string | undefined,
): { hardenedMonitoring: MonitoringType; debugMonitoring: MonitoringType } {
  if (legacy !== undefined) {
    if (hardened !== undefined || debug !== undefined) {
      throw policyError(
        'monitoring_memory_allow',
        legacy,
        'cannot be combined with hardened_monitoring or debug_monitoring',
      );
    }
    switch (legacy.trim().toLowerCase()) {
      case 'always':
        return { hardenedMonitoring: 'memoryonly', debugMonitoring: 'memoryonly' };
      case 'never':
        return { hardenedMonitoring: 'none', debugMonitoring: 'none' };
      case 'debugonly':
        return { hardenedMonitoring: 'none', debugMonitoring: 'memoryonly' };
      default:
        throw policyError('monitoring_memory_allow', legacy, 'expected always, never or debugonly');
    }
  }
  const parse = (name: string, value: string | undefined, fallback: MonitoringType): MonitoringType => {
    if (value === undefined) return fallback;
    const parsed = parseMonitoringType(value);
    if (!parsed || value === '') throw policyError(name, value, 'expected none, memoryonly or all');
    return parsed;
  };
  return {
    hardenedMonitoring: parse('hardened_monitoring', hardened, 'none'),
    debugMonitoring: parse('debug_monitoring', debug, 'memoryonly'),
  };
}

function violation(message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_POLICY_VIOLATION', message);
}

/**
 * Checks the operator's spec against the author's policy and returns the first violation, in the
 * order of Google's `LaunchPolicy.Verify` (docs/launcher.md, "Launch policy"), or undefined when the launch
 * may go on.
 */
export function verifyLaunchPolicy(policy: LaunchPolicy, spec: LaunchSpec): LauncherError | undefined {
  for (const env of spec.envOverrides) {
    if (!policy.allowEnvOverride.includes(env.name)) {
      return violation(
        `env var {${env.name}: ${env.value}} is not allowed to be overridden on this image; ` +
          `allowed envs to be overridden: [${policy.allowEnvOverride.join(' ')}]`,
      );
    }
  }
  if (spec.cmdOverride.length > 0 && !policy.allowCmdOverride) {
    return violation('CMD is not allowed to be overridden on this image (tee.launch_policy.allow_cmd_override)');
  }
  if (spec.logRedirect !== 'false') {
    if (policy.logRedirect === 'never') {
      return violation('logging redirection (tee-container-log-redirect) is not allowed by the image');
    }
    if (policy.logRedirect === 'debugonly' && spec.hardened) {
      return violation('logging redirection (tee-container-log-redirect) is only allowed on debug images by the image');
    }
  }
  const allowedMonitoring = spec.hardened ? policy.hardenedMonitoring : policy.debugMonitoring;
  if (
    (allowedMonitoring === 'none' && spec.monitoring !== 'none') ||
    (allowedMonitoring === 'memoryonly' && spec.monitoring === 'all')
  ) {
    return violation(
      `monitoring "${spec.monitoring}" is not allowed on this ${spec.hardened ? 'hardened' : 'debug'} image ` +
        `(the image allows "${allowedMonitoring}")`,
    );
  }
  const mountErrors = spec.mounts.flatMap((mount) => checkMount(policy, mount.destination));
  if (mountErrors.length > 0) return violation(mountErrors.join('; '));
  if (spec.addedCapabilities.length > 0 && !policy.allowCapabilities) {
    return violation('added capabilities (tee-added-capabilities) are not allowed by the image');
  }
  if (spec.cgroupNamespace && !policy.allowCgroups) {
    return violation('a cgroup namespace (tee-cgroup-ns) is not allowed by the image');
  }
  return undefined;
}

function checkMount(policy: LaunchPolicy, destination: string): string[] {
  if (!destination.startsWith('/')) return [`mount destination ${destination} must be an absolute path`];
  if (policy.allowMountDestinations.some((allowed) => isPathWithin(allowed, destination))) return [];
  return [
    `mount destination ${destination} must be at or under an allowed destination ` +
      `[${policy.allowMountDestinations.join(' ')}] (tee.launch_policy.allow_mount_destinations)`,
  ];
}
