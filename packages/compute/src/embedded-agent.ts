// The host agent embedded in `sealroom serve` (and run by each joined host): for each boot of an instance, its
// network and metadata server, then `sealroom launcher` as a child process that boots the platform and the workload.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AkCertifier, PlatformCa } from '@sealroom/attest';
import type { Clock, Logger } from '@sealroom/core';
import type { OutboundClient, OutboundPolicy } from '@sealroom/outbound';
import {
  type ContainerConfig,
  type ContainerRuntime,
  type HostChannel,
  type PlatformEndpoints,
  type RuntimeKind,
  DEFAULT_HARDWARE,
  EXIT_HOLD,
  HARD_RESET,
  REPORT_CHANNEL_VERSION,
  STOP_GRACE_MS,
  detectContainerRuntime,
  hostChannelOn,
  superviseInstance,
  TOKEN_FILE_NAME,
} from '@sealroom/launcher';
import { ComputeError } from './errors.ts';
import { cleanUpInstance, cleanUpLeftovers, gateLogStream } from './instance-isolation.ts';
import type { BootRequest, DecodedToken, ExecResult, HostAgent, InstanceEvents } from './host-agent.ts';
import type { HardwareSettings, PlatformKind, TpmSettings } from './platforms.ts';
import { type InstanceMetadata, startInstanceMetadata } from './instance-metadata.ts';
import { type NetworkSettings, type BootNetwork, createInstanceNetworks } from './instance-network.ts';
import { createLauncherCertification } from './launcher-certification.ts';
import { launcherProgram } from './launcher-program.ts';

/** The instance's metadata server, as far as tokens go: the service account's access and ID tokens. */
export interface InstanceCredentials {
  accessToken(serviceAccountEmail: string): Promise<string>;
  /** An access token with these OAuth scopes and its expiry (epoch ms): the metadata server's `…/token`. */
  scopedAccessToken?(
    serviceAccountEmail: string,
    scopes: readonly string[],
  ): Promise<{ readonly accessToken: string; readonly expiresAt: number }>;
  /**
   * An ID token with the email claim; `actor` is the instance's own account when `email` is impersonated;
   * `extra` claims are added (the metadata server's `format=full` claims).
   */
  idToken(email: string, audience: string, actor: string, extra?: Readonly<Record<string, unknown>>): Promise<string>;
}

export interface EmbeddedAgentOptions {
  /** Per-instance directories live under `<dir>/<instance id>/`. */
  readonly dir: string;
  readonly baseUrl: string;
  readonly universeDomain: string;
  /** The deployment's outbound client: image pulls, signature discovery and the verifier go through it. */
  readonly outbound: OutboundClient;
  /**
   * The platform CA the verifier trusts (in dev mode, the one in the state directory), or, on a remote host,
   * a certifier that asks the control plane for each boot's AK certificate.
   */
  readonly platformCa: () => PlatformCa | AkCertifier;
  /** Measured at boot as the launcher build: the image database's key. */
  readonly launcherBuild: string;
  readonly credentials: InstanceCredentials;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Container runtimes to try, in order (default runc, bwrap, process). */
  readonly runtimes?: readonly RuntimeKind[];
  /** SIGTERM → SIGKILL grace when stopping (10 s by default, as docs/launcher.md says). */
  readonly graceMs?: number;
  /** A guard against reboot loops (`Always` with a workload that exits at once). */
  readonly maxBoots?: number;
  /** The platform instances attest with (default soft). */
  readonly platform?: PlatformKind;
  /** The TPM of the `tpm` platform. */
  readonly tpm?: TpmSettings;
  /** The guest interfaces of the `sev-snp` and `tdx` platforms. */
  readonly hardware?: HardwareSettings;
  /** A production deployment: no instance boots on the soft platform, whose CA no production verifier trusts. */
  readonly refuseSoft?: boolean;
  /** Instance network isolation; absent = the host network (tests of the launch alone). */
  readonly network?: NetworkSettings;
  /** How often a monitored instance reports its memory use (60 s by default, as Google's image). */
  readonly memoryMonitorIntervalMs?: number;
  /**
   * Keep a spare `sealroom launcher` started ahead of the next boot once this host has booted (default true): a
   * boot then skips Node's start-up.
   */
  readonly spareLauncher?: boolean;
  /** The deployment's endpoints and CA for /run/sealroom (resolves once the deployment listens). */
  readonly endpoints?: () => Promise<PlatformEndpoints | undefined>;
}

const EXEC_TIMEOUT_MS = 60_000;
const EXEC_OUTPUT_LIMIT_BYTES = 1024 * 1024;
/** How long past the grace period a launcher may take to stop before it is killed (its leftovers then cleaned). */
const LAUNCHER_STOP_MARGIN_MS = 20_000;
/** A unix socket path longer than this does not fit sockaddr_un (108 bytes with its terminator). */
const MAX_SOCKET_PATH = 100;

/** One boot's `sealroom launcher` process and its report channel. */
interface LauncherProcess {
  readonly child: ChildProcess;
  readonly channel: HostChannel;
  readonly closed: Promise<void>;
}

interface Running {
  readonly controller: AbortController;
  done: Promise<void>;
  held: boolean;
  /** The last container this instance started: exec runs beside it, on the same image and launcher directory. */
  lastContainer?: ContainerConfig;
  runtime?: ContainerRuntime;
  execs: number;
  /** The network of a boot that ended holding the instance up (exit code 4). */
  heldNetwork?: BootNetwork | undefined;
  /** The launcher of a debug boot that exited 4: it keeps the boot's disk until the instance powers off. */
  holder?: LauncherProcess | undefined;
  /** The instance's metadata server, for as long as the instance is on. */
  metadata?: InstanceMetadata | undefined;
  /** Where that server answers: the instance address it admits, or `loopback`. */
  metadataWhere?: string | undefined;
  /** The metadata as add-metadata last set it, for the servers of later boots. */
  attributes?: Readonly<Record<string, string>> | undefined;
  /** Why the last launch failed, if it did: the TERMINATED status message. */
  lastFailure?: string | undefined;
}

/** The outbound policy as the launcher's own client takes it (the host's allow-lists, its limits). */
function policyOf(client: OutboundClient): OutboundPolicy {
  const p = client.policy;
  return {
    httpHosts: [...p.httpHosts],
    allowedRanges: p.allowedRanges.map((r) => r.text),
    allowLoopback: p.allowLoopback,
    trustedOrigins: [...p.trustedOrigins],
    maxRedirects: p.maxRedirects,
    connectTimeoutMs: p.connectTimeoutMs,
    timeoutMs: p.timeoutMs,
    maxBodyBytes: p.maxBodyBytes,
  };
}

export function createEmbeddedHostAgent(options: EmbeddedAgentOptions): HostAgent {
  const running = new Map<string, Running>();
  /** The instance whose boot holds the TPM of the tpm platform. */
  let tpmHolder: string | undefined;
  let detection: Promise<{ runtime: ContainerRuntime | undefined; report: readonly string[] }> | undefined;
  const networks = options.network ? createInstanceNetworks(options.network, options.logger) : undefined;
  const detect = () => {
    detection ??= detectContainerRuntime(options.runtimes ? { candidates: options.runtimes } : {});
    return detection;
  };
  const graceMs = options.graceMs ?? STOP_GRACE_MS;

  // Containers a crashed or killed previous run left behind are stopped before any boot.
  const leftovers = cleanUpLeftovers(options.dir, options.logger).catch((error: unknown) => {
    options.logger.error({ error }, 'compute: cleaning up after a previous run failed');
  });

  const bootOnce = async (request: BootRequest, events: InstanceEvents, state: Running, boot: number) => {
    await leftovers;
    const dir = join(options.dir, request.instanceId);
    // A reboot starts from a fresh disk: what a previous boot's launcher could not destroy goes now.
    await cleanUpInstance(dir, options.logger);
    await mkdir(join(dir, 'launcher'), { recursive: true, mode: 0o755 });
    const { runtime, report } = await detect();
    for (const line of report) events.serial(`sealroom: container runtime ${line}`);
    if (!runtime) {
      events.serial('sealroom: no container runtime works on this host');
      return 1;
    }
    const bootCount = request.previousBoots + boot;
    const kind = options.platform ?? 'soft';
    if (kind === 'soft' && options.refuseSoft) {
      events.serial('sealroom: refusing to boot on the soft platform: only a --dev deployment may (see --platform)');
      return 1;
    }
    // One TPM has one PCR 13, one TD one RTMR 3: a machine's platform attests one instance at a time.
    if (kind !== 'soft' && tpmHolder !== undefined && tpmHolder !== request.instanceId) {
      events.serial(`sealroom: the ${kind} platform attests another running instance; stop it first`);
      return 1;
    }
    if (kind !== 'soft') tpmHolder = request.instanceId;
    // The network exists before the launcher starts: its metadata server listens on the gateway.
    const net = networks ? await networks.attach(request, runtime.kind, events) : undefined;
    if (networks && !net) {
      if (tpmHolder === request.instanceId) tpmHolder = undefined;
      return 1;
    }
    let exitCode = 1;
    try {
      // The metadata server answers only this instance: bound to its gateway, the instance address its one peer
      // (a loopback listener, not isolated, when it has no namespace). A new namespace is a new gateway.
      const addresses = net?.network
        ? { gatewayAddress: net.network.gatewayAddress, instanceAddress: net.network.instanceAddress }
        : undefined;
      const where = addresses ? addresses.instanceAddress : 'loopback';
      if (!state.metadata || state.metadataWhere !== where) {
        await closeMetadata(state);
        state.metadata = await startMetadataFor(request, addresses, state.attributes);
        state.metadataWhere = where;
        events.serial(state.metadata.description);
      }
      exitCode = await runLauncher(request, events, state, runtime, kind, dir, bootCount, net);
      return exitCode;
    } finally {
      if (tpmHolder === request.instanceId) tpmHolder = undefined;
      // A held debug instance keeps its network for exec until it is powered off.
      if (exitCode === EXIT_HOLD && !state.controller.signal.aborted) state.heldNetwork = net;
      else {
        // The metadata server listens on this network's gateway: it closes before the link and its machine-wide
        // claim are given back, or the next instance given the same link could not bind its own (EADDRINUSE).
        if (net?.network) await closeMetadata(state);
        await net?.release().catch((error: unknown) => options.logger.warn({ error }, 'network release failed'));
      }
    }
  };

  const certification = createLauncherCertification({ platformCa: options.platformCa, clock: options.clock });

  /** Answers the launcher's calls on its report channel: only what the host holds and this instance may have. */
  const answer = async (
    op: string,
    args: Record<string, unknown>,
    request: BootRequest,
    state: Running,
    runtime: ContainerRuntime,
    kind: PlatformKind,
    net: BootNetwork | undefined,
  ): Promise<unknown> => {
    switch (op) {
      case 'certifyAk':
      case 'certifyIdentity':
      case 'akChallenge':
      case 'akComplete':
        return certification.answer(op, args, request, kind);
      case 'environment': {
        const files = state.metadata?.files;
        return files
          ? {
              env: files.env,
              platformDir: files.platformDir,
              hostsFile: files.hostsFile,
              ...(files.trustedCaDigest === undefined ? {} : { trustedCaDigest: files.trustedCaDigest }),
            }
          : { env: [] };
      }
      case 'outboundPolicy':
        return policyOf(options.outbound);
      case 'prepareContainer': {
        const config = args.config as ContainerConfig;
        const placed = net ? await net.prepareContainer(config) : config;
        state.lastContainer = placed;
        state.runtime = runtime;
        return placed;
      }
      default:
        throw new ComputeError('ERR_COMPUTE_BAD_REQUEST', `unknown launcher call ${op}`);
    }
  };

  /** Starts this boot's `sealroom launcher` and follows its report channel to its exit code. */
  const runLauncher = (
    request: BootRequest,
    events: InstanceEvents,
    state: Running,
    runtime: ContainerRuntime,
    kind: PlatformKind,
    dir: string,
    bootCount: number,
    net: BootNetwork | undefined,
  ): Promise<number> => {
    const metadata = state.metadata as InstanceMetadata;
    const tpm = options.tpm ?? { address: '/dev/tpmrm0' };
    const hardware = options.hardware ?? DEFAULT_HARDWARE;
    const flags: Record<string, string> = {
      'metadata-host': metadata.server.launcherAddress ?? metadata.server.hostPort,
      dir,
      'image-cache': join(options.dir, 'images'),
      'image-family': request.imageFamily,
      'boot-count': String(bootCount),
      runtime: runtime.kind,
      platform: kind,
      tpm: tpm.address,
      ...(tpm.ctrl === undefined ? {} : { 'tpm-ctrl': tpm.ctrl }),
      ...(tpm.eventLog === undefined ? {} : { 'tpm-event-log': tpm.eventLog }),
      'tsm-report': hardware.tsmReport,
      'tdx-measurements': hardware.tdxMeasurements,
      'launcher-build': options.launcherBuild,
      'grace-ms': String(graceMs),
      ...(request.machineType
        ? { 'machine-type': request.machineType.name, 'memory-bytes': String(request.machineType.memoryBytes) }
        : {}),
      ...(request.diskBytes === undefined ? {} : { 'disk-bytes': String(request.diskBytes) }),
      ...(options.memoryMonitorIntervalMs === undefined
        ? {}
        : { 'memory-monitor-interval-ms': String(options.memoryMonitorIntervalMs) }),
      'report-fd': '3',
    };
    const logStream = gateLogStream(request, events);
    return new Promise<number>((resolve) => {
      let reported: { exitCode: number; holding: boolean } | undefined;
      let settled = false;
      const settle = (code: number) => {
        if (settled) return;
        settled = true;
        resolve(code);
      };
      // A spare launcher (its modules already loaded) takes the boot; without one, a new process. The next spare
      // warms up meanwhile.
      const taken = takeSpare();
      const child = taken ?? spawnLauncher(Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value]));
      // Only once a host boots does it keep a spare: a server starting up has better use for its CPU.
      if (options.spareLauncher !== false) prepareSpare();
      const stream = child.stdio[3] as Duplex;
      const channel = hostChannelOn(stream, {
        onReport: (record) => {
          switch (record.t) {
            case 'serial':
              events.serial(record.line);
              break;
            case 'status':
              events.status('RUNNING', record.message);
              break;
            case 'log':
              logStream({ severity: record.severity, message: record.message });
              break;
            case 'booted':
              events.booted(record.bootCount, record.runtime, record.platform);
              break;
            case 'exited':
              reported = { exitCode: record.exitCode, holding: record.holding };
              // The instance's status says why a launch failed (a refused pull names the principal and permission).
              state.lastFailure = record.failure;
              events.exited(record.exitCode);
              if (record.holding) {
                state.holder = launcher;
                settle(record.exitCode);
              }
              break;
            case 'hello':
              if (record.version !== REPORT_CHANNEL_VERSION) {
                options.logger.error({ version: record.version }, 'the launcher speaks another report channel');
                channel.stop(true);
              }
              break;
          }
        },
        onCall: (op, callArgs) => answer(op, callArgs, request, state, runtime, kind, net),
        onProblem: (what, error) => options.logger.warn({ instanceId: request.instanceId, error }, what),
      });
      if (taken) channel.boot(flags);
      let stderrLines = 0;
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) {
          stderrLines += 1;
          if (stderrLines <= 200) options.logger.warn({ instanceId: request.instanceId, line }, 'launcher');
        }
      });
      const closed = new Promise<void>((done) => child.once('close', () => done()));
      const launcher: LauncherProcess = { child, channel, closed };
      child.once('error', (error) => {
        options.logger.error({ instanceId: request.instanceId, error }, 'the launcher could not start');
      });
      child.once('close', (code, signal) => {
        channel.close();
        if (state.holder === launcher) state.holder = undefined;
        if (!reported) {
          events.serial(
            `sealroom: the launcher ended without reporting its exit (${signal ? `signal ${signal}` : `code ${code}`})`,
          );
          events.exited(1);
        }
        settle(reported?.exitCode ?? 1);
      });
      // Stopping the instance is the launcher's job (SIGTERM, grace, SIGKILL); one that does not end is killed.
      const onAbort = () => {
        const hard = state.controller.signal.reason === HARD_RESET;
        stopLauncher(launcher, hard);
      };
      state.controller.signal.addEventListener('abort', onAbort, { once: true });
      void closed.then(() => state.controller.signal.removeEventListener('abort', onAbort));
    });
  };

  /** The launcher process, with the report channel on fd 3; it gets no secret from its environment. */
  const spawnLauncher = (args: readonly string[]): ChildProcess =>
    spawn(process.execPath, [launcherProgram(), ...args], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: launcherEnvironment(join(options.dir, '.launcher-compile-cache')),
    });
  /** One launcher started ahead of the next boot: Node.js and its modules load off the boot's path. */
  let spare: ChildProcess | undefined;
  let closing = false;
  const prepareSpare = () => {
    if (closing || spare) return;
    const child = spawnLauncher(['--spare']);
    // An idle spare keeps nothing alive: it ends by itself when this process goes (its channel closes).
    child.unref();
    (child.stdio[3] as Socket | null)?.unref();
    (child.stderr as Socket | null)?.unref();
    child.once('error', (error) => options.logger.warn({ error }, 'a spare launcher could not start'));
    child.once('exit', () => {
      if (spare === child) spare = undefined;
    });
    spare = child;
  };
  const takeSpare = (): ChildProcess | undefined => {
    const child = spare;
    spare = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return undefined;
    child.ref();
    (child.stdio[3] as Socket | null)?.ref();
    (child.stderr as Socket | null)?.ref();
    return child;
  };

  const stopLauncher = (launcher: LauncherProcess, hard: boolean) => {
    if (launcher.child.exitCode !== null || launcher.child.signalCode !== null) return;
    launcher.channel.stop(hard);
    const timer = setTimeout(() => launcher.child.kill('SIGKILL'), (hard ? 0 : graceMs) + LAUNCHER_STOP_MARGIN_MS);
    void launcher.closed.then(() => clearTimeout(timer));
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
      // The error's code (catalogued or errno) says which step failed; its message may carry host paths.
      const code = (error as { code?: unknown }).code;
      events.serial(`sealroom: the host could not boot the instance${typeof code === 'string' ? ` (${code})` : ''}`);
    } finally {
      if (!state.held) await closeMetadata(state);
    }
    running.delete(request.instanceId);
    events.status('STOPPING', '');
    events.status('TERMINATED', state.lastFailure ?? '');
  };

  const startMetadataFor = async (
    request: BootRequest,
    network: { gatewayAddress: string; instanceAddress: string } | undefined,
    attributes: Readonly<Record<string, string>> | undefined,
  ): Promise<InstanceMetadata> => {
    const dir = join(options.dir, request.instanceId);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const endpoints = await options.endpoints?.();
    // The launcher reads its metadata server on a socket of the instance's own, from the host side of its namespace.
    const socket = join(dir, 'metadata.sock');
    return startInstanceMetadata({
      // Metadata the operator changed since power-on (add-metadata) outlives a reboot.
      request: attributes ? { ...request, metadata: attributes } : request,
      ...(network ? { network } : {}),
      dir,
      launcherSocket:
        socket.length <= MAX_SOCKET_PATH ? socket : join(tmpdir(), `sealroom-metadata-${request.instanceId}.sock`),
      apiEndpoint: options.baseUrl,
      universeDomain: options.universeDomain,
      credentials: options.credentials,
      ...(endpoints ? { endpoints } : {}),
      clock: options.clock,
      logger: options.logger,
    });
  };
  const closeMetadata = async (state: Running): Promise<void> => {
    const metadata = state.metadata;
    state.metadata = undefined;
    await metadata?.close().catch((error: unknown) => options.logger.warn({ error }, 'metadata server close failed'));
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
      // As at the end of a boot: the gateway's metadata server goes before the network it listens on.
      if (state.heldNetwork?.network) await closeMetadata(state);
      await state.heldNetwork
        ?.release()
        .catch((error: unknown) => options.logger.warn({ error }, 'network release failed'));
      state.heldNetwork = undefined;
      // A held debug instance's launcher kept its disk until now.
      const holder = state.holder;
      if (holder) {
        stopLauncher(holder, powerOptions.hard === true);
        await holder.closed;
      }
      await closeMetadata(state);
      running.delete(instanceId);
    },

    updateMetadata(instanceId, metadata) {
      const state = running.get(instanceId);
      if (!state) return;
      state.attributes = metadata;
      state.metadata?.server.setAttributes(metadata);
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

    async setFirewall(instanceId, rules) {
      await networks?.setFirewall(instanceId, rules);
    },

    instanceNetwork(instanceId) {
      return networks?.get(instanceId);
    },

    runningCount() {
      return running.size;
    },

    async close() {
      closing = true;
      spare?.kill('SIGTERM');
      spare = undefined;
      await Promise.all([...running.keys()].map((id) => this.powerOff(id)));
      await networks?.close();
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

/** The launcher's environment: enough to run (PATH, a temporary directory), none of the host agent's settings. */
function launcherEnvironment(compileCache: string): NodeJS.ProcessEnv {
  // Node's compile cache halves the launcher's start-up CPU from the second boot on.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    NODE_COMPILE_CACHE: compileCache,
  };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  return env;
}
