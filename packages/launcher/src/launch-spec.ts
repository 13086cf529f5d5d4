// The operator's input: instance metadata parsed once into a LaunchSpec (docs/launcher.md, "Instance metadata").
import { metadataError } from './errors.ts';
import { ENV_NAME_PATTERN, type MonitoringType, cleanPath, parseGoBool, parseMonitoringType } from './parse-values.ts';

export type RestartPolicy = 'Never' | 'OnFailure' | 'Always';
export const RESTART_POLICIES: readonly RestartPolicy[] = ['Always', 'OnFailure', 'Never'];

/** `tee-container-log-redirect`: `true` = serial and cloud logging, `false` = nowhere. */
export type LogRedirectLocation = 'true' | 'false' | 'cloud_logging' | 'serial';
const LOG_REDIRECT_LOCATIONS: readonly LogRedirectLocation[] = ['true', 'false', 'cloud_logging', 'serial'];

export interface EnvOverride {
  readonly name: string;
  readonly value: string;
}

export interface TmpfsMount {
  /** Absolute and cleaned. */
  readonly destination: string;
  readonly sizeBytes?: number;
}

export interface LaunchSpec {
  readonly imageReference: string;
  readonly restartPolicy: RestartPolicy;
  /** `tee-cmd`: replaces the image CMD, ENTRYPOINT kept; `[]` when not set. */
  readonly cmdOverride: readonly string[];
  /** `tee-env-NAME`, in metadata key order. */
  readonly envOverrides: readonly EnvOverride[];
  readonly logRedirect: LogRedirectLocation;
  readonly mounts: readonly TmpfsMount[];
  /** 0 = the runtime's default size. */
  readonly devShmSizeKb: number;
  readonly signedImageRepos: readonly string[];
  readonly impersonateServiceAccounts: readonly string[];
  readonly monitoring: MonitoringType;
  readonly addedCapabilities: readonly string[];
  readonly cgroupNamespace: boolean;
  readonly disableTokenRefresh: boolean;
  /** From the image family (confidential-space vs -debug), not from metadata. */
  readonly hardened: boolean;
  /** Lines for the serial output about metadata the launcher read but did not use (none today: unknown keys are refused). */
  readonly warnings: readonly string[];
}

export interface ParseLaunchSpecOptions {
  readonly hardened: boolean;
  /** `MemFree` of /proc/meminfo in kB; when given, /dev/shm and tmpfs sizes must fit in it. */
  readonly memFreeKb?: number;
}

const ENV_PREFIX = 'tee-env-';

/**
 * Every tee-* key the launcher reads. Google's launcher looks up the keys it knows in the metadata map and
 * never looks at the others; Sealroom is stricter on purpose (CONTRACTS: unknown `tee-*` keys are an error,
 * not ignored): any other `tee-*` key is refused, naming the key it is closest to, so a typo
 * (`tee-restart-polcy`) or a retired key never passes silently. Keys without the prefix stay ignored.
 */
export const METADATA_KEYS = [
  'tee-image-reference',
  'tee-restart-policy',
  'tee-cmd',
  'tee-container-log-redirect',
  'tee-dev-shm-size-kb',
  'tee-mount',
  'tee-signed-image-repos',
  'tee-impersonate-service-accounts',
  'tee-monitoring-memory-enable',
  'tee-monitoring-enable',
  'tee-added-capabilities',
  'tee-cgroup-ns',
  'tee-install-gpu-driver',
  'tee-disable-gca-refresh',
] as const;
/**
 * Spellings of Google's documentation read as the key they stand for: `tee-dev-shm-size` (the key's name
 * before Google's launcher renamed it, as the workload documentation still spells it) and
 * `tee-memory-monitoring-enable` (the launch-policy documentation's spelling). Setting both spellings is an error.
 */
export const METADATA_KEY_ALIASES: Readonly<Record<string, (typeof METADATA_KEYS)[number]>> = {
  'tee-dev-shm-size': 'tee-dev-shm-size-kb',
  'tee-memory-monitoring-enable': 'tee-monitoring-memory-enable',
};
const KNOWN_KEYS: ReadonlySet<string> = new Set([...METADATA_KEYS, ...Object.keys(METADATA_KEY_ALIASES)]);

/** Names people type from old docs; the error points at what replaced them. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  'tee-attestation-service-endpoint': 'the server URL of the instance (gca-service-env in Google Cloud)',
};

/** Parses instance metadata (string → string); throws ERR_LAUNCHER_METADATA_INVALID naming the key. */
export function parseLaunchSpec(
  metadata: Readonly<Record<string, string>>,
  options: ParseLaunchSpecOptions,
): LaunchSpec {
  const envOverrides: EnvOverride[] = [];
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith('tee-')) continue;
    if (key.startsWith(ENV_PREFIX)) {
      envOverrides.push(parseEnvOverride(key.slice(ENV_PREFIX.length), value));
    } else if (!KNOWN_KEYS.has(key)) {
      const suggestion = KEY_HINTS[key] ?? nearestKey(key);
      throw metadataError(
        `unknown metadata key ${key.slice(0, 128)}: not a launcher key${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
      );
    }
  }
  const get = (key: (typeof METADATA_KEYS)[number]): string | undefined => {
    const alias = Object.keys(METADATA_KEY_ALIASES).find((a) => METADATA_KEY_ALIASES[a] === key);
    if (alias !== undefined && metadata[alias] !== undefined) {
      if (metadata[key] !== undefined) throw metadataError(`metadata ${key} and ${alias} cannot both be set`);
      return metadata[alias];
    }
    return metadata[key];
  };
  const imageReference = get('tee-image-reference');
  if (imageReference === undefined || imageReference === '') {
    throw metadataError('metadata tee-image-reference is required and must not be empty');
  }
  const restartPolicy = get('tee-restart-policy') ?? 'Never';
  if (!(RESTART_POLICIES as readonly string[]).includes(restartPolicy)) {
    throw metadataError(
      `invalid metadata tee-restart-policy "${restartPolicy}": expected Always, OnFailure or Never (case-sensitive)`,
    );
  }
  const logRedirect = get('tee-container-log-redirect') ?? 'false';
  if (!(LOG_REDIRECT_LOCATIONS as readonly string[]).includes(logRedirect)) {
    throw metadataError(
      `invalid metadata tee-container-log-redirect "${logRedirect}": expected true, false, cloud_logging or serial (case-sensitive)`,
    );
  }
  checkGpu(get('tee-install-gpu-driver'));
  const devShmSizeKb = parseDevShmSize(get('tee-dev-shm-size-kb'), options.memFreeKb);
  return {
    imageReference,
    restartPolicy: restartPolicy as RestartPolicy,
    cmdOverride: parseStringArray('tee-cmd', get('tee-cmd')),
    envOverrides,
    logRedirect: logRedirect as LogRedirectLocation,
    mounts: parseMounts(get('tee-mount'), options.memFreeKb),
    devShmSizeKb,
    signedImageRepos: splitList(get('tee-signed-image-repos')),
    impersonateServiceAccounts: splitList(get('tee-impersonate-service-accounts')),
    monitoring: parseMonitoring(get('tee-monitoring-memory-enable'), get('tee-monitoring-enable')),
    addedCapabilities: parseCapabilities(get('tee-added-capabilities')),
    cgroupNamespace: parseBoolKey('tee-cgroup-ns', get('tee-cgroup-ns'), { emptyIsError: true }),
    disableTokenRefresh: parseBoolKey('tee-disable-gca-refresh', get('tee-disable-gca-refresh')),
    hardened: options.hardened,
    warnings,
  };
}

/** A known key at most two edits away from `key` (a typo of it), if any. */
function nearestKey(key: string): string | undefined {
  if (key.length > 64) return undefined;
  return [...KNOWN_KEYS].find((known) => editDistance(key, known) <= 2);
}

/** Levenshtein distance, two rows at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function parseEnvOverride(name: string, value: string): EnvOverride {
  if (!ENV_NAME_PATTERN.test(name)) {
    throw metadataError(`invalid metadata ${ENV_PREFIX}${name}: the name must match ${ENV_NAME_PATTERN.source}`);
  }
  if (!value.isWellFormed()) throw metadataError(`invalid metadata ${ENV_PREFIX}${name}: the value is not valid UTF-8`);
  return { name, value };
}

function parseStringArray(key: string, value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (cause) {
    throw metadataError(`invalid metadata ${key}: expected a JSON array of strings like ["a","b"]`, cause);
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw metadataError(`invalid metadata ${key}: expected a JSON array of strings like ["a","b"]`);
  }
  return parsed;
}

function splitList(value: string | undefined): string[] {
  // Not trimmed, as Google's launcher; empty items carry nothing and are dropped.
  return value === undefined || value === '' ? [] : value.split(',').filter((item) => item !== '');
}

function parseBoolKey(key: string, value: string | undefined, options: { emptyIsError?: boolean } = {}): boolean {
  if (value === undefined) return false;
  if (value === '' && !options.emptyIsError) return false;
  const parsed = parseGoBool(value);
  if (parsed === undefined) throw metadataError(`invalid metadata ${key} "${value}": expected true or false`);
  return parsed;
}

function parseDevShmSize(value: string | undefined, memFreeKb: number | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,15}$/.test(value)) {
    throw metadataError(`invalid metadata tee-dev-shm-size-kb "${value}": expected an unsigned decimal number of kB`);
  }
  const kb = Number(value);
  if (memFreeKb !== undefined && kb > memFreeKb) {
    throw metadataError(
      `invalid metadata tee-dev-shm-size-kb: ${kb} kB is more than the free memory (${memFreeKb} kB)`,
    );
  }
  return kb;
}

function parseMonitoring(memoryEnable: string | undefined, enable: string | undefined): MonitoringType {
  if (memoryEnable !== undefined && enable !== undefined) {
    throw metadataError('metadata tee-monitoring-memory-enable and tee-monitoring-enable cannot both be set');
  }
  if (enable !== undefined) {
    const parsed = parseMonitoringType(enable);
    if (!parsed)
      throw metadataError(`invalid metadata tee-monitoring-enable "${enable}": expected none, memoryonly or all`);
    return parsed;
  }
  return parseBoolKey('tee-monitoring-memory-enable', memoryEnable) ? 'memoryonly' : 'none';
}

function parseCapabilities(value: string | undefined): string[] {
  const caps = parseStringArray('tee-added-capabilities', value);
  for (const cap of caps) {
    if (!/^CAP_[A-Z_]+$/.test(cap)) throw metadataError(`invalid metadata tee-added-capabilities: "${cap}"`);
  }
  return caps;
}

function checkGpu(value: string | undefined): void {
  // An invalid value is ignored, as Google's launcher does; Sealroom has no GPU to install a driver for.
  if (value !== undefined && parseGoBool(value) === true) {
    throw metadataError('metadata tee-install-gpu-driver=true is not supported: Sealroom instances have no GPU');
  }
}

/** Parses `tee-mount`: `;`-separated tmpfs mounts of `,`-separated `key=value` options (docs/launcher.md). */
export function parseMounts(value: string | undefined, memFreeKb?: number): TmpfsMount[] {
  if (value === undefined || value === '') return [];
  return value
    .split(';')
    .filter((item) => item !== '')
    .map((item) => parseMount(item, memFreeKb));
}

function parseMount(item: string, memFreeKb: number | undefined): TmpfsMount {
  const options = new Map<string, string>();
  for (const part of item.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw metadataError(`invalid metadata tee-mount "${item}": expected key=value options`);
    options.set(part.slice(0, eq), part.slice(eq + 1));
  }
  for (const key of options.keys()) {
    if (!['type', 'source', 'destination', 'size'].includes(key)) {
      throw metadataError(`invalid metadata tee-mount "${item}": unknown option ${key}`);
    }
  }
  if (options.get('type') !== 'tmpfs' || options.get('source') !== 'tmpfs') {
    throw metadataError(`invalid metadata tee-mount "${item}": only type=tmpfs,source=tmpfs mounts are supported`);
  }
  const destination = options.get('destination');
  if (!destination) throw metadataError(`invalid metadata tee-mount "${item}": destination is required`);
  const mount: { destination: string; sizeBytes?: number } = {
    destination: cleanPath(destination.startsWith('/') ? destination : `/${destination}`),
  };
  const size = options.get('size');
  if (size !== undefined) {
    if (!/^\d{1,18}$/.test(size))
      throw metadataError(`invalid metadata tee-mount "${item}": size is a number of bytes`);
    mount.sizeBytes = Number(size);
    if (memFreeKb !== undefined && Math.floor(mount.sizeBytes / 1024) > memFreeKb) {
      throw metadataError(`invalid metadata tee-mount "${item}": size is more than the free memory`);
    }
  }
  return mount;
}
