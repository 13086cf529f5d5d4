// `sealroom host run`: the agent of a joined host. It keeps one channel to the control plane and boots what it is told.
import { connect } from 'node:http2';
import { join } from 'node:path';
import { type Clock, type Logger, systemClock } from '@sealroom/core';
import type { PlatformEndpoints } from '@sealroom/launcher';
import type { OutboundClient } from '@sealroom/outbound';
import { createEmbeddedHostAgent } from '../embedded-agent.ts';
import { ComputeError } from '../errors.ts';
import type { BootRequest, HostAgent, InstanceEvents } from '../host-agent.ts';
import { controlPlaneLoopbackPorts } from '../control-plane-ports.ts';
import { METADATA_SERVER_PORT } from '../instance-metadata.ts';
import { type NetworkMode, hostTagOf } from '../instance-network.ts';
import { createEventBuffer } from './event-buffer.ts';
import { type HostState, endpointList, readHostState, updateChannelEndpoint } from './host-state.ts';
import { type Frame, type Peer, createPeer } from './peer.ts';
import { CHANNEL_PATH, HEARTBEAT_MS } from './protocol.ts';
import { startWatchdog } from './watchdog.ts';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const INSTANCE_ID = /^[0-9]{1,20}$/;
const CONNECT_TIMEOUT_MS = 10_000;

export interface HostRunnerOptions {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly outbound: OutboundClient;
  /** Measured at each boot as the launcher build (the control plane's image database knows it). */
  readonly launcherBuild: string;
  /** Container runtimes to try; never the plain process, which would outlive the agent. */
  readonly runtimes?: readonly ('runc' | 'bwrap')[];
  readonly graceMs?: number;
  readonly clock?: Clock;
  /** Instance networking (`host run --network`): as the control plane's `compute.network`, default `auto`. */
  readonly network?: NetworkMode;
  /** The TPM that sealed the host key (default /dev/tpmrm0 when present). */
  readonly tpm?: string;
  /** Another agent in place of the embedded one (tests of the channel); it is handed the same credentials. */
  readonly agent?: (embedded: Parameters<typeof createEmbeddedHostAgent>[0]) => HostAgent;
}

export interface HostRunner {
  readonly state: HostState;
  /** Resolves when the channel is up (the first time, or again after a loss). */
  connected(): Promise<void>;
  /** Stops every instance (SIGTERM, then SIGKILL after the grace period), closes the channel, ends the watchdog. */
  close(): Promise<void>;
}

export async function startHostRunner(options: HostRunnerOptions): Promise<HostRunner> {
  let state = await readHostState(options.stateDir, {
    logger: options.logger,
    ...(options.tpm === undefined ? {} : { tpm: options.tpm }),
  });
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const instancesDir = join(options.stateDir, 'instances');
  const watchdog = startWatchdog(instancesDir);
  let peer: Peer | undefined;
  let stopped = false;
  let lostMs = 15_000;
  let lostTimer: NodeJS.Timeout | undefined;
  let onConnected: Array<() => void> = [];
  const local = new Set<string>();
  /** The deployment's endpoints and CA the control plane hands over for instances' /run/sealroom. */
  let endpoints: PlatformEndpoints | undefined;

  const call = async (op: string, args: Record<string, unknown>) => {
    if (!peer) throw new ComputeError('ERR_COMPUTE_HOST_CHANNEL', 'the control plane is not connected');
    return peer.call(op, args);
  };
  // Events wait here until the control plane acknowledges them: a channel outage loses none.
  const outbox = createEventBuffer();
  const agentOptions: Parameters<typeof createEmbeddedHostAgent>[0] = {
    dir: instancesDir,
    baseUrl: state.api,
    universeDomain: state.universeDomain,
    outbound: options.outbound,
    // The platform CA stays with the control plane: each boot's AK is certified there, for its instance only.
    platformCa: () => async (akPublicKey, instance) => {
      const spki = akPublicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      const cert = await call('certifyAk', { instanceId: instance.instanceId, akPublicKey: spki });
      return Buffer.from(String(cert), 'base64');
    },
    launcherBuild: options.launcherBuild,
    credentials: {
      accessToken: async (email) => String(await call('accessToken', { email })),
      scopedAccessToken: async (email, scopes) => {
        const token = (await call('scopedAccessToken', { email, scopes })) as {
          accessToken: string;
          expiresAt: number;
        };
        return { accessToken: String(token.accessToken), expiresAt: Number(token.expiresAt) };
      },
      idToken: async (email, audience, actor, extra) => {
        // format=full: the control plane writes the instance's claims itself; the host only names the instance.
        const engine = (
          extra?.google as { compute_engine?: { instance_id?: unknown; license_id?: unknown } } | undefined
        )?.compute_engine;
        const full = engine ? { fullFor: engine.instance_id, licenses: engine.license_id !== undefined } : {};
        return String(await call('idToken', { email, audience, actor, ...full }));
      },
    },
    clock,
    logger,
    runtimes: options.runtimes ?? ['runc', 'bwrap'],
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    platform: 'soft',
    endpoints: async () => endpoints,
    network: {
      mode: options.network ?? 'auto',
      // Whether the deployment accepts an unisolated instance is the host operator's call (`--network`).
      requireIsolation: false,
      hostTag: hostTagOf(options.stateDir),
      // A control plane on this machine's loopback (a test, a one-machine deployment) is bridged in.
      bridgePorts: () => controlPlaneLoopbackPorts(state.api, undefined, endpoints?.grpc),
      gatewayPorts: [METADATA_SERVER_PORT],
    },
  };
  const agent = options.agent ? options.agent(agentOptions) : createEmbeddedHostAgent(agentOptions);

  const eventsFor = (instanceId: string): InstanceEvents => {
    const send = (event: { kind: string } & Record<string, unknown>) => outbox.push(instanceId, event);
    return {
      status: (status, message) => {
        if (status === 'TERMINATED') local.delete(instanceId);
        send({ kind: 'status', status, message });
      },
      serial: (line) => send({ kind: 'serial', line }),
      workloadLog: (entry) => send({ kind: 'workloadLog', severity: entry.severity, message: entry.message }),
      booted: (bootCount, runtime, platform) =>
        send({ kind: 'booted', bootCount, runtime, ...(platform === undefined ? {} : { platform }) }),
      exited: (exitCode) => send({ kind: 'exited', exitCode }),
      network: (facts) => send({ kind: 'network', facts }),
    };
  };
  const powerOn = (request: BootRequest) => {
    if (!INSTANCE_ID.test(request.instanceId) || local.has(request.instanceId)) return;
    local.add(request.instanceId);
    logger.info({ instanceId: request.instanceId, instance: request.name, zone: request.zone }, 'booting an instance');
    agent.powerOn(request, eventsFor(request.instanceId));
  };
  const powerOff = async (instanceId: string, hard: boolean) => {
    await agent.powerOff(instanceId, { hard });
    local.delete(instanceId);
  };
  const stopAll = async (why: string) => {
    if (local.size > 0) logger.warn({ instances: local.size }, why);
    await Promise.all([...local].map((id) => powerOff(id, false)));
  };

  const armLost = () => {
    if (lostTimer || stopped) return;
    // The control plane marks this host's instances lost after as long: they must not run on unattended.
    lostTimer = setTimeout(() => {
      lostTimer = undefined;
      void stopAll('the control plane is unreachable: stopping instances');
    }, lostMs);
  };
  const disarmLost = () => {
    clearTimeout(lostTimer);
    lostTimer = undefined;
  };
  const wake = new AbortController();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  const onFrame = (frame: Frame) => {
    if (frame.type === 'ack' && typeof frame.instanceId === 'string')
      outbox.ack(frame.instanceId, frame.boot, frame.seq);
    if (frame.type === 'powerOn') powerOn(frame.request as BootRequest);
    if (frame.type === 'updateMetadata' && typeof frame.instanceId === 'string')
      agent.updateMetadata?.(frame.instanceId, frame.metadata as Record<string, string>);
    if ((frame.type === 'desired' || frame.type === 'endpoints') && frame.endpoints)
      endpoints = frame.endpoints as PlatformEndpoints;
    if (frame.type === 'desired') {
      if (typeof frame.lostMs === 'number' && frame.lostMs > 0) lostMs = frame.lostMs;
      if (frame.channelEndpoints !== undefined) remember(state.channelEndpoint, frame.channelEndpoints);
      const desired = (frame.instances as BootRequest[]).filter((r) => INSTANCE_ID.test(r.instanceId));
      const wanted = new Set(desired.map((r) => r.instanceId));
      // What the control plane no longer counts on this host stops; what it does and this host lacks boots.
      for (const id of [...local]) if (!wanted.has(id)) void powerOff(id, false);
      for (const request of desired) if (!local.has(request.instanceId)) powerOn(request);
    }
  };
  const onCall = async (op: string, frame: Frame): Promise<unknown> => {
    const instanceId = String(frame.instanceId);
    if (!INSTANCE_ID.test(instanceId)) throw new ComputeError('ERR_COMPUTE_BAD_REQUEST', 'bad instance id');
    switch (op) {
      case 'powerOff':
        await powerOff(instanceId, frame.hard === true);
        return undefined;
      case 'exec':
        return agent.exec(instanceId, (frame.command as unknown[]).map(String));
      case 'discard':
        await agent.discard(instanceId);
        return undefined;
      case 'tokenClaims':
        return agent.tokenClaims?.(instanceId);
      default:
        throw new ComputeError('ERR_COMPUTE_BAD_REQUEST', `unknown call ${op}`);
    }
  };

  /** Keeps the endpoint in use and every replica's, for the next reconnect (this run's and the next one's). */
  const remember = (endpoint: string, others: unknown) => {
    const channelEndpoints = endpointList(endpoint, others ?? state.channelEndpoints);
    if (endpoint === state.channelEndpoint && channelEndpoints.join(' ') === state.channelEndpoints.join(' ')) return;
    try {
      updateChannelEndpoint(options.stateDir, endpoint, channelEndpoints);
    } catch (error) {
      logger.warn({ error: (error as Error).message }, 'host state: channel endpoints not saved');
    }
    state = { ...state, channelEndpoint: endpoint, channelEndpoints };
  };

  const refreshEndpoint = async () => {
    try {
      const outbound = options.outbound.with({ trustedOrigins: [new URL(state.api).origin] });
      const response = await outbound.fetch(`${state.api}/v1/hosts:channel`);
      if (!response.ok) return;
      const { channelEndpoint, channelEndpoints } = (await response.json()) as {
        channelEndpoint?: unknown;
        channelEndpoints?: unknown;
      };
      if (typeof channelEndpoint === 'string' && /^https:\/\//.test(channelEndpoint))
        remember(channelEndpoint, channelEndpoints);
    } catch {}
  };

  const connectOnce = async (endpoint: string): Promise<void> => {
    const session = connect(endpoint, {
      ca: state.caPem,
      cert: state.certPem,
      key: state.keyPem,
      minVersion: 'TLSv1.3',
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new ComputeError('ERR_COMPUTE_HOST_CHANNEL', 'connect timed out')),
          CONNECT_TIMEOUT_MS,
        );
        session.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        session.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      const stream = session.request({
        ':method': 'POST',
        ':path': CHANNEL_PATH,
        'content-type': 'application/x-ndjson',
      });
      const status = await new Promise<number>((resolve, reject) => {
        stream.once('response', (headers) => resolve(Number(headers[':status'])));
        stream.once('error', reject);
      });
      if (status !== 200)
        throw new ComputeError('ERR_COMPUTE_HOST_CHANNEL', `the control plane refused the channel (HTTP ${status})`);
      const current = createPeer(stream, { onFrame, onCall });
      peer = current;
      remember(endpoint, undefined);
      disarmLost();
      logger.info({ host: state.name, pool: state.pool, endpoint }, 'host channel up');
      for (const resolve of onConnected) resolve();
      onConnected = [];
      const heartbeat = setInterval(() => current.send({ type: 'heartbeat', running: [...local] }), HEARTBEAT_MS);
      current.send({ type: 'hello', running: [...local], boot: outbox.boot });
      outbox.attach((frame) => current.send(frame));
      await current.closed;
      outbox.detach();
      clearInterval(heartbeat);
      peer = undefined;
      if (!stopped) {
        logger.warn({}, 'host channel lost; reconnecting');
        armLost();
      }
    } finally {
      session.destroy();
    }
  };

  const loop = (async () => {
    let attempt = 0;
    /** Which of the replicas' endpoints to try; the next one after a failure (its replica may be gone). */
    let next = 0;
    while (!stopped) {
      const started = clock.now();
      const endpoints = state.channelEndpoints;
      const endpoint = endpoints[next % endpoints.length] ?? state.channelEndpoint;
      try {
        await connectOnce(endpoint);
        next = 0;
      } catch (error) {
        logger.warn({ endpoint, error: (error as Error).message }, 'host channel: connection failed');
        armLost();
        await refreshEndpoint();
        next = state.channelEndpoints.indexOf(endpoint) + 1;
      }
      if (stopped) break;
      // A channel that stayed up a while resets the backoff.
      attempt = clock.now() - started > 10_000 ? 0 : attempt + 1;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(delay);
    }
  })();

  return {
    state,
    connected: () => (peer ? Promise.resolve() : new Promise<void>((resolve) => onConnected.push(resolve))),
    async close() {
      stopped = true;
      disarmLost();
      wake.abort();
      await stopAll('the host agent is stopping: stopping instances');
      await agent.close();
      peer?.close();
      await loop.catch(() => undefined);
      await watchdog.release();
    },
  };
}
