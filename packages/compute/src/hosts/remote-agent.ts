// The control plane's side of remote hosts: a HostAgent that places instances on connected hosts by pool = zone.
// With replicas on one database, the database says which replica holds each host's channel and which host runs
// each instance; a lifecycle call made on another replica is forwarded to the holder through notifications.
import { createPublicKey, type KeyObject, randomUUID } from 'node:crypto';
import type { InstanceInfo } from '@sealroom/attest';
import type { Clock, Logger, SqlNotifications } from '@sealroom/core';
import type { InstanceCredentials } from '../embedded-agent.ts';
import { ComputeError } from '../errors.ts';
import type { BootRequest, DecodedToken, ExecResult, HostAgent, InstanceEvents } from '../host-agent.ts';
import { fullClaims } from '../instance-metadata.ts';
import type { Frame, Peer } from './peer.ts';
import { type EventOrigin, type HostEvent, parseEventOrigin, parseHostEvent } from './protocol.ts';
import type { ChannelHold, EventMark, HostStore } from './store.ts';

/** The notification channels of replicas: placements or holds changed; a forwarded call or its reply. */
const STATE_CHANNEL = 'sealroom_compute_hosts';
const CALL_CHANNEL = 'sealroom_compute_host_calls';
/** A forwarded call not answered in this long is given up (the holder died; the host moves on its own). */
const FORWARD_TIMEOUT_MS = 60_000;
/** How often a replica says where its channel listener is; hosts are told those seen within four of these. */
const ANNOUNCE_MS = 30_000;
/** How long a replica taking a host over waits for the previous holder to hand over (it may be dead). */
const HANDOVER_WAIT_MS = 3_000;

export interface HostCluster {
  /** This replica's id in the channel holds. */
  readonly replica: string;
  readonly store: HostStore;
  readonly notifications: SqlNotifications;
  /** The recorder of an instance another replica placed (it is now on a host this replica holds). */
  readonly adopt: (instanceId: string) => Promise<InstanceEvents | undefined>;
}

export interface RemoteHostsOptions {
  readonly credentials: InstanceCredentials;
  /** Certifies an instance's attestation key with the platform CA, which stays on the control plane. */
  readonly certifyAk: (
    akPublicKey: KeyObject,
    instance: Omit<InstanceInfo, 'securityVersion' | 'isProduction'>,
  ) => Buffer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A host silent (or disconnected) this long is lost: its instances are marked so. */
  readonly lostMs: number;
  /** Where the recorded events' marks are kept (the shared database); in memory by default. */
  readonly marks?: Pick<HostStore, 'eventMarks' | 'saveEventMark' | 'deleteEventMarks'>;
  /** Replicas on one database; without it this process is the only control plane. */
  readonly cluster?: HostCluster;
}

/** Marks in this process only: a control plane with one process and no database (tests). */
function createMemoryMarks(): NonNullable<RemoteHostsOptions['marks']> {
  const all = new Map<string, Map<string, EventMark>>();
  return {
    eventMarks: async (host) => new Map(all.get(host) ?? []),
    async saveEventMark(host, instanceId, mark) {
      let marks = all.get(host);
      if (!marks) all.set(host, (marks = new Map()));
      const current = marks.get(instanceId);
      if (!current || current.boot !== mark.boot || current.seq < mark.seq) marks.set(instanceId, mark);
    },
    async deleteEventMarks(instanceId) {
      for (const marks of all.values()) marks.delete(instanceId);
    },
  };
}

/** One connected host, as the channel listener hands it over. */
export interface HostConnection {
  readonly name: string;
  readonly pool: string;
  readonly peer: Peer;
}

interface Placement {
  host: string;
  request: BootRequest;
  readonly events: InstanceEvents;
  /** Powered on and not yet reported off. */
  running: boolean;
}

export interface HostView {
  readonly name: string;
  readonly pool: string;
  readonly connected: boolean;
  readonly instances: readonly string[];
}

export interface RemoteHosts {
  readonly agent: HostAgent;
  /** Whether instances of this zone go to remote hosts (a host of that pool joined). */
  servesZone(zone: string): boolean;
  /** A host of `pool` joined (or joined again). */
  addPool(pool: string): void;
  attach(connection: HostConnection): void;
  /** A frame from a host that is not a call (events, heartbeats). */
  onFrame(host: string, frame: Frame): void;
  /** A host's call (tokens, AK certificates), checked against what is placed on it. */
  onCall(host: string, op: string, frame: Frame): Promise<unknown>;
  view(): HostView[];
  /** The deployment's endpoints and CA for instances' /run/sealroom; sent to every host, now and on connect. */
  setEndpoints(endpoints: Readonly<Record<string, unknown>>): void;
  /** Reads the replicas' shared state (placements, holds, pools); before instances are recovered. */
  load(): Promise<void>;
  /** This replica's channel listener is at `endpoint`: hosts learn every replica's (join, desired state). */
  announce(endpoint: string): Promise<void>;
  /** The channel endpoints of the live replicas, this one's first. */
  channelEndpoints(): Promise<string[]>;
  close(): Promise<void>;
}

interface ForwardedCall {
  readonly kind: 'call';
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly op: 'powerOn' | 'powerOff' | 'updateMetadata' | 'discard' | 'exec' | 'tokenClaims';
  readonly instanceId: string;
  readonly hard?: boolean;
  /** The command of a forwarded `exec`. */
  readonly command?: readonly string[];
}

/** The previous holder of a host saved what it recorded of it: the new holder may read the marks. */
interface Released {
  readonly kind: 'released';
  readonly host: string;
  readonly to: string;
}

interface ForwardedReply {
  readonly kind: 'reply';
  readonly id: string;
  readonly to: string;
  readonly ok: boolean;
  readonly message?: string;
  /** What the call returned (an exec's output, a token's claims). */
  readonly result?: unknown;
}

/**
 * A reply's room in one notification (PostgreSQL's NOTIFY payload holds under 8,000 bytes): a forwarded exec's
 * output is cut to fit, saying so.
 */
const REPLY_BYTES = 7_000;

/** The reply of a forwarded call, cut to fit one notification. */
export function fitReply(reply: ForwardedReply): ForwardedReply {
  const size = (r: ForwardedReply) => Buffer.byteLength(JSON.stringify(r));
  if (size(reply) <= REPLY_BYTES) return reply;
  const result = reply.result as Partial<ExecResult> | undefined;
  if (typeof result?.stdout === 'string' && typeof result.stderr === 'string') {
    const note = '[the output is cut to its end: run the command on the replica holding the host for all of it]\n';
    const room = Math.max(
      0,
      REPLY_BYTES - size({ ...reply, result: { ...result, stdout: '', stderr: '' } }) - 2 * note.length,
    );
    // JSON may escape a character into six bytes: a sixth of the room is always enough.
    const keep = Math.floor(room / 12);
    const cut = (text: string) => (text.length > keep ? `${note}${text.slice(-keep)}` : text);
    return { ...reply, result: { ...result, stdout: cut(result.stdout), stderr: cut(result.stderr) } };
  }
  return { kind: 'reply', id: reply.id, to: reply.to, ok: false, message: 'the answer is too large to forward' };
}

export function createRemoteHosts(options: RemoteHostsOptions): RemoteHosts {
  const { logger, cluster } = options;
  const me = cluster?.replica ?? randomUUID();
  const pools = new Set<string>();
  const connections = new Map<string, HostConnection & { lastFrame: number; renewedAt: number }>();
  const markStore = options.marks ?? createMemoryMarks();
  /** Per host: the last event recorded of each instance (what this process dispatched; the database may lag). */
  const recorded = new Map<string, Map<string, EventMark>>();
  /** Per host: events are handled one after another, once the host's marks (and placements) are loaded. */
  const chains = new Map<string, Promise<void>>();
  /** Instances (host and id) with an acknowledgement on its way, and those that got more events meanwhile. */
  const acking = new Set<string>();
  const reAck = new Set<string>();
  /** The instances on the hosts whose channel this process holds. */
  const placements = new Map<string, Placement>();
  /** Which host keeps each instance's disk, for discard after a stop. */
  const homes = new Map<string, string>();
  const lostTimers = new Map<string, NodeJS.Timeout>();
  /** The replicas' shared state as last read: every placement, every hold, each host's pool. */
  let shared = {
    placements: new Map<string, string>(),
    holds: new Map<string, ChannelHold>(),
    hostPools: new Map<string, string>(),
  };
  const forwarded = new Map<
    string,
    { resolve: (result: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  let endpoints: Readonly<Record<string, unknown>> | undefined;
  let closed = false;
  /** Set by `load`: a module that never serves hosts (it was given its own agent) never sweeps either. */
  let loaded = false;
  const now = () => options.clock.now();

  /** Re-reads the shared state; calls made meanwhile read it again once more. */
  let reading: Promise<void> | undefined;
  let readAgain = false;
  const reload = async (): Promise<void> => {
    if (!cluster) return;
    if (reading) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      do {
        readAgain = false;
        const [rows, holds, hosts] = await Promise.all([
          cluster.store.placements(),
          cluster.store.channels(),
          cluster.store.listHosts(),
        ]);
        shared = {
          placements: new Map(rows.map((r) => [r.instanceId, r.host])),
          holds: new Map(holds.map((h) => [h.host, h])),
          hostPools: new Map(hosts.map((h) => [h.name, h.pool])),
        };
        for (const host of hosts) pools.add(host.pool);
        // A host that moved to another replica: this one lets its old channel go, without calling it lost.
        const mine = new Set([...connections.keys(), ...[...placements.values()].map((p) => p.host)]);
        for (const host of mine) {
          const hold = shared.holds.get(host);
          if (!hold || hold.replica === me || hold.expiresAt <= now()) continue;
          logger.info({ host, replica: hold.replica }, 'host moved to another replica');
          const connection = connections.get(host);
          // Out of the table first: no event of the old channel is recorded after the handover.
          connections.delete(host);
          connection?.peer.close();
          void handOver(host, hold.replica);
        }
      } while (readAgain);
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };
  const changed = async () => {
    if (!cluster) return;
    await cluster.notifications.publish(STATE_CHANNEL, '').catch((error: unknown) => {
      logger.warn({ error }, 'host state change not announced');
    });
  };
  const unsubscribers: Array<() => void> = [];
  if (cluster) {
    unsubscribers.push(
      cluster.notifications.subscribe(STATE_CHANNEL, () => {
        void reload().catch((error: unknown) => logger.warn({ error }, 'host state unreadable'));
      }),
      cluster.notifications.subscribe(CALL_CHANNEL, (payload) => void onForwarded(payload)),
    );
  }

  /** Whose channel the host is on: this replica, another (fresh hold), or none. */
  const holderOf = (host: string): 'here' | string | undefined => {
    if (connections.has(host)) return 'here';
    const hold = shared.holds.get(host);
    return hold && hold.expiresAt > now() && hold.replica !== me ? hold.replica : undefined;
  };
  /** The replica holding the channel of the host an instance is placed on (`here`, another, or none known). */
  const holderOfInstance = (instanceId: string): 'here' | string | undefined => {
    if (placements.has(instanceId)) return 'here';
    const host = shared.placements.get(instanceId);
    return host === undefined ? undefined : holderOf(host);
  };

  const watch = setInterval(
    () => {
      for (const connection of connections.values())
        if (now() - connection.lastFrame > options.lostMs) {
          logger.warn({ host: connection.name }, 'host silent past the heartbeat limit: closing its channel');
          connection.peer.close();
        }
      if (cluster) void sweep();
    },
    Math.max(250, Math.floor(options.lostMs / 4)),
  );
  watch.unref();

  const loadOf = (host: string) =>
    cluster
      ? [...shared.placements.values()].filter((h) => h === host).length
      : [...placements.values()].filter((p) => p.host === host && p.running).length;

  /**
   * The host went to another replica, and this one is alive: what it recorded is written and its marks saved
   * before the other reads them, so the host's replay is not recorded twice; then the other is told.
   */
  const handOver = async (host: string, to: string) => {
    const mine = [...placements.values()].filter((p) => p.host === host);
    yieldHost(host);
    try {
      await Promise.all(mine.map((p) => p.events.settled?.()));
      for (const [instanceId, mark] of recorded.get(host) ?? []) await markStore.saveEventMark(host, instanceId, mark);
    } catch (error) {
      logger.warn({ host, error }, 'host handover: marks not saved');
    }
    const released: Released = { kind: 'released', host, to };
    await cluster?.notifications.publish(CALL_CHANNEL, JSON.stringify(released)).catch(() => undefined);
  };
  /** Hosts this replica claimed from a live one, waiting for its `released`. */
  const handovers = new Map<string, () => void>();

  /** The host went to another replica: its instances are that replica's to report now. */
  const yieldHost = (host: string) => {
    clearTimeout(lostTimers.get(host));
    lostTimers.delete(host);
    for (const [id, placement] of placements) if (placement.host === host) placements.delete(id);
  };

  const reportLost = (events: InstanceEvents, host: string) => {
    events.serial(`sealroom: host ${host} lost: its agent stopped answering`);
    events.status('TERMINATED', `host lost: ${host}`);
  };

  const markLost = async (host: string) => {
    lostTimers.delete(host);
    if (connections.has(host)) return;
    if (cluster) {
      await reload();
      if (holderOf(host) !== undefined) {
        yieldHost(host);
        return;
      }
      // Every placement on the host, this replica's or not; the one replica that removes a row reports it.
      for (const [id, on] of shared.placements) {
        if (on !== host || !(await cluster.store.deletePlacement(id, host))) continue;
        const local = placements.get(id);
        placements.delete(id);
        const events = local?.events ?? (await cluster.adopt(id));
        if (events && local?.running !== false) reportLost(events, host);
      }
      yieldHost(host);
      await cluster.store.releaseChannel(host, me, now());
      await changed();
      return;
    }
    for (const [id, placement] of placements) {
      if (placement.host !== host) continue;
      placements.delete(id);
      if (!placement.running) continue;
      placement.running = false;
      reportLost(placement.events, host);
    }
  };

  /** Hosts whose holder lapsed (its replica died) and that came back to no replica are lost, by whoever sees it. */
  let sweeping = false;
  const sweep = async () => {
    if (!cluster || !loaded || sweeping || closed) return;
    sweeping = true;
    try {
      const holds = await cluster.store.channels();
      for (const hold of holds)
        if (hold.expiresAt + options.lostMs <= now() && !connections.has(hold.host) && !lostTimers.has(hold.host))
          await markLost(hold.host);
    } catch (error) {
      logger.warn({ error }, 'host sweep failed');
    } finally {
      sweeping = false;
    }
  };

  const detach = (connection: HostConnection) => {
    if (connections.get(connection.name)?.peer !== connection.peer) return;
    connections.delete(connection.name);
    chains.delete(connection.name);
    logger.warn({ host: connection.name }, 'host channel closed');
    if (closed) return;
    const timer = setTimeout(() => void markLost(connection.name), options.lostMs);
    timer.unref();
    lostTimers.set(connection.name, timer);
  };

  const placementOn = (host: string, instanceId: unknown): Placement => {
    const placement = typeof instanceId === 'string' ? placements.get(instanceId) : undefined;
    // The same answer for an instance of another host and for no instance: a host learns nothing of others.
    if (!placement || placement.host !== host || !placement.running)
      throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'The instance is not placed on this host.');
    return placement;
  };

  const accountOn = (host: string, email: unknown): string => {
    for (const placement of placements.values())
      if (placement.host === host && placement.running && placement.request.serviceAccountEmail === email)
        return placement.request.serviceAccountEmail;
    throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'No instance on this host runs as that service account.');
  };

  const callHost = async (instanceId: string, op: string, args: Record<string, unknown>) => {
    const host = placements.get(instanceId)?.host ?? homes.get(instanceId);
    const connection = host === undefined ? undefined : connections.get(host);
    if (!connection) return undefined;
    return connection.peer.call(op, { instanceId, ...args });
  };

  /** Sends a call to the replica holding the host's channel; resolves when it answered. */
  const forward = (to: string, call: Omit<ForwardedCall, 'kind' | 'id' | 'from' | 'to'>): Promise<unknown> => {
    if (!cluster) return Promise.resolve(undefined);
    const id = randomUUID();
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        forwarded.delete(id);
        reject(new ComputeError('ERR_COMPUTE_HOST_CHANNEL', `the replica holding the host did not answer ${call.op}`));
      }, FORWARD_TIMEOUT_MS);
      timer.unref();
      forwarded.set(id, { resolve, reject, timer });
      const body: ForwardedCall = { kind: 'call', id, from: me, to, ...call };
      cluster.notifications.publish(CALL_CHANNEL, JSON.stringify(body)).catch((error: unknown) => {
        clearTimeout(timer);
        forwarded.delete(id);
        reject(error as Error);
      });
    });
  };

  /** A call another replica forwarded here (this one holds the host's channel), or the reply to one of ours. */
  const onForwarded = async (payload: string) => {
    if (!cluster || payload === '*') return;
    let message: ForwardedCall | ForwardedReply | Released;
    try {
      message = JSON.parse(payload) as ForwardedCall | ForwardedReply | Released;
    } catch {
      return;
    }
    if (message.to !== me) return;
    if (message.kind === 'released') {
      handovers.get(message.host)?.();
      return;
    }
    if (message.kind === 'reply') {
      const waiting = forwarded.get(message.id);
      if (!waiting) return;
      forwarded.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(new ComputeError('ERR_COMPUTE_HOST_CHANNEL', message.message ?? 'the forwarded call failed'));
      return;
    }
    if (message.kind !== 'call' || typeof message.instanceId !== 'string') return;
    let reply: ForwardedReply;
    try {
      const result = await runForwarded(message);
      reply = {
        kind: 'reply',
        id: message.id,
        to: message.from,
        ok: true,
        ...(result === undefined ? {} : { result }),
      };
    } catch (error) {
      reply = { kind: 'reply', id: message.id, to: message.from, ok: false, message: (error as Error).message };
    }
    await cluster.notifications.publish(CALL_CHANNEL, JSON.stringify(fitReply(reply))).catch(() => undefined);
  };

  const placementRequest = async (instanceId: string) => {
    if (!cluster) return undefined;
    const row = (await cluster.store.placements()).find((p) => p.instanceId === instanceId);
    return row ? { host: row.host, request: JSON.parse(row.request) as BootRequest } : undefined;
  };

  const runForwarded = async (call: ForwardedCall): Promise<unknown> => {
    const { instanceId } = call;
    switch (call.op) {
      case 'exec':
        return callHost(instanceId, 'exec', { command: (call.command ?? []).map(String) });
      case 'tokenClaims':
        if (!placements.get(instanceId)?.running) return undefined;
        return callHost(instanceId, 'tokenClaims', {});
      case 'powerOn': {
        const row = await placementRequest(instanceId);
        const connection = row ? connections.get(row.host) : undefined;
        if (!row || !connection || placements.get(instanceId)?.running) return;
        const events = await cluster?.adopt(instanceId);
        if (!events) return;
        placements.set(instanceId, { host: row.host, request: row.request, events, running: true });
        homes.set(instanceId, row.host);
        connection.peer.send({ type: 'powerOn', request: row.request });
        return;
      }
      case 'powerOff': {
        const placement = placements.get(instanceId);
        await agent.powerOff(instanceId, { hard: call.hard === true });
        // What the host reported while stopping is written before the caller's replica marks the instance.
        await placement?.events.settled?.();
        return;
      }
      case 'updateMetadata': {
        const row = await placementRequest(instanceId);
        const placement = placements.get(instanceId);
        if (!row || !placement) return;
        placement.request = row.request;
        connections
          .get(placement.host)
          ?.peer.send({ type: 'updateMetadata', instanceId, metadata: row.request.metadata });
        return;
      }
      case 'discard':
        if (homes.has(instanceId)) await agent.discard(instanceId);
        return;
    }
  };

  const persistPlacement = async (instanceId: string, host: string, request: BootRequest) => {
    if (!cluster) return;
    await cluster.store.putPlacement({ instanceId, host, request: JSON.stringify(request) });
    shared.placements.set(instanceId, host);
    await changed();
  };
  const forgetPlacement = async (instanceId: string) => {
    if (!cluster) return;
    await cluster.store.deletePlacement(instanceId);
    shared.placements.delete(instanceId);
    await changed();
  };

  /** Acknowledges the instance's events up to its mark once they are recorded; one acknowledgement in flight. */
  const acknowledge = (connection: HostConnection, instanceId: string, events: InstanceEvents | undefined) => {
    const key = `${connection.name}\0${instanceId}`;
    if (acking.has(key)) {
      reAck.add(key);
      return;
    }
    acking.add(key);
    void (async () => {
      try {
        do {
          reAck.delete(key);
          const mark = recorded.get(connection.name)?.get(instanceId);
          if (!mark) return;
          // Everything dispatched up to `mark` is written before the host may forget it.
          await events?.settled?.();
          await markStore.saveEventMark(connection.name, instanceId, mark);
          connection.peer.send({ type: 'ack', instanceId, boot: mark.boot, seq: mark.seq });
        } while (reAck.has(key));
      } catch (error) {
        logger.warn({ host: connection.name, instanceId, error }, 'host events not acknowledged');
      } finally {
        acking.delete(key);
      }
    })();
  };

  /** Whether this event was recorded already (a replay after a reconnect); otherwise it is noted as recorded. */
  const isReplay = (host: string, instanceId: string, origin: EventOrigin): boolean => {
    let known = recorded.get(host);
    if (!known) recorded.set(host, (known = new Map()));
    const mark = known.get(instanceId);
    if (mark && mark.boot === origin.boot && origin.seq <= mark.seq) return true;
    known.set(instanceId, origin);
    return false;
  };

  const recordEvent = (connection: HostConnection, frame: Frame) => {
    const host = connection.name;
    if (connections.get(host)?.peer !== connection.peer) return;
    const event = parseHostEvent(frame);
    if (!event) return;
    const origin = parseEventOrigin(frame);
    if (origin && isReplay(host, event.instanceId, origin)) {
      acknowledge(connection, event.instanceId, undefined);
      return;
    }
    const placement = placements.get(event.instanceId);
    if (placement?.host === host) dispatch(placement, event);
    // Acknowledged even when not recorded (an instance no longer placed there): the host forgets it.
    if (origin) acknowledge(connection, event.instanceId, placement?.host === host ? placement.events : undefined);
  };

  const dispatch = (placement: Placement, event: HostEvent) => {
    const { events } = placement;
    switch (event.kind) {
      case 'status':
        if (event.status === 'TERMINATED' && placement.running) {
          placement.running = false;
          // The host no longer runs it: no replica sends it in a desired state again.
          void forgetPlacement(event.instanceId).catch((error: unknown) =>
            logger.warn({ instanceId: event.instanceId, error }, 'placement not removed'),
          );
        }
        events.status(event.status, event.message);
        return;
      case 'serial':
        events.serial(event.line);
        return;
      case 'workloadLog':
        events.workloadLog({ severity: event.severity, message: event.message });
        return;
      case 'booted':
        events.booted(event.bootCount, event.runtime, event.platform);
        return;
      case 'exited':
        events.exited(event.exitCode);
        return;
      case 'network':
        events.network?.(event.facts);
        return;
    }
  };

  const agent: HostAgent = {
    powerOn(request, events) {
      const live = new Map<string, string>();
      for (const c of connections.values()) live.set(c.name, c.pool);
      for (const [host, pool] of shared.hostPools) if (holderOf(host) !== undefined) live.set(host, pool);
      const candidates = [...live].filter(([, pool]) => pool === request.zone).map(([name]) => name);
      const chosen = candidates.sort((a, b) => loadOf(a) - loadOf(b) || a.localeCompare(b))[0];
      if (!chosen) {
        events.serial(`sealroom: no host of pool ${request.zone} is connected`);
        events.status('TERMINATED', `no host of pool ${request.zone} is connected`);
        return;
      }
      homes.set(request.instanceId, chosen);
      events.serial(`sealroom: placed on host ${chosen} (pool ${request.zone})`);
      const connection = connections.get(chosen);
      if (connection) placements.set(request.instanceId, { host: chosen, request, events, running: true });
      else shared.placements.set(request.instanceId, chosen);
      // Written first: whichever replica holds the host next sends it in the desired state, so it boots once.
      const persisted = cluster ? persistPlacement(request.instanceId, chosen, request) : undefined;
      if (!persisted) {
        connection?.peer.send({ type: 'powerOn', request });
        return;
      }
      void persisted
        .then(async () => {
          if (connection) connections.get(chosen)?.peer.send({ type: 'powerOn', request });
          else {
            const holder = holderOf(chosen);
            if (holder && holder !== 'here') await forward(holder, { op: 'powerOn', instanceId: request.instanceId });
          }
        })
        .catch((error: unknown) =>
          logger.warn({ instanceId: request.instanceId, host: chosen, error }, 'the power-on did not reach its host'),
        );
    },
    async powerOff(instanceId, powerOptions = {}) {
      const placement = placements.get(instanceId);
      if (!placement) {
        const host = shared.placements.get(instanceId);
        if (host === undefined) return;
        const holder = holderOf(host);
        // The host's channel is on another replica: it stops the instance; without an answer the placement
        // goes anyway, and the host stops the instance when its next desired state lacks it.
        if (holder && holder !== 'here')
          await forward(holder, { op: 'powerOff', instanceId, hard: powerOptions.hard === true }).catch(
            (error: unknown) => logger.warn({ instanceId, error }, 'the forwarded power-off was not confirmed'),
          );
        await forgetPlacement(instanceId);
        return;
      }
      const connection = connections.get(placement.host);
      // A host that drops mid-call gets the desired state without this instance when it reconnects, and stops it.
      if (connection)
        await connection.peer
          .call('powerOff', { instanceId, hard: powerOptions.hard === true })
          .catch((error: unknown) => logger.warn({ instanceId, error }, 'the host did not confirm the power-off'));
      placement.running = false;
      placements.delete(instanceId);
      await forgetPlacement(instanceId);
    },
    async exec(instanceId, command) {
      const holder = holderOfInstance(instanceId);
      const result = (
        holder && holder !== 'here'
          ? await forward(holder, { op: 'exec', instanceId, command })
          : await callHost(instanceId, 'exec', { command })
      ) as ExecResult | undefined;
      if (!result) throw new ComputeError('ERR_COMPUTE_EXEC_UNAVAILABLE', 'The host of the instance is not connected.');
      return result;
    },
    async discard(instanceId) {
      if (!homes.has(instanceId) && cluster) {
        // Another replica placed it: whichever holds its host's channel (and knows it) discards.
        for (const hold of shared.holds.values())
          if (hold.replica !== me) await forward(hold.replica, { op: 'discard', instanceId }).catch(() => undefined);
      }
      await callHost(instanceId, 'discard', {}).catch((error: unknown) =>
        logger.warn({ instanceId, error }, 'the host could not discard the instance'),
      );
      for (const known of recorded.values()) known.delete(instanceId);
      await markStore
        .deleteEventMarks(instanceId)
        .catch((error: unknown) => logger.warn({ instanceId, error }, 'host event marks not deleted'));
      homes.delete(instanceId);
      placements.delete(instanceId);
    },
    async tokenClaims(instanceId) {
      const holder = holderOfInstance(instanceId);
      // The replica holding the host's channel asks it (the claims of the token its instance holds).
      if (holder && holder !== 'here')
        return (await forward(holder, { op: 'tokenClaims', instanceId })) as DecodedToken | undefined;
      if (!placements.get(instanceId)?.running) return undefined;
      return (await callHost(instanceId, 'tokenClaims', {})) as DecodedToken | undefined;
    },
    updateMetadata(instanceId, metadata) {
      const placement = placements.get(instanceId);
      if (placement) {
        // Kept for the desired state a reconnecting host receives, and sent now to its metadata server.
        placement.request = { ...placement.request, metadata };
        connections.get(placement.host)?.peer.send({ type: 'updateMetadata', instanceId, metadata });
        void persistPlacement(instanceId, placement.host, placement.request).catch(() => undefined);
        return;
      }
      const host = shared.placements.get(instanceId);
      if (host === undefined || !cluster) return;
      void (async () => {
        const row = await placementRequest(instanceId);
        if (!row) return;
        await persistPlacement(instanceId, row.host, { ...row.request, metadata });
        const holder = holderOf(row.host);
        if (holder && holder !== 'here') await forward(holder, { op: 'updateMetadata', instanceId });
      })().catch((error: unknown) => logger.warn({ instanceId, error }, 'the metadata did not reach the host'));
    },
    isRunning(instanceId) {
      return placements.get(instanceId)?.running === true || shared.placements.has(instanceId);
    },
    async close() {
      closed = true;
      clearInterval(watch);
      for (const unsubscribe of unsubscribers) unsubscribe();
      for (const timer of lostTimers.values()) clearTimeout(timer);
      lostTimers.clear();
      for (const waiting of forwarded.values()) clearTimeout(waiting.timer);
      forwarded.clear();
      // The holds are left to lapse: the hosts reconnect to another replica, which takes them over.
      for (const connection of connections.values()) connection.peer.close();
      connections.clear();
    },
  };

  /** What the host should run, sent on every connect: it stops anything else and boots what it lacks. */
  const sendDesired = async (connection: HostConnection) => {
    if (cluster) {
      const before = (await cluster.store.channels()).find((h) => h.host === connection.name);
      const from = before && before.replica !== me && before.expiresAt > now() ? before.replica : undefined;
      const released = from ? waitForRelease(connection.name) : undefined;
      await cluster.store.claimChannel(connection.name, me, now() + options.lostMs);
      await changed();
      // A live previous holder saves what it recorded first; a dead one never answers, and is not waited for long.
      await released;
      for (const row of await cluster.store.placements()) {
        if (row.host !== connection.name || placements.has(row.instanceId)) continue;
        const events = await cluster.adopt(row.instanceId);
        if (!events) continue;
        const request = JSON.parse(row.request) as BootRequest;
        placements.set(row.instanceId, { host: row.host, request, events, running: true });
        homes.set(row.instanceId, row.host);
      }
    }
    if (connections.get(connection.name)?.peer !== connection.peer) return;
    const desired = [...placements.values()].filter((p) => p.host === connection.name && p.running);
    const replicas = cluster ? await channelEndpoints() : undefined;
    if (connections.get(connection.name)?.peer !== connection.peer) return;
    connection.peer.send({
      type: 'desired',
      instances: desired.map((p) => p.request),
      lostMs: options.lostMs,
      ...(endpoints ? { endpoints } : {}),
      ...(replicas && replicas.length > 0 ? { channelEndpoints: replicas } : {}),
    });
    logger.info({ host: connection.name, pool: connection.pool, desired: desired.length }, 'host connected');
  };

  const waitForRelease = (host: string) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        handovers.delete(host);
        resolve();
      };
      const timer = setTimeout(done, HANDOVER_WAIT_MS);
      timer.unref();
      handovers.set(host, done);
    });

  /** What another replica (or an earlier channel) recorded: the host replays what it has no acknowledgement of. */
  const loadMarks = async (host: string) => {
    const stored = await markStore.eventMarks(host);
    const known = recorded.get(host) ?? new Map<string, EventMark>();
    for (const [id, mark] of stored) {
      const mine = known.get(id);
      if (!mine || mine.boot !== mark.boot || mine.seq < mark.seq) known.set(id, mark);
    }
    recorded.set(host, known);
  };

  let announced: string | undefined;
  const channelEndpoints = async (): Promise<string[]> => {
    if (!cluster) return announced ? [announced] : [];
    const all = await cluster.store.replicaEndpoints(now() - 4 * ANNOUNCE_MS);
    return [...new Set([...(announced ? [announced] : []), ...all])];
  };
  let announceTimer: NodeJS.Timeout | undefined;

  return {
    agent,
    servesZone: (zone) => pools.has(zone),
    addPool: (pool) => void pools.add(pool),
    attach(connection) {
      pools.add(connection.pool);
      const previous = connections.get(connection.name);
      if (previous) previous.peer.close();
      clearTimeout(lostTimers.get(connection.name));
      lostTimers.delete(connection.name);
      connections.set(connection.name, { ...connection, lastFrame: now(), renewedAt: now() });
      void connection.peer.closed.then(() => detach(connection));
      // Without replicas the desired state goes out at once; with them, after the hold and placements are read.
      const desired = sendDesired(connection);
      // With replicas the marks are read once the previous holder handed over; alone, at once.
      const ready = cluster
        ? desired.then(() => loadMarks(connection.name))
        : Promise.all([desired, loadMarks(connection.name)]).then(() => undefined);
      chains.set(
        connection.name,
        ready.catch((error: unknown) => {
          logger.error({ host: connection.name, error }, 'host state unreadable: closing its channel');
          connection.peer.close();
        }),
      );
    },
    onFrame(host, frame) {
      const connection = connections.get(host);
      if (!connection) return;
      connection.lastFrame = now();
      if (cluster && now() - connection.renewedAt > options.lostMs / 3) {
        connection.renewedAt = now();
        void cluster.store
          .renewChannel(host, me, now() + options.lostMs)
          .then((held) => {
            if (!held && connections.get(host)?.peer === connection.peer) {
              logger.warn({ host }, 'another replica holds this host now: closing this channel');
              yieldHost(host);
              connection.peer.close();
            }
          })
          .catch((error: unknown) => logger.warn({ host, error }, 'host hold not renewed'));
      }
      if (frame.type !== 'event') return;
      const chain = (chains.get(host) ?? Promise.resolve()).then(() => recordEvent(connection, frame));
      chains.set(host, chain);
    },
    async onCall(host, op, frame) {
      const connection = connections.get(host);
      if (connection) connection.lastFrame = now();
      switch (op) {
        case 'accessToken':
          // Only the account of an instance running on this host: a host cannot borrow another's.
          return options.credentials.accessToken(accountOn(host, frame.email));
        case 'scopedAccessToken': {
          const { scopes } = frame;
          if (
            !Array.isArray(scopes) ||
            scopes.length > 32 ||
            !scopes.every((s) => typeof s === 'string' && s.length < 256)
          )
            throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'The access token request is malformed.');
          const email = accountOn(host, frame.email);
          if (options.credentials.scopedAccessToken) return options.credentials.scopedAccessToken(email, scopes);
          return {
            accessToken: await options.credentials.accessToken(email),
            expiresAt: options.clock.now() + 3599_000,
          };
        }
        case 'idToken': {
          const { email, audience } = frame;
          if (typeof email !== 'string' || typeof audience !== 'string' || audience.length > 2048)
            throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'The ID token request is malformed.');
          // The actor is an account of an instance on this host; impersonating another is IAM's decision.
          const actor = accountOn(host, frame.actor);
          if (frame.fullFor === undefined) return options.credentials.idToken(email, audience, actor);
          // format=full: the instance's claims come from what was placed there, never from the host's say-so.
          const placement = placementOn(host, frame.fullFor);
          if (placement.request.serviceAccountEmail !== actor)
            throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'The instance does not run as that account.');
          return options.credentials.idToken(
            email,
            audience,
            actor,
            fullClaims(placement.request, frame.licenses === true),
          );
        }
        case 'certifyAk': {
          const placement = placementOn(host, frame.instanceId);
          if (typeof frame.akPublicKey !== 'string' || frame.akPublicKey.length > 4096)
            throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'The AK certification request is malformed.');
          const key = createPublicKey({ key: Buffer.from(frame.akPublicKey, 'base64'), format: 'der', type: 'spki' });
          const { request } = placement;
          const cert = options.certifyAk(key, {
            zone: request.zone,
            projectId: request.projectId,
            projectNumber: request.projectNumber,
            instanceName: request.name,
            instanceId: request.instanceId,
          });
          return cert.toString('base64');
        }
        default:
          throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'Unknown host call.');
      }
    },
    view() {
      const names = new Set([
        ...connections.keys(),
        ...[...placements.values()].map((p) => p.host),
        ...shared.placements.values(),
        ...[...shared.holds.keys()].filter((h) => holderOf(h) !== undefined),
      ]);
      return [...names].sort().map((name) => ({
        name,
        pool: connections.get(name)?.pool ?? shared.hostPools.get(name) ?? '',
        connected: holderOf(name) !== undefined,
        instances: cluster
          ? [...shared.placements].filter(([, h]) => h === name).map(([id]) => id)
          : [...placements.entries()].filter(([, p]) => p.host === name && p.running).map(([id]) => id),
      }));
    },
    setEndpoints(value) {
      endpoints = value;
      for (const connection of connections.values()) connection.peer.send({ type: 'endpoints', endpoints: value });
    },
    async load() {
      await reload();
      loaded = true;
    },
    async announce(endpoint) {
      announced = endpoint;
      if (!cluster) return;
      const put = () =>
        cluster.store
          .putReplicaEndpoint(me, endpoint, now())
          .catch((error: unknown) => logger.warn({ error }, 'replica endpoint not recorded'));
      await put();
      clearInterval(announceTimer);
      announceTimer = setInterval(() => void put(), ANNOUNCE_MS);
      announceTimer.unref();
    },
    channelEndpoints,
    close: async () => {
      clearInterval(announceTimer);
      await agent.close();
    },
  };
}

/** Instances of zones a remote pool serves go to remote hosts; every other zone stays on the embedded host. */
export function createRoutingAgent(embedded: HostAgent, remote: RemoteHosts): HostAgent {
  const remoteIds = new Set<string>();
  // Remote when this process placed it on a host, or when any replica did (the shared placements).
  const pick = (instanceId: string) =>
    remoteIds.has(instanceId) || remote.agent.isRunning(instanceId) ? remote.agent : embedded;
  return {
    powerOn(request, events) {
      if (remote.servesZone(request.zone)) {
        remoteIds.add(request.instanceId);
        remote.agent.powerOn(request, events);
      } else {
        remoteIds.delete(request.instanceId);
        embedded.powerOn(request, events);
      }
    },
    powerOff: (instanceId, options) => pick(instanceId).powerOff(instanceId, options),
    exec: (instanceId, command) => pick(instanceId).exec(instanceId, command),
    async discard(instanceId) {
      await pick(instanceId).discard(instanceId);
      remoteIds.delete(instanceId);
    },
    async tokenClaims(instanceId) {
      return pick(instanceId).tokenClaims?.(instanceId);
    },
    updateMetadata: (instanceId, metadata) => pick(instanceId).updateMetadata?.(instanceId, metadata),
    isRunning: (instanceId) => pick(instanceId).isRunning(instanceId),
    async setFirewall(instanceId, rules) {
      await pick(instanceId).setFirewall?.(instanceId, rules);
    },
    instanceNetwork: (instanceId) => pick(instanceId).instanceNetwork?.(instanceId),
    // What stopping this server stops: the instances it runs itself (a remote host's stop with their agent).
    runningCount: () => embedded.runningCount?.() ?? 0,
    async close() {
      await Promise.all([embedded.close(), remote.close()]);
    },
  };
}
