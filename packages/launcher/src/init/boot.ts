// One boot of an instance, as its launcher runs it: the platform (soft, tpm, sev-snp, tdx), the ephemeral disk
// and memory limit, then the launch (pull, launch policy, measure, attest, run, refresh), reported as it goes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageFamily } from '@sealroom/attest';
import type { Clock, Logger } from '@sealroom/core';
import type { OutboundFetch } from '@sealroom/outbound';
import type { ImageSource } from '../image-source.ts';
import { runLaunch } from '../launch.ts';
import type { EphemeralDisk } from '../runtime/ephemeral-disk.ts';
import { mountEphemeralDisk } from '../runtime/ephemeral-disk.ts';
import { readMemFreeKb } from '../host-info.ts';
import type { ContainerConfig, ContainerRuntime } from '../runtime/types.ts';
import { systemTimers } from '../timers.ts';
import { type ImageSignature, createVerifierTokenSource, regionOfZone } from '../verifier-client.ts';
import type { InstanceSnapshot } from './metadata-client.ts';
import {
  type BootPlatformOptions,
  type BootedPlatform,
  type HardwareSettings,
  type PlatformKind,
  type TpmSettings,
  bootPlatform,
} from './platforms.ts';
import { createSerialLogger } from './serial-logger.ts';

const GIB = 1024 ** 3;

/** What a boot tells the world: its host agent through the report channel, or stdout when run by hand. */
export interface BootReporter {
  serial(line: string): void;
  /** The RUNNING status message (what isolates this boot). */
  status(message: string): void;
  /** A line for the instance's log stream (workload output when redirected, launcher errors). */
  log(entry: { severity: 'INFO' | 'ERROR'; message: string }): void;
  booted(bootCount: number, runtime: string, platform: string): void;
}

/** How the launcher reaches the deployment: its API and the image registry, with the instance's tokens. */
export interface DeploymentAccess {
  /** The verifier's and registry's base URL. */
  readonly baseUrl: string;
  readonly fetch: OutboundFetch;
  /** The instance account's access token (the metadata server's `…/token`). */
  readonly accessToken: () => Promise<string>;
  /** ID tokens for the verifier: the instance account's, then each impersonated account's. */
  readonly idTokens: (audience: string, impersonate: readonly string[]) => Promise<string[]>;
  /** The image source of this boot (the registry pull and the host's image cache). */
  readonly images: (context: { readonly shareRootfs: boolean; readonly serial: (line: string) => void }) => ImageSource;
  /** Cosign signatures of `digest` in each `tee-signed-image-repos` repository. */
  readonly signatures: (repos: readonly string[], digest: string) => Promise<ImageSignature[]>;
}

export interface InstanceBootOptions {
  readonly instance: InstanceSnapshot;
  /** The instance's directory: `launcher/` (token, socket), `work/` (runtime state), the disk. */
  readonly dir: string;
  readonly imageFamily: ImageFamily;
  /** 1-based count since the instance was created. */
  readonly bootCount: number;
  readonly runtime: ContainerRuntime;
  readonly platform: {
    readonly kind: PlatformKind;
    readonly tpm: TpmSettings;
    readonly hardware?: HardwareSettings;
    readonly ca: BootPlatformOptions['ca'];
  };
  readonly launcherBuild: string;
  readonly deployment: DeploymentAccess;
  /** The metadata server's address and the deployment's files, as the workload sees them. */
  readonly environment?: {
    readonly env: readonly string[];
    readonly platformDir?: string;
    readonly hostsFile?: string;
    readonly trustedCaDigest?: string;
  };
  /** The machine's memory (its machine type's): the workload's limit, no swap. */
  readonly machineType?: { readonly name: string; readonly memoryBytes: number };
  /** The boot disk's size: the ephemeral disk's limit. */
  readonly diskBytes?: number;
  readonly memoryMonitorIntervalMs?: number;
  readonly graceMs?: number;
  /** The host places the container (its network namespace, published ports) before it starts. */
  readonly prepareContainer?: (config: ContainerConfig) => Promise<ContainerConfig>;
  readonly report: BootReporter;
  /** Aborted to stop (HARD_RESET as the reason: SIGKILL at once). */
  readonly stop: AbortSignal;
  readonly clock: Clock;
  /** The launcher process's own log (failures that are not the instance's). */
  readonly logger: Logger;
  readonly defaultAudience: string;
}

export interface InstanceBootResult {
  readonly exitCode: number;
  /** Why the launch failed, for the TERMINATED status message. */
  readonly failure?: string;
  /** The boot's disk, still mounted: a held debug instance keeps it; the caller closes it. */
  readonly disk?: EphemeralDisk;
}

function formatGib(bytes: number): string {
  return `${(bytes / GIB).toFixed(bytes % GIB === 0 ? 0 : 1)} GiB`;
}

/**
 * Mounts this boot's disk under the instance's directory and decides its memory limit, saying both in
 * the serial output. Only runc applies the memory limit (a cgroup); the fallbacks say it is not enforced.
 */
export async function prepareBootIsolation(
  options: Pick<InstanceBootOptions, 'dir' | 'diskBytes' | 'machineType'>,
  runtime: string,
  serial: (line: string) => void,
): Promise<{ disk?: EphemeralDisk; memoryLimitBytes?: number; summary: string }> {
  const parts: string[] = [];
  let disk: EphemeralDisk | undefined;
  if (options.diskBytes !== undefined) {
    disk = await mountEphemeralDisk({ dir: options.dir, sizeBytes: options.diskBytes });
    serial(`sealroom: ${disk.description}`);
    parts.push(disk.kind === 'none' ? 'disk not isolated' : `disk ${disk.kind} ${formatGib(options.diskBytes)}`);
  }
  const type = options.machineType;
  if (!type) return { ...(disk ? { disk } : {}), summary: parts.join(', ') };
  if (runtime === 'runc') {
    serial(`sealroom: memory: ${formatGib(type.memoryBytes)} (${type.name}), no swap, enforced by runc`);
    parts.push(`memory ${formatGib(type.memoryBytes)}`);
    return { ...(disk ? { disk } : {}), memoryLimitBytes: type.memoryBytes, summary: parts.join(', ') };
  }
  serial(
    `sealroom: memory: ${formatGib(type.memoryBytes)} (${type.name}) is NOT enforced: the ${runtime} runtime has no cgroup`,
  );
  parts.push('memory not limited');
  return { ...(disk ? { disk } : {}), summary: parts.join(', ') };
}

/** Runs one boot to its exit code; never throws for what the instance did (every failure is a code). */
export async function bootInstance(options: InstanceBootOptions): Promise<InstanceBootResult> {
  const { instance, report } = options;
  const launcherDir = join(options.dir, 'launcher');
  await mkdir(launcherDir, { recursive: true, mode: 0o755 });
  const kind = options.platform.kind;
  // A reboot is a new machine state: new PCRs, new AK, new event logs.
  let booted: BootedPlatform;
  try {
    booted = await bootPlatform({
      kind,
      tpm: options.platform.tpm,
      ...(options.platform.hardware === undefined ? {} : { hardware: options.platform.hardware }),
      ca: options.platform.ca,
      instance: {
        zone: instance.zone,
        projectId: instance.projectId,
        projectNumber: instance.projectNumber,
        instanceName: instance.name,
        instanceId: instance.id,
      },
      launcherBuild: options.launcherBuild,
      imageFamily: options.imageFamily,
      nowMs: options.clock.now(),
    });
  } catch (error) {
    options.logger.error({ instanceId: instance.id, error }, 'platform boot failed');
    const code = (error as { code?: unknown }).code;
    report.serial(`sealroom: the ${kind} platform did not boot${typeof code === 'string' ? ` (${code})` : ''}`);
    return { exitCode: 1, failure: `the ${kind} platform did not boot` };
  }
  try {
    return await launchOn(booted, options, launcherDir);
  } finally {
    await booted.close().catch((error: unknown) => options.logger.warn({ error }, 'platform close failed'));
  }
}

async function launchOn(
  booted: BootedPlatform,
  options: InstanceBootOptions,
  launcherDir: string,
): Promise<InstanceBootResult> {
  const { instance, report, runtime, deployment } = options;
  const { platform } = booted;
  report.booted(options.bootCount, runtime.kind, platform.kind);
  report.serial(
    `sealroom: boot ${options.bootCount} on ${booted.description} (${options.imageFamily}), runtime ${runtime.kind}`,
  );
  const placed: ContainerRuntime = {
    kind: runtime.kind,
    start: async (config, output) =>
      runtime.start(options.prepareContainer ? await options.prepareContainer(config) : config, output),
  };
  // The launcher's errors go to the instance's log stream as well as to its serial output.
  const logger = createSerialLogger((line) => {
    report.serial(line);
    if (line.startsWith('launcher error:')) report.log({ severity: 'ERROR', message: line });
  });
  let isolation: Awaited<ReturnType<typeof prepareBootIsolation>>;
  try {
    isolation = await prepareBootIsolation(options, runtime.kind, report.serial);
  } catch (error) {
    options.logger.error({ instanceId: instance.id, error }, 'the ephemeral disk could not be set up');
    report.serial(`sealroom: the instance's disk could not be set up: ${(error as Error).message}`);
    return { exitCode: 1, failure: 'the instance disk could not be set up' };
  }
  if (isolation.summary !== '') report.status(isolation.summary);
  const memFreeKb = await readMemFreeKb();
  const result = await runLaunch({
    metadata: instance.attributes,
    hardened: options.imageFamily === 'confidential-space',
    instanceName: instance.name,
    ...(memFreeKb === undefined ? {} : { memFreeKb }),
    images: deployment.images({ shareRootfs: runtime.kind !== 'process', serial: report.serial }),
    platform,
    tokenSource: ({ spec, image, imageConfig }) =>
      createVerifierTokenSource({
        baseUrl: deployment.baseUrl,
        fetch: deployment.fetch,
        projectId: instance.projectId,
        region: regionOfZone(instance.zone),
        accessToken: deployment.accessToken,
        idTokens: (audience) => deployment.idTokens(audience, spec.impersonateServiceAccounts),
        platform,
        ...(spec.signedImageRepos.length > 0
          ? { imageSignatures: () => deployment.signatures(spec.signedImageRepos, image.digest) }
          : {}),
        ...(imageConfig ? { imageConfig } : {}),
        defaultAudience: options.defaultAudience,
      }),
    runtime: placed,
    launcherDir,
    workDir: join(options.dir, 'work'),
    ...(options.environment ? { environment: options.environment } : {}),
    logs: {
      serial: (stream, line) => report.serial(`workload ${stream}: ${line}`),
      cloudLogging: (entry) => report.log(entry),
    },
    ...(isolation.disk ? { disk: isolation.disk } : {}),
    ...(isolation.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: isolation.memoryLimitBytes }),
    ...(options.memoryMonitorIntervalMs === undefined
      ? {}
      : { memoryMonitorIntervalMs: options.memoryMonitorIntervalMs }),
    logger,
    clock: options.clock,
    timers: systemTimers,
    random: Math.random,
    stop: options.stop,
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    onPhase: (phase) => report.serial(`launcher: phase ${phase}`),
  });
  report.serial(`launcher: exit code ${result.exitCode}`);
  return {
    exitCode: result.exitCode,
    ...(result.error ? { failure: result.error.message } : {}),
    ...(isolation.disk ? { disk: isolation.disk } : {}),
  };
}
