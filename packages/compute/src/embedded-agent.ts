// The host agent embedded in `sealroom serve`: each boot is a fresh soft platform, then the launcher.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type PlatformCa, bootSoftPlatform } from '@sealroom/attest';
import type { Clock, Logger } from '@sealroom/core';
import type { OutboundClient } from '@sealroom/outbound';
import {
  type ContainerConfig,
  type ContainerRuntime,
  type RuntimeKind,
  createVerifierTokenSource,
  HARD_RESET,
  detectContainerRuntime,
  readMemFreeKb,
  regionOfZone,
  runLaunch,
  superviseInstance,
  systemTimers,
  TOKEN_FILE_NAME,
} from '@sealroom/launcher';
import { ComputeError } from './errors.ts';
import type { BootRequest, DecodedToken, ExecResult, HostAgent, InstanceEvents } from './host-agent.ts';
import { createRegistryImageSource, discoverSignatures } from './registry-images.ts';
import { createSerialLogger } from './serial-logger.ts';

/** The instance's metadata server, as far as tokens go: the service account's access and ID tokens. */
export interface InstanceCredentials {
  accessToken(serviceAccountEmail: string): Promise<string>;
  /** An ID token with the email claim; `actor` is the instance's own account when `email` is impersonated. */
  idToken(email: string, audience: string, actor: string): Promise<string>;
}

export interface EmbeddedAgentOptions {
  /** Per-instance directories live under `<dir>/<instance id>/`. */
  readonly dir: string;
  readonly baseUrl: string;
  readonly universeDomain: string;
  /** The deployment's outbound client: image pulls, signature discovery and the verifier go through it. */
  readonly outbound: OutboundClient;
  /** The platform CA the verifier trusts (in dev mode, the one in the state directory). */
  readonly platformCa: () => PlatformCa;
  /** Measured at boot as the launcher build: the image database's key. */
  readonly launcherBuild: string;
  readonly credentials: InstanceCredentials;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Container runtimes to try, in order (default runc, bwrap, process). */
  readonly runtimes?: readonly RuntimeKind[];
  /** SIGTERM → SIGKILL grace when stopping (launcher.md: 10 s). */
  readonly graceMs?: number;
  /** A guard against reboot loops (`Always` with a workload that exits at once). */
  readonly maxBoots?: number;
}

const EXEC_TIMEOUT_MS = 60_000;
const EXEC_OUTPUT_LIMIT_BYTES = 1024 * 1024;

interface Running {
  readonly controller: AbortController;
  done: Promise<void>;
  held: boolean;
  /** The last container this instance started: exec runs beside it, on the same image and launcher directory. */
  lastContainer?: ContainerConfig;
  runtime?: ContainerRuntime;
  execs: number;
}

export function createEmbeddedHostAgent(options: EmbeddedAgentOptions): HostAgent {
  const running = new Map<string, Running>();
  // The launcher's own control plane (verifier, registry) is reached whatever its address; an
  // operator-chosen registry is held to the deployment's policy.
  const outbound = options.outbound.with({ trustedOrigins: [options.baseUrl] });
  let detection: Promise<{ runtime: ContainerRuntime | undefined; report: readonly string[] }> | undefined;
  const detect = () => {
    detection ??= detectContainerRuntime(options.runtimes ? { candidates: options.runtimes } : {});
    return detection;
  };

  const bootOnce = async (request: BootRequest, events: InstanceEvents, state: Running, boot: number) => {
    const dir = join(options.dir, request.instanceId);
    const launcherDir = join(dir, 'launcher');
    await mkdir(launcherDir, { recursive: true, mode: 0o755 });
    const { runtime, report } = await detect();
    for (const line of report) events.serial(`sealroom: container runtime ${line}`);
    if (!runtime) {
      events.serial('sealroom: no container runtime works on this host');
      return 1;
    }
    const bootCount = request.previousBoots + boot;
    // A reboot is a new machine state: new TPM, new AK, new event logs (launcher.md §3).
    const platform = bootSoftPlatform({
      ca: options.platformCa(),
      instance: {
        zone: request.zone,
        projectId: request.projectId,
        projectNumber: request.projectNumber,
        instanceName: request.name,
        instanceId: request.instanceId,
      },
      launcherBuild: options.launcherBuild,
      imageFamily: request.imageFamily,
      nowMs: options.clock.now(),
    });
    events.booted(bootCount, runtime.kind);
    events.serial(`sealroom: boot ${bootCount} on a soft platform (${request.imageFamily}), runtime ${runtime.kind}`);
    const email = request.serviceAccountEmail;
    const images = {
      baseUrl: options.baseUrl,
      accessToken: () => options.credentials.accessToken(email),
      outbound,
    };
    const watched: ContainerRuntime = {
      kind: runtime.kind,
      start: async (config, output) => {
        state.lastContainer = config;
        state.runtime = runtime;
        return runtime.start(config, output);
      },
    };
    const logger = createSerialLogger(events.serial);
    const memFreeKb = await readMemFreeKb();
    const result = await runLaunch({
      metadata: request.metadata,
      hardened: request.imageFamily === 'confidential-space',
      instanceName: request.name,
      ...(memFreeKb === undefined ? {} : { memFreeKb }),
      images: createRegistryImageSource({
        ...images,
        cacheDir: join(options.dir, 'images'),
        shareRootfs: runtime.kind !== 'process',
        instanceDir: dir,
      }),
      platform,
      tokenSource: ({ spec, image, imageConfig }) =>
        createVerifierTokenSource({
          baseUrl: options.baseUrl,
          fetch: outbound.fetch,
          projectId: request.projectId,
          region: regionOfZone(request.zone),
          accessToken: images.accessToken,
          idTokens: async (audience) =>
            Promise.all([
              options.credentials.idToken(email, audience, email),
              ...spec.impersonateServiceAccounts.map((other) => options.credentials.idToken(other, audience, email)),
            ]),
          platform,
          ...(spec.signedImageRepos.length > 0
            ? { imageSignatures: () => discoverSignatures(spec.signedImageRepos, image.digest, images) }
            : {}),
          ...(imageConfig ? { imageConfig } : {}),
          defaultAudience: `https://sts.${options.universeDomain}`,
        }),
      runtime: watched,
      launcherDir,
      workDir: join(dir, 'work'),
      logs: {
        serial: (stream, line) => events.serial(`workload ${stream}: ${line}`),
        cloudLogging: (entry) => events.workloadLog(entry),
      },
      logger,
      clock: options.clock,
      timers: systemTimers,
      random: Math.random,
      stop: state.controller.signal,
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
      onPhase: (phase) => events.serial(`launcher: phase ${phase}`),
    });
    events.serial(`launcher: exit code ${result.exitCode}`);
    events.exited(result.exitCode);
    return result.exitCode;
  };

  const supervise = async (request: BootRequest, events: InstanceEvents, state: Running): Promise<void> => {
    try {
      const result = await superviseInstance({
        stop: state.controller.signal,
        ...(options.maxBoots === undefined ? {} : { maxBoots: options.maxBoots }),
        boot: (n) => bootOnce(request, events, state, n),
        onBackoff: (delayMs, next) =>
          events.serial(`sealroom: the workload keeps ending at once; boot ${next} in ${Math.round(delayMs / 1000)} s`),
      });
      if (result.action === 'hold' && !state.controller.signal.aborted) {
        state.held = true;
        events.serial('sealroom: the debug image holds the instance up (exit code 4)');
        events.status('RUNNING', 'the launcher exited with 4: a debug instance stays up');
        return;
      }
      events.serial(`sealroom: power off after exit code ${result.exitCode}`);
    } catch (error) {
      options.logger.error({ instanceId: request.instanceId, error }, 'boot failed');
      events.serial('sealroom: the host could not boot the instance');
    }
    running.delete(request.instanceId);
    events.status('STOPPING', '');
    events.status('TERMINATED', '');
  };

  return {
    powerOn(request, events) {
      const state: Running = { controller: new AbortController(), done: Promise.resolve(), held: false, execs: 0 };
      running.set(request.instanceId, state);
      state.done = supervise(request, events, state);
    },

    async powerOff(instanceId, powerOptions = {}) {
      const state = running.get(instanceId);
      if (!state) return;
      state.controller.abort(powerOptions.hard ? HARD_RESET : undefined);
      await state.done;
      running.delete(instanceId);
    },

    async exec(instanceId, command) {
      const state = running.get(instanceId);
      const last = state?.lastContainer;
      const runtime = state?.runtime;
      // A plain process has no isolation: exec there would be a shell on the control plane's host.
      if (!state || !last || !runtime || runtime.kind === 'process')
        throw new ComputeError(
          'ERR_COMPUTE_EXEC_UNAVAILABLE',
          'The instance has no container to exec into (it needs runc or bwrap and a started workload).',
        );
      state.execs += 1;
      return execBeside(runtime, last, command, state.execs);
    },

    async discard(instanceId) {
      await rm(join(options.dir, instanceId), { recursive: true, force: true });
    },

    async tokenClaims(instanceId) {
      if (!running.has(instanceId)) return undefined;
      let token: string;
      try {
        token = await readFile(join(options.dir, instanceId, 'launcher', TOKEN_FILE_NAME), 'utf8');
      } catch {
        return undefined;
      }
      return decodeToken(token);
    },

    isRunning(instanceId) {
      return running.has(instanceId);
    },

    async close() {
      await Promise.all([...running.keys()].map((id) => this.powerOff(id)));
    },
  };
}

/** Header and payload of a compact JWT; the signature is dropped, so what leaves here grants nothing. */
function decodeToken(token: string): DecodedToken | undefined {
  const [header, payload] = token.trim().split('.');
  try {
    return {
      header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    };
  } catch {
    return undefined;
  }
}

/** Runs `command` in a new container on the instance's image and launcher directory (the debug shell). */
async function execBeside(
  runtime: ContainerRuntime,
  last: ContainerConfig,
  command: readonly string[],
  n: number,
): Promise<ExecResult> {
  const shell = existsSync(join(last.rootfs, 'bin', 'sh'));
  // gcloud's --command is one shell string; an image without a shell gets it split at whitespace.
  const args =
    command.length !== 1
      ? [...command]
      : shell
        ? ['/bin/sh', '-c', command[0] as string]
        : (command[0] as string).split(/\s+/).filter(Boolean);
  const out = { stdout: '', stderr: '' };
  const append = (key: 'stdout' | 'stderr') => (chunk: Buffer) => {
    if (out[key].length < EXEC_OUTPUT_LIMIT_BYTES) out[key] += chunk.toString('utf8');
  };
  const container = await runtime.start(
    { ...last, id: `${last.id}-exec${n}`, args, workDir: `${last.workDir}-exec${n}` },
    { stdout: append('stdout'), stderr: append('stderr') },
  );
  const timer = setTimeout(() => void container.signal('SIGKILL'), EXEC_TIMEOUT_MS);
  try {
    const exit = await container.exited;
    return { exitCode: exit.exitCode, ...out };
  } finally {
    clearTimeout(timer);
    await rm(`${last.workDir}-exec${n}`, { recursive: true, force: true });
  }
}
