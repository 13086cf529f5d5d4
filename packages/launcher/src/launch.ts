// One boot of the launcher: spec, pull, policy, measure, first token, teeserver, run, exit code (Google's launcher's
// start-up order).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from '@sealroom/attest';
import type { Clock, Logger } from '@sealroom/core';
import { buildContainerProcess, resolveImageUser } from './container-process.ts';
import { LauncherError } from './errors.ts';
import { type LaunchExitCode, type LaunchOutcome, exitCodeFor, outcomeOf, outcomeOfWorkloadExit } from './exit-code.ts';
import type { ImageSource } from './image-source.ts';
import { parseLaunchPolicy, verifyLaunchPolicy } from './launch-policy.ts';
import { readImageOutputPolicy } from './output-policy.ts';
import { type LaunchSpec, parseLaunchSpec } from './launch-spec.ts';
import { decideLogRedirect } from './log-redirect.ts';
import { cosEventsFor, measureLaunch } from './measure.ts';
import type { EphemeralDisk } from './runtime/ephemeral-disk.ts';
import { stopContainer } from './runtime/stop.ts';
import type { ContainerExit, ContainerRuntime, RunningContainer } from './runtime/types.ts';
import { TEESERVER_SOCKET_NAME, type TeeServer, startTeeServer } from './teeserver.ts';
import type { Timers } from './timers.ts';
import { type BackoffOptions, TOKEN_FILE_NAME, createTokenRefresher, type TokenRefresher } from './token-refresher.ts';
import type { TokenSourceFactory } from './token-source.ts';
import { type WorkloadLogSink, createWorkloadOutput } from './workload-logs.ts';
import { reportWorkloadExit, startMemoryMonitor } from './workload-report.ts';

export type LaunchPhase = 'spec' | 'pull' | 'policy' | 'measure' | 'token' | 'teeserver' | 'run' | 'done';

export interface LaunchOptions {
  readonly metadata: Readonly<Record<string, string>>;
  /** confidential-space (true) or confidential-space-debug (false). */
  readonly hardened: boolean;
  /** The instance name: the container's hostname and its HOSTNAME env. */
  readonly instanceName: string;
  readonly memFreeKb?: number;
  readonly images: ImageSource;
  readonly platform: Pick<Platform, 'measureEvent'>;
  /** Called once the spec is parsed and the image pinned (the verifier client needs both). */
  readonly tokenSource: TokenSourceFactory;
  readonly runtime: ContainerRuntime;
  /** Host directory for the token file and the socket, mounted at /run/container_launcher. */
  readonly launcherDir: string;
  /** Scratch space of the runtime (bundles, state). */
  readonly workDir: string;
  /**
   * What the host gives the container besides the image: the metadata server's address and the platform's
   * endpoints and CA (env after the image's own, /run/sealroom, /etc/hosts). Not measured, except the CA.
   */
  readonly environment?: {
    readonly env: readonly string[];
    readonly platformDir?: string;
    readonly hostsFile?: string;
    /** `sha256:<hex>` of the CA `env` makes the workload trust: measured, so the token shows it. */
    readonly trustedCaDigest?: string;
  };
  readonly logs: WorkloadLogSink;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: () => number;
  readonly backoff?: BackoffOptions;
  /**
   * Aborted when the host asks the instance to stop: SIGTERM, then SIGKILL after `graceMs`; aborted
   * with the reason HARD_RESET, SIGKILL at once (`compute instances reset`).
   */
  readonly stop?: AbortSignal;
  readonly graceMs?: number;
  /** Called as the launch moves on, for the instance status and the serial log. */
  readonly onPhase?: (phase: LaunchPhase) => void;
  /**
   * The boot's ephemeral disk, prepared by the host: the container's writable layer over the image lives
   * on it, sized to the disk less the image. Without one the container's root is the image, read-only.
   */
  readonly disk?: EphemeralDisk;
  /** The instance's memory limit (its machine type's memory), swap excluded. */
  readonly memoryLimitBytes?: number;
  /** How often memory use is reported when monitoring is on (60 s by default). */
  readonly memoryMonitorIntervalMs?: number;
}

export interface LaunchResult {
  readonly exitCode: LaunchExitCode;
  readonly outcome: LaunchOutcome;
  readonly phase: LaunchPhase;
  readonly error?: LauncherError | Error;
  readonly workloadExit?: ContainerExit;
  readonly spec?: LaunchSpec;
}

/**
 * Runs one boot to its exit code; never throws (every failure becomes a code, as `main.go` does). The
 * phases: parse the metadata, pull and pin the image, check its launch policy, measure the launch into
 * the platform, get the first token, start the teeserver, run the workload. The host agent of
 * `@sealroom/compute` is the usual caller.
 *
 * @example
 * ```ts
 * const platform = bootSoftPlatform({ ca, instance, launcherBuild, imageFamily: 'confidential-space', nowMs: Date.now() });
 * const { runtime } = await detectContainerRuntime(); // runc, else bwrap, else a plain process
 * const result = await runLaunch({
 *   metadata: { 'tee-image-reference': `${repo}@sha256:…`, 'tee-restart-policy': 'Never' },
 *   hardened: true,
 *   instanceName: 'vm1',
 *   images: createOciLayoutImageSource({ layoutDir: 'layout', unpackDir: 'unpacked' }),
 *   platform,
 *   tokenSource: () =>
 *     createVerifierTokenSource({
 *       baseUrl, projectId: 'operator-project', region: 'us-central1', accessToken, idTokens, platform,
 *       defaultAudience: 'https://sts.googleapis.com',
 *     }),
 *   runtime,
 *   launcherDir: 'launcher', // the token file and the teeserver socket; /run/container_launcher inside
 *   workDir: 'work',
 *   logs: { serial: (stream, line) => console.log(stream, line), cloudLogging: () => {} },
 *   logger, clock: systemClock, timers: systemTimers, random: Math.random,
 * });
 * result.exitCode; // 0 success, 1 fail, 2 panic, 3 reboot, 4 hold
 * ```
 */
export async function runLaunch(options: LaunchOptions): Promise<LaunchResult> {
  const { logger } = options;
  let phase: LaunchPhase = 'spec';
  const enter = (next: LaunchPhase): void => {
    phase = next;
    options.onPhase?.(next);
  };
  let spec: LaunchSpec;
  try {
    enter('spec');
    spec = parseLaunchSpec(options.metadata, options);
  } catch (error) {
    logger.error({ error }, 'invalid launch spec');
    return {
      exitCode: exitCodeFor({ hardened: options.hardened, restartPolicy: 'Never', outcome: 'metadata' }),
      outcome: 'metadata',
      phase,
      error: asError(error),
    };
  }
  const finish = (outcome: LaunchOutcome, extra: Partial<LaunchResult> = {}): LaunchResult => {
    const exitCode = exitCodeFor({ hardened: spec.hardened, restartPolicy: spec.restartPolicy, outcome });
    enter('done');
    logger.info({ exitCode, outcome }, 'launch finished');
    return { exitCode, outcome, phase, spec, ...extra };
  };
  for (const warning of spec.warnings) logger.warn({}, warning);
  let refresher: TokenRefresher | undefined;
  let teeServer: TeeServer | undefined;
  let stopMonitor = (): void => {};
  try {
    // A token of a previous boot must never be visible to this boot's workload.
    await rm(join(options.launcherDir, TOKEN_FILE_NAME), { force: true });
    enter('pull');
    const image = await options.images.pull(spec.imageReference);
    logger.info({ imageDigest: image.digest }, 'image pulled');
    enter('policy');
    const policy = parseLaunchPolicy(image.config.Labels ?? {});
    const violation = verifyLaunchPolicy(policy, spec);
    if (violation) throw violation;
    const outputPolicy = readImageOutputPolicy(image.config.Labels ?? {});
    if (outputPolicy) logger.info({ outputPolicy }, 'output policy of the image (it goes into the token)');
    const workload = buildContainerProcess(image.config, spec, options.instanceName);
    const user = await resolveImageUser(workload.user, image.rootfs);
    enter('measure');
    await measureLaunch(options.platform, cosEventsFor(image, spec, workload, options.environment?.trustedCaDigest));
    enter('token');
    const tokenSource = options.tokenSource({
      spec,
      image,
      ...(outputPolicy && image.configBlob ? { imageConfig: image.configBlob } : {}),
    });
    if (!spec.disableTokenRefresh) {
      refresher = createTokenRefresher({
        tokenSource,
        directory: options.launcherDir,
        clock: options.clock,
        timers: options.timers,
        random: options.random,
        logger: logger.child({ component: 'token-refresher' }),
        ...(options.backoff ? { backoff: options.backoff } : {}),
      });
      await refresher.start();
    }
    enter('teeserver');
    teeServer = await startTeeServer({
      socketPath: join(options.launcherDir, TEESERVER_SOCKET_NAME),
      tokenSource,
      logger: logger.child({ component: 'teeserver' }),
    });
    enter('run');
    if (options.stop?.aborted) {
      logger.info({}, 'stop requested before the workload started');
      return finish('success');
    }
    const output = createWorkloadOutput(decideLogRedirect(spec, policy), options.logs);
    const rootfs = options.disk ? await options.disk.overlay(image.rootfs, image.sizeBytes ?? 0) : image.rootfs;
    const container = await options.runtime.start(
      {
        id: `sealroom-${options.instanceName}-${options.clock.now()}`,
        rootfs,
        writableRootfs: rootfs !== image.rootfs,
        addedCapabilities: spec.addedCapabilities,
        cgroupNamespace: spec.cgroupNamespace,
        ...(options.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: options.memoryLimitBytes }),
        args: workload.args,
        env: [...workload.env, ...(options.environment?.env ?? [])],
        cwd: workload.cwd,
        user,
        hostname: options.instanceName,
        launcherDir: options.launcherDir,
        ...(options.environment?.platformDir === undefined ? {} : { platformDir: options.environment.platformDir }),
        ...(options.environment?.hostsFile === undefined ? {} : { hostsFile: options.environment.hostsFile }),
        tmpfsMounts: spec.mounts,
        devShmSizeKb: spec.devShmSizeKb,
        workDir: options.workDir,
        exposedPorts: workload.exposedPorts,
      },
      output,
    );
    logger.info({ runtime: options.runtime.kind }, 'workload started');
    stopMonitor = startMemoryMonitor({
      spec,
      container,
      timers: options.timers,
      memoryLimitBytes: options.memoryLimitBytes,
      report: (message) => options.logs.cloudLogging({ severity: 'INFO', message }),
      ...(options.memoryMonitorIntervalMs === undefined ? {} : { intervalMs: options.memoryMonitorIntervalMs }),
    });
    const workloadExit = await waitOrStop(container, options);
    stopMonitor();
    output.flush();
    reportWorkloadExit(logger, workloadExit, { hardened: spec.hardened, memoryLimitBytes: options.memoryLimitBytes });
    return finish(outcomeOfWorkloadExit(workloadExit.exitCode), { workloadExit });
  } catch (error) {
    logger.error({ error, phase }, 'launch failed');
    return finish(outcomeOf(error), { error: asError(error) });
  } finally {
    stopMonitor();
    refresher?.stop();
    await teeServer?.close();
  }
}

/** The abort reason of a hard reset: the workload is killed without SIGTERM, as a VM reset cuts power. */
export const HARD_RESET: unique symbol = Symbol('sealroom.hard-reset');

async function waitOrStop(container: RunningContainer, options: LaunchOptions): Promise<ContainerExit> {
  const { stop } = options;
  if (!stop) return container.exited;
  const onAbort = (): void => {
    if (stop.reason === HARD_RESET) {
      // A hard reset is a power cut: the workload gets no chance to react.
      options.logger.info({}, 'hard reset: SIGKILL to the workload');
      void container.signal('SIGKILL');
      return;
    }
    options.logger.info({}, 'stop requested: SIGTERM to the workload');
    void stopContainer(container, {
      timers: options.timers,
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    });
  };
  if (stop.aborted) onAbort();
  else stop.addEventListener('abort', onAbort, { once: true });
  try {
    return await container.exited;
  } finally {
    stop.removeEventListener('abort', onAbort);
  }
}

/** The error a launch failed with; a thrown non-error is kept as the cause, never put in a message. */
function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new LauncherError('ERR_LAUNCHER_INTERNAL', 'the launch failed with a value that is not an error', {
    cause: error,
  });
}
