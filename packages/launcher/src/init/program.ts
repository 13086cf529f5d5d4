// `sealroom launcher`: the instance's init. Given its metadata server, it reads its instance, boots its platform,
// and runs the launch; it reports to its host agent on the report channel, or to stdout when run by hand.
import { type KeyObject, createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AkCertifier, ImageFamily } from '@sealroom/attest';
import { type Clock, type Logger, systemClock } from '@sealroom/core';
import { type OutboundClient, type OutboundPolicy, createOutboundClient } from '@sealroom/outbound';
import { LauncherError } from '../errors.ts';
import { EXIT_HOLD } from '../exit-code.ts';
import type { ImageSource } from '../image-source.ts';
import { HARD_RESET } from '../launch.ts';
import { writePlatformFiles } from '../metadata-server/platform-files.ts';
import { detectContainerRuntime } from '../runtime/detect.ts';
import type { ContainerConfig, RuntimeKind } from '../runtime/types.ts';
import type { ImageSignature } from '../verifier-client.ts';
import { type BootReporter, bootInstance } from './boot.ts';
import {
  DEFAULT_METADATA_HOST,
  METADATA_HOST_ENV,
  type MetadataClient,
  createMetadataClient,
  parseMetadataHost,
  watchAttributes,
} from './metadata-client.ts';
import { DEFAULT_HARDWARE, type HostCertification, type PlatformChoice, resolvePlatform } from './platforms.ts';
import { type LauncherChannel, REPORT_CHANNEL_VERSION, openLauncherChannel } from './report-channel.ts';

/** The flags of `sealroom launcher`, shared by the CLI command and the host agent's child process. */
export const LAUNCHER_FLAGS = {
  'metadata-host': {
    type: 'string',
    description: `The metadata server, host[:port] or unix:PATH (default $${METADATA_HOST_ENV}, else ${DEFAULT_METADATA_HOST}).`,
  },
  dir: {
    type: 'string',
    description: "The instance's directory: token, socket, runtime state, disk (default ./instance).",
  },
  'image-cache': {
    type: 'string',
    description: 'The image cache, shared by the instances of a host (default DIR/images).',
  },
  'image-family': {
    type: 'string',
    description: 'The boot image: confidential-space (hardened, default) or confidential-space-debug.',
  },
  'boot-count': { type: 'string', description: 'This boot’s number since the instance was created (default 1).' },
  runtime: { type: 'string', description: 'Container runtimes to try, in order (default runc,bwrap,process).' },
  platform: { type: 'string', description: 'auto (default), soft, tpm, sev-snp or tdx.' },
  tpm: {
    type: 'string',
    description: 'The TPM of the tpm platform: a device or tcp://HOST:PORT (default /dev/tpmrm0).',
  },
  'tpm-ctrl': { type: 'string', description: "A TPM simulator's control channel, power-cycled before the boot." },
  'tpm-event-log': { type: 'string', description: "A device TPM's firmware event log." },
  'tsm-report': { type: 'string', description: 'configfs-tsm’s report directory (sev-snp, tdx).' },
  'tdx-measurements': { type: 'string', description: 'The tdx_guest measurement directory (RTMR 3).' },
  'launcher-build': { type: 'string', description: 'The launcher build measured at boot (default: this build).' },
  'machine-type': { type: 'string', description: 'The machine type’s name, with --memory-bytes.' },
  'memory-bytes': { type: 'string', description: "The machine's memory: the workload's limit, no swap." },
  'disk-bytes': { type: 'string', description: 'The boot disk size: the ephemeral disk’s limit.' },
  'memory-monitor-interval-ms': { type: 'string', description: 'How often monitored memory use is reported.' },
  'grace-ms': { type: 'string', description: 'SIGTERM to SIGKILL grace when stopping the workload (default 10000).' },
  'report-fd': {
    type: 'string',
    description: 'The report channel to the host agent (JSON lines both ways, docs/launcher.md); absent: stdout.',
  },
} as const satisfies Readonly<Record<string, { type: 'string'; description: string }>>;

export type LauncherFlags = { readonly [K in keyof typeof LAUNCHER_FLAGS]?: string };

/** What the program needs that the launcher package does not hold: the registry client and the outbound policy. */
export interface LauncherProgramDeps {
  readonly registry: (access: {
    readonly baseUrl: string;
    readonly accessToken: () => Promise<string>;
    readonly outbound: OutboundClient;
    readonly serviceAccountEmail: string;
    readonly cacheDir: string;
    readonly instanceDir: string;
    readonly shareRootfs: boolean;
    readonly serial: (line: string) => void;
  }) => {
    readonly images: ImageSource;
    readonly signatures: (repos: readonly string[], digest: string) => Promise<ImageSignature[]>;
  };
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
  /** The program's own log (stderr); the instance's serial output is separate. */
  readonly logger: Logger;
  /** Where serial lines go without a report channel (stdout). */
  readonly writeSerial?: (line: string) => void;
  /** SIGTERM stops the workload with grace; tests pass their own signal. */
  readonly signals?: NodeJS.Process;
}

const IMAGE_FAMILIES: readonly ImageFamily[] = ['confidential-space', 'confidential-space-debug'];
const PLATFORM_CHOICES: readonly PlatformChoice[] = ['auto', 'soft', 'tpm', 'sev-snp', 'tdx'];
const RUNTIMES: readonly RuntimeKind[] = ['runc', 'bwrap', 'process'];

function usage(message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_USAGE', message);
}

function count(flags: LauncherFlags, name: keyof LauncherFlags, min: number): number | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) throw usage(`--${name} must be a whole number ≥ ${min}`);
  return Number(value);
}

/**
 * The launcher's build, measured at each boot: a digest of the launcher package's sources as shipped, found
 * through the package's own name, so it names the same files from the sources and from a bundled CLI.
 */
export function launcherBuildDigest(): string {
  const srcDir = dirname(fileURLToPath(import.meta.resolve('@sealroom/launcher')));
  const hash = createHash('sha256');
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.includes('.test'))
    .sort();
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(srcDir, file)))
      .update('\0');
  return `sha256:${hash.digest('hex')}`;
}

interface Settings {
  readonly metadataHost: string;
  readonly dir: string;
  readonly imageCache: string;
  readonly imageFamily: ImageFamily;
  readonly bootCount: number;
  readonly runtimes: readonly RuntimeKind[];
  readonly platform: PlatformChoice;
  readonly tpm: { address: string; ctrl?: string; eventLog?: string };
  readonly hardware: { tsmReport: string; tdxMeasurements: string };
  readonly launcherBuild: string | undefined;
  readonly machineType?: { name: string; memoryBytes: number };
  readonly diskBytes?: number;
  readonly memoryMonitorIntervalMs?: number;
  readonly graceMs?: number;
  readonly reportFd?: number;
}

export function parseLauncherFlags(flags: LauncherFlags, env: NodeJS.ProcessEnv): Settings {
  const metadataHost = flags['metadata-host'] ?? env[METADATA_HOST_ENV] ?? DEFAULT_METADATA_HOST;
  parseMetadataHost(metadataHost);
  const dir = flags.dir ?? join(process.cwd(), 'instance');
  const imageFamily = (flags['image-family'] ?? 'confidential-space') as ImageFamily;
  if (!IMAGE_FAMILIES.includes(imageFamily)) throw usage(`--image-family must be one of ${IMAGE_FAMILIES.join(', ')}`);
  const platform = (flags.platform ?? 'auto') as PlatformChoice;
  if (!PLATFORM_CHOICES.includes(platform)) throw usage(`--platform must be one of ${PLATFORM_CHOICES.join(', ')}`);
  const runtimes = (flags.runtime ?? RUNTIMES.join(',')).split(',').map((r) => r.trim()) as RuntimeKind[];
  if (runtimes.length === 0 || runtimes.some((r) => !RUNTIMES.includes(r)))
    throw usage(`--runtime takes a list of ${RUNTIMES.join(', ')}`);
  const memoryBytes = count(flags, 'memory-bytes', 1);
  if ((memoryBytes === undefined) !== (flags['machine-type'] === undefined))
    throw usage('--machine-type and --memory-bytes go together');
  const diskBytes = count(flags, 'disk-bytes', 1);
  const memoryMonitorIntervalMs = count(flags, 'memory-monitor-interval-ms', 1);
  const graceMs = count(flags, 'grace-ms', 0);
  const reportFd = count(flags, 'report-fd', 3);
  return {
    metadataHost,
    dir,
    imageCache: flags['image-cache'] ?? join(dir, 'images'),
    imageFamily,
    bootCount: count(flags, 'boot-count', 1) ?? 1,
    runtimes,
    platform,
    tpm: {
      address: flags.tpm ?? '/dev/tpmrm0',
      ...(flags['tpm-ctrl'] === undefined ? {} : { ctrl: flags['tpm-ctrl'] }),
      ...(flags['tpm-event-log'] === undefined ? {} : { eventLog: flags['tpm-event-log'] }),
    },
    hardware: {
      tsmReport: flags['tsm-report'] ?? DEFAULT_HARDWARE.tsmReport,
      tdxMeasurements: flags['tdx-measurements'] ?? DEFAULT_HARDWARE.tdxMeasurements,
    },
    launcherBuild: flags['launcher-build'],
    ...(memoryBytes === undefined ? {} : { machineType: { name: flags['machine-type'] as string, memoryBytes } }),
    ...(diskBytes === undefined ? {} : { diskBytes }),
    ...(memoryMonitorIntervalMs === undefined ? {} : { memoryMonitorIntervalMs }),
    ...(graceMs === undefined ? {} : { graceMs }),
    ...(reportFd === undefined ? {} : { reportFd }),
  };
}

/** The reporter of a boot: records on the channel, or plain lines on stdout when there is none. */
function reporterFor(channel: LauncherChannel | undefined, writeSerial: (line: string) => void): BootReporter {
  if (!channel)
    return {
      serial: writeSerial,
      status: (message) => writeSerial(`sealroom: status RUNNING ${message}`),
      log: (entry) => writeSerial(`log ${entry.severity}: ${entry.message}`),
      booted: () => {},
    };
  return {
    serial: (line) => channel.report({ t: 'serial', line }),
    status: (message) => channel.report({ t: 'status', status: 'RUNNING', message }),
    log: (entry) => channel.report({ t: 'log', severity: entry.severity, message: entry.message }),
    booted: (bootCount, runtime, platform) => channel.report({ t: 'booted', bootCount, runtime, platform }),
  };
}

const spkiOf = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }).toString('base64');

/** A base64 field of the host's answer, or a refusal of the boot. */
function base64Field(answer: unknown, field: string, what: string): Buffer {
  const value = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string') throw new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', `the host sent no ${what}`);
  return Buffer.from(value, 'base64');
}

/**
 * The platform's certification: the host agent's, over the channel (its platform CA's private key never comes
 * here: this process parses untrusted images), else none.
 */
function certificationFor(channel: LauncherChannel | undefined, instanceId: string): HostCertification | AkCertifier {
  if (!channel)
    return async () => {
      throw usage('the soft platform needs a host agent to certify its AK (run under a host, or use a TPM)');
    };
  const certificate = (op: string) => async (key: KeyObject, instance: { instanceId: string }) => {
    const answer = await channel.call(op, {
      [op === 'certifyAk' ? 'akPublicKey' : 'spki']: spkiOf(key),
      instanceId: instance.instanceId,
    });
    if (typeof answer !== 'string')
      throw new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', 'no certificate from the host');
    return Buffer.from(answer, 'base64');
  };
  return {
    certifyAk: certificate('certifyAk'),
    certifyIdentity: certificate('certifyIdentity'),
    enrolAk: async (ekPublicArea, akPublicArea) => {
      const challenge = await channel.call('akChallenge', {
        ekPublicArea: ekPublicArea.toString('base64'),
        akPublicArea: akPublicArea.toString('base64'),
        instanceId,
      });
      const id = (challenge as { id?: unknown }).id;
      if (typeof id !== 'string') throw new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', 'the host sent no challenge');
      return {
        credentialBlob: base64Field(challenge, 'credentialBlob', 'credential blob'),
        secret: base64Field(challenge, 'secret', 'credential secret'),
        complete: async (recovered) => {
          const answer = await channel.call('akComplete', { id, recovered: recovered.toString('base64') });
          if (typeof answer !== 'string') throw new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', 'no AK certificate');
          return Buffer.from(answer, 'base64');
        },
      };
    },
  };
}

/** Runs the launcher to its exit code (the process's). */
export async function runLauncherProgram(
  flags: LauncherFlags,
  deps: LauncherProgramDeps,
  /** The channel a spare launcher already opened (it got these flags on it). */
  opened?: LauncherChannel,
): Promise<number> {
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const settings = parseLauncherFlags(flags, env);
  const channel = opened ?? (settings.reportFd === undefined ? undefined : openLauncherChannel(settings.reportFd));
  const writeSerial = deps.writeSerial ?? ((line: string) => process.stdout.write(`${line}\n`));
  const report = reporterFor(channel, writeSerial);
  channel?.report({ t: 'hello', version: REPORT_CHANNEL_VERSION, pid: process.pid });
  const stop = new AbortController();
  const watch = new AbortController();
  const signals = deps.signals ?? process;
  const onSigterm = () => stop.abort();
  signals.on('SIGTERM', onSigterm);
  signals.on('SIGINT', onSigterm);
  channel?.onStop((hard) => stop.abort(hard ? HARD_RESET : undefined));
  const finish = async (exitCode: number, failure?: string, holding = false) => {
    channel?.report({ t: 'exited', exitCode, ...(failure === undefined ? {} : { failure }), holding });
    return exitCode;
  };
  try {
    const metadata = createMetadataClient(settings.metadataHost);
    let instance: Awaited<ReturnType<MetadataClient['readInstance']>>;
    try {
      instance = await metadata.readInstance();
    } catch (error) {
      deps.logger.error({ error }, 'the metadata server could not be read');
      report.serial(`launcher error: ${(error as Error).message}`);
      return await finish(1, (error as Error).message);
    }
    const baseUrl = instance.apiEndpoint;
    if (!baseUrl) {
      report.serial('launcher error: the metadata server names no deployment (sealroom/api-endpoint)');
      return await finish(1, 'the metadata server names no deployment');
    }
    const { runtime, report: tried } = await detectContainerRuntime({ candidates: settings.runtimes });
    if (!channel) for (const line of tried) report.serial(`sealroom: container runtime ${line}`);
    if (!runtime) {
      report.serial('sealroom: no container runtime works on this host');
      return await finish(1, 'no container runtime works on this host');
    }
    const kind = await resolvePlatform(settings.platform, settings.tpm, settings.hardware);
    const ca = certificationFor(channel, instance.id);
    // What the workload sees of its platform: from the host when it has one, else written here.
    const environment = channel
      ? ((await channel.call('environment', {})) as {
          env: string[];
          platformDir?: string;
          hostsFile?: string;
          trustedCaDigest?: string;
        })
      : await standaloneEnvironment(settings.metadataHost, settings.dir, instance.name);
    // The launcher's own control plane (verifier, registry) is reached whatever its address; an operator-chosen
    // registry is held to the deployment's policy.
    // The host agent's outbound policy (its deployment's allow-lists), else the default: https, public addresses.
    const policy = channel ? ((await channel.call('outboundPolicy', {})) as OutboundPolicy) : {};
    const outbound = createOutboundClient({ policy }).with({ trustedOrigins: [new URL(baseUrl).origin] });
    const accessToken = async () => (await metadata.accessToken()).accessToken;
    const registry = (shareRootfs: boolean, serial: (line: string) => void) =>
      deps.registry({
        baseUrl,
        accessToken,
        outbound,
        serviceAccountEmail: instance.serviceAccountEmail,
        cacheDir: settings.imageCache,
        instanceDir: settings.dir,
        shareRootfs,
        serial,
      });
    // Metadata changed while the instance runs takes effect at its next start (docs/compute.md).
    void watchAttributes(
      metadata,
      instance.attributesEtag,
      (next) => {
        const keys = [...new Set([...Object.keys(next), ...Object.keys(instance.attributes)])]
          .filter((k) => next[k] !== instance.attributes[k])
          .sort();
        if (keys.length > 0)
          report.serial(`sealroom: metadata changed (${keys.join(', ')}): it takes effect at the next start`);
      },
      watch.signal,
    );
    const result = await bootInstance({
      instance,
      dir: settings.dir,
      imageFamily: settings.imageFamily,
      bootCount: settings.bootCount,
      runtime,
      platform: { kind, tpm: settings.tpm, hardware: settings.hardware, ca },
      launcherBuild: settings.launcherBuild ?? launcherBuildDigest(),
      deployment: {
        baseUrl,
        fetch: outbound.fetch,
        accessToken,
        idTokens: async (audience, impersonate) =>
          Promise.all([
            metadata.identityToken(audience),
            ...impersonate.map((email) => impersonatedIdToken(outbound, baseUrl, accessToken, email, audience)),
          ]),
        images: ({ shareRootfs, serial }) => registry(shareRootfs, serial).images,
        signatures: (repos, digest) => registry(true, report.serial).signatures(repos, digest),
      },
      environment,
      ...(settings.machineType ? { machineType: settings.machineType } : {}),
      ...(settings.diskBytes === undefined ? {} : { diskBytes: settings.diskBytes }),
      ...(settings.memoryMonitorIntervalMs === undefined
        ? {}
        : { memoryMonitorIntervalMs: settings.memoryMonitorIntervalMs }),
      ...(settings.graceMs === undefined ? {} : { graceMs: settings.graceMs }),
      ...(channel
        ? {
            prepareContainer: async (config: ContainerConfig) =>
              (await channel.call('prepareContainer', { config })) as ContainerConfig,
          }
        : {}),
      report,
      stop: stop.signal,
      clock,
      logger: deps.logger,
      defaultAudience: `https://sts.${instance.universeDomain}`,
    });
    watch.abort();
    // A debug image that exits 4 holds the instance up: its disk stays for the operator's shell until stopped.
    const holding = result.exitCode === EXIT_HOLD && channel !== undefined && !stop.signal.aborted;
    await finish(result.exitCode, result.failure, holding);
    if (holding) await new Promise<void>((resolve) => channel?.onStop(() => resolve()));
    await result.disk
      ?.close()
      .catch((error: unknown) => deps.logger.warn({ error }, 'the disk could not be destroyed'));
    return result.exitCode;
  } catch (error) {
    deps.logger.error({ error }, 'the launcher failed');
    report.serial(`launcher error: ${(error as { code?: string }).code ?? 'the launcher failed'}`);
    return await finish(1, (error as Error).message);
  } finally {
    watch.abort();
    signals.off('SIGTERM', onSigterm);
    signals.off('SIGINT', onSigterm);
    await channel?.close();
  }
}

/** `tee-impersonate-service-accounts`: IAM Credentials' generateIdToken with the instance account's token. */
async function impersonatedIdToken(
  outbound: OutboundClient,
  baseUrl: string,
  accessToken: () => Promise<string>,
  email: string,
  audience: string,
): Promise<string> {
  const response = await outbound.fetch(
    `${baseUrl}/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}:generateIdToken`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ audience, includeEmail: true }),
    },
  );
  const body = (await response.json().catch(() => ({}))) as { token?: unknown };
  if (!response.ok || typeof body.token !== 'string')
    throw new LauncherError(
      'ERR_LAUNCHER_VERIFIER_REFUSED',
      `the instance's account may not mint an ID token of ${email} (HTTP ${response.status})`,
    );
  return body.token;
}

/** Without a host agent: the workload reaches the same metadata server the launcher did. */
async function standaloneEnvironment(metadataHost: string, dir: string, hostname: string) {
  const target = parseMetadataHost(metadataHost);
  if (target.socketPath !== undefined) return { env: [] as string[] };
  return writePlatformFiles({
    dir,
    hostname,
    metadata: { host: target.host as string, port: target.port as number },
  });
}
