// The compute service as a ServiceFactory: the instances API over SQL, and the embedded host agent.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type PlatformCa, loadOrCreatePlatformCa } from '@sealroom/attest';
import { launcherBuildDigest } from '@sealroom/launcher';
import { type Caller, scheduleLeased, toRfc3339 } from '@sealroom/core';
import { createIdTokenIssuer, createServiceAccess, createSqlServiceAccountStore } from '@sealroom/iam';
import {
  loadOrCreateDeploymentTls,
  type ServiceContext,
  type ServiceFactory,
  type ServiceModule,
  type ServingEndpoints,
} from '@sealroom/transport';
import { type ComputeConfig, loadComputeConfig } from './config.ts';
import { type InstanceCredentials, createEmbeddedHostAgent } from './embedded-agent.ts';
import { ComputeError } from './errors.ts';
import type { HostAgent } from './host-agent.ts';
import { computeRoutes } from './http.ts';
import { type HardwareSettings, type PlatformKind, type TpmSettings, resolvePlatform } from './platforms.ts';
import { createSerialStreams } from './serial-stream.ts';
import { type InstanceService, type ServiceAccountLookup, createInstanceService } from './service.ts';
import type { InstanceStatus } from './instance.types.ts';
import { openSqlInstanceStore } from './store.ts';
import { METADATA_SERVER_PORT } from './instance-metadata.ts';
import { controlPlaneLoopbackPorts } from './control-plane-ports.ts';
import { hostTagOf } from './instance-network.ts';
import { firewallRoutes } from './firewall-http.ts';
import { createFirewallService } from './firewall-service.ts';
import { createSqlFirewallStore } from './firewall-store.ts';
import { createHostEnrolment } from './hosts/enrolment.ts';
import { hostRoutes } from './hosts/http.ts';
import { type HostListener, startHostListener } from './hosts/listener.ts';
import { createRemoteHosts, createRoutingAgent } from './hosts/remote-agent.ts';
import { openSqlHostStore } from './hosts/store.ts';

const ACCESS_TOKEN_LIFETIME_MS = 3600_000;
/** A cached access token is renewed when less than this is left. */
const ACCESS_TOKEN_RENEW_MS = 300_000;
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const WORKLOAD_LOG_ID = 'confidential-space-launcher';
/** Every status, so a scrape shows 0 rather than no series for a status no instance has now. */
const INSTANCE_STATUSES: readonly InstanceStatus[] = ['PROVISIONING', 'RUNNING', 'STOPPING', 'TERMINATED'];

export interface ComputeModuleOptions {
  /** Another host agent (tests, or a remote host); the embedded one by default. */
  readonly agent?: HostAgent;
  /** The platform CA for soft boots; by default the one in the state directory the verifier trusts in dev mode. */
  readonly platformCa?: PlatformCa;
  /** Passed to the embedded agent (tests shorten the grace period). */
  readonly graceMs?: number;
  readonly runtimes?: readonly ('runc' | 'bwrap' | 'process')[];
  /** The compute section of the configuration; SEALROOM_COMPUTE_* by default. */
  readonly config?: ComputeConfig;
  /** The platform and TPM, overriding the configuration (tests). */
  readonly platform?: PlatformKind;
  readonly tpm?: TpmSettings;
  /**
   * Hand workloads the deployment's endpoints and CA (/run/sealroom) once the server listens (`serving`). Only a
   * module run by `sealroom serve` is told; one without listeners (tests) gives instances the metadata server only.
   */
  readonly platformEndpoints?: boolean;
}

/**
 * The metadata server's tokens, minted in process: IAM's access tokens and IAM's ID token issuer.
 * Access tokens are cached by the account's unique id, never its email: an account deleted and
 * created again under the same email is another account, and gets none of the old one's tokens.
 */
export function createInstanceCredentials(context: ServiceContext): InstanceCredentials {
  const accounts = createSqlServiceAccountStore(context.db, context.clock);
  const access = createServiceAccess({ authorizer: context.authorizer, audit: context.audit, clock: context.clock });
  const idTokens = createIdTokenIssuer({
    db: context.db,
    sealer: context.sealer,
    clock: context.clock,
    baseUrl: context.settings.baseUrl,
  });
  const cache = new Map<string, { token: string; expiresAt: number }>();
  const scopedAccessToken = async (email: string, scopes: readonly string[]) => {
    const account = await accounts.get(email);
    if (!account || account.disabled)
      throw new ComputeError('ERR_COMPUTE_SERVICE_ACCOUNT', `The service account ${email} is missing or disabled.`);
    const now = context.clock.now();
    for (const [key, entry] of cache) if (entry.expiresAt - now <= ACCESS_TOKEN_RENEW_MS) cache.delete(key);
    const wanted = [...new Set(scopes)].sort();
    const key = `${account.uniqueId}\0${wanted.join(' ')}`;
    const cached = cache.get(key);
    if (cached) return { accessToken: cached.token, expiresAt: cached.expiresAt };
    const issued = await context.tokens.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${account.email}`,
      lifetimeMs: ACCESS_TOKEN_LIFETIME_MS,
      scopes: wanted,
    });
    cache.set(key, { token: issued.accessToken, expiresAt: issued.expiresAt });
    return { accessToken: issued.accessToken, expiresAt: issued.expiresAt };
  };
  const accessToken = async (email: string): Promise<string> =>
    (await scopedAccessToken(email, [CLOUD_PLATFORM_SCOPE])).accessToken;
  return {
    accessToken,
    scopedAccessToken,
    async idToken(email, audience, actor, extra) {
      const account = await accounts.get(email);
      const resource = `projects/${account?.projectId ?? '-'}/serviceAccounts/${email}`;
      if (email !== actor) {
        // tee-impersonate-service-accounts: the instance's account must be allowed to mint the other's ID token.
        const caller: Caller = await context.authenticator.authenticate(await accessToken(actor));
        await access.require({ caller, permission: 'iam.serviceAccounts.getOpenIdToken', resource });
      }
      if (!account || account.disabled)
        throw new ComputeError('ERR_COMPUTE_SERVICE_ACCOUNT', `The service account ${email} is missing or disabled.`);
      return idTokens.sign({
        audience,
        subject: account.uniqueId,
        email: account.email,
        extra: { ...extra, azp: account.uniqueId },
      });
    },
  };
}

export async function createComputeModule(
  context: ServiceContext,
  options: ComputeModuleOptions = {},
): Promise<ServiceModule & { instances: InstanceService }> {
  const { settings, clock, logger } = context;
  const store = await openSqlInstanceStore(context.db);
  let ca = options.platformCa;
  const config = options.config ?? loadComputeConfig(process.env);
  const tpm: TpmSettings = options.tpm ?? {
    address: config.tpm,
    eventLog: config.tpmEventLog,
    ...(config.tpmCtrl === undefined ? {} : { ctrl: config.tpmCtrl }),
  };
  const hardware: HardwareSettings = { tsmReport: config.tsmReport, tdxMeasurements: config.tdxMeasurements };
  const platform = options.platform ?? (await resolvePlatform(config.platform, tpm, hardware));
  // Outside dev mode no verifier trusts the soft platform's CA: its instances would attest to nobody.
  const refuseSoft = !settings.dev && options.platformCa === undefined;
  const platformCa = () => {
    ca ??= loadOrCreatePlatformCa({ dir: settings.stateDir, sealer: context.sealer, nowMs: clock.now() });
    return ca;
  };
  const credentials = createInstanceCredentials(context);
  // Instances recovered at start boot before the listeners are up: their endpoints wait for them.
  let announce: (endpoints: ServingEndpoints) => void = () => {};
  /** The gRPC endpoint this process hands its instances, once it listens: the port their network must reach. */
  let servedGrpc: ServingEndpoints['grpc'];
  const served = new Promise<ServingEndpoints>((resolve) => {
    announce = resolve;
  });
  const embedded =
    options.agent ??
    createEmbeddedHostAgent({
      dir: join(settings.stateDir, 'compute'),
      baseUrl: settings.baseUrl,
      universeDomain: settings.universeDomain,
      outbound: context.outbound,
      platformCa,
      launcherBuild: launcherBuildDigest(),
      credentials,
      clock,
      logger,
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
      ...(options.runtimes === undefined ? {} : { runtimes: options.runtimes }),
      platform,
      tpm,
      hardware,
      refuseSoft,
      network: {
        mode: config.network,
        requireIsolation: !settings.dev,
        pool: config.networkPool,
        hostTag: hostTagOf(settings.stateDir),
        bridgePorts: () => controlPlaneLoopbackPorts(settings.baseUrl, settings.stateDir, servedGrpc),
        // The metadata server on each instance's gateway, open whatever the firewall rules say.
        gatewayPorts: [METADATA_SERVER_PORT],
      },
      ...(options.platformEndpoints
        ? {
            endpoints: async () => {
              const endpoints = await served;
              return { ...endpoints, universeDomain: settings.universeDomain };
            },
          }
        : {}),
    });
  const hostStore = await openSqlHostStore(context.db);
  const remote = createRemoteHosts({
    credentials,
    certifyAk: (akPublicKey, instance) => {
      // Remote hosts boot on the soft platform: outside dev mode no verifier would trust what this certifies.
      if (refuseSoft)
        throw new ComputeError('ERR_COMPUTE_HOST_DENIED', 'Only a --dev deployment certifies soft-platform AKs.');
      return platformCa().issueAkCertificate(
        akPublicKey,
        { ...instance, securityVersion: '0', isProduction: true },
        clock.now(),
      );
    },
    clock,
    logger,
    lostMs: config.hostLostSeconds * 1000,
    marks: hostStore,
    // Replicas on one database share who holds each host and what runs where (one replica alone too: a restart
    // finds the placements of hosts that reconnect).
    cluster: {
      replica: randomUUID(),
      store: hostStore,
      notifications: context.db.notifications,
      adopt: (instanceId) => instances.eventsForId(instanceId),
    },
  });
  for (const host of await hostStore.listHosts()) remote.addPool(host.pool);
  // A module given its own agent (tests, another host agent) has no remote hosts: nothing listens for them.
  const hostsEnabled = options.agent === undefined && config.hostPort >= 0;
  const agent = hostsEnabled ? createRoutingAgent(embedded, remote) : embedded;
  const enrolment = createHostEnrolment(context, hostStore, (host) => remote.addPool(host.pool));
  const hostAddress = config.hostAddress ?? new URL(settings.baseUrl).hostname.replace(/^\[|\]$/g, '');
  let listener: HostListener | undefined;
  const channelEndpoint = () =>
    listener ? `https://${hostAddress.includes(':') ? `[${hostAddress}]` : hostAddress}:${listener.port}` : undefined;
  const accounts = createSqlServiceAccountStore(context.db, clock);
  const serviceAccounts: ServiceAccountLookup = {
    get: async (email) => accounts.get(email),
  };
  const audit = context.audit as Partial<{
    append(projectNumber: string, entries: readonly Record<string, unknown>[]): Promise<void>;
  }>;
  const firewalls = createFirewallService({
    context,
    store: createSqlFirewallStore(context.db),
    instances: store,
    agent,
  });
  const stopSupervision: (() => Promise<void>)[] = [];
  const instances = createInstanceService({
    context,
    store,
    agent,
    runner: context.leases.holder,
    isRunnerAlive: (runner) => context.leases.isHeld(`${RUNNER_LEASE_PREFIX}${runner}`),
    serviceAccounts,
    firewallRules: (projectNumber) => firewalls.rulesOf(projectNumber),
    ...(typeof audit.append === 'function'
      ? {
          writeWorkloadLog: async (projectNumber, instance, entry) =>
            audit.append?.(projectNumber, [
              {
                logId: WORKLOAD_LOG_ID,
                severity: entry.severity,
                payload: { textPayload: entry.message },
                labels: { instance_id: instance.id, instance_name: instance.name, zone: instance.zone },
              },
            ]),
        }
      : {}),
  });
  const streams = createSerialStreams();
  if (!options.agent && platform === 'soft' && refuseSoft)
    logger.warn({}, 'compute: no TPM and not --dev: instances refuse to boot on the soft platform');
  else if (!options.agent) logger.info({ platform }, 'compute: instances boot on this platform');
  return {
    name: 'compute',
    routes: [
      ...computeRoutes(instances, { now: () => clock.now(), streams }),
      ...firewallRoutes(firewalls, { now: () => clock.now() }),
      ...hostRoutes({
        enrolment,
        channelEndpoint,
        channelEndpoints: () => remote.channelEndpoints(),
        list: async () => {
          const live = new Map(remote.view().map((h) => [h.name, h]));
          return (await hostStore.listHosts()).map((host) => ({
            name: host.name,
            pool: host.pool,
            connected: live.get(host.name)?.connected === true,
            lastSeen: toRfc3339(live.get(host.name)?.connected ? clock.now() : host.lastSeen),
            joinTime: toRfc3339(host.joinTime),
            instances: live.get(host.name)?.instances ?? [],
          }));
        },
      }),
    ],
    instances,
    start: async () => {
      // The placements of every replica first: an instance on a remote host is not this process's to recover.
      if (hostsEnabled) await remote.load();
      // Supervision across replicas: each replica keeps a lease of its own alive while it runs, and one replica
      // at a time (the holder of compute-supervision) terminates the instances whose replica's lease lapsed.
      const leases = context.leases;
      const isRunnerAlive = (runner: string) => leases.isHeld(`${RUNNER_LEASE_PREFIX}${runner}`);
      await leases.acquire(`${RUNNER_LEASE_PREFIX}${leases.holder}`, 2 * RUNNER_RENEW_MS);
      stopSupervision.push(
        scheduleLeased({
          leases,
          name: `${RUNNER_LEASE_PREFIX}${leases.holder}`,
          intervalMs: RUNNER_RENEW_MS,
          work: async () => {},
          onError: (error) => logger.error({ error }, 'compute: renewing this replica’s lease failed'),
        }),
        scheduleLeased({
          leases,
          name: 'compute-supervision',
          intervalMs: SUPERVISION_INTERVAL_MS,
          work: async () => {
            const recovered = await instances.recover({ isRunnerAlive });
            if (recovered > 0) logger.warn({ recovered }, 'compute: instances of a lost replica marked TERMINATED');
          },
          onError: (error) => logger.error({ error }, 'compute: the instance sweep failed'),
        }),
      );
      await instances.recover({ isRunnerAlive });
      if (!hostsEnabled) return;
      const tls = await loadOrCreateDeploymentTls(join(settings.stateDir, 'tls'), context.sealer, [hostAddress]);
      try {
        listener = await startHostListener({
          host: hostAddress,
          port: config.hostPort,
          tls: { keyPem: tls.keyPem, certPem: tls.certPem, caPem: tls.caPem },
          store: hostStore,
          remote,
          logger,
          now: () => clock.now(),
        });
        await remote.announce(channelEndpoint() as string);
      } catch (error) {
        // A port the operator chose must be served; the default (any port) only where the address binds.
        if (config.hostPort !== 0) throw error;
        logger.warn(
          { hostAddress, error: (error as Error).message },
          'compute: the host channel could not bind (set compute.hostAddress): remote hosts cannot connect',
        );
      }
    },
    serving: (endpoints) => {
      servedGrpc = endpoints.grpc;
      announce(endpoints);
      if (options.platformEndpoints) remote.setEndpoints({ ...endpoints, universeDomain: settings.universeDomain });
    },
    stop: async () => {
      streams.closeAll();
      await instances.close();
      // After the instances: the replica's lease lapses only once nothing of it runs.
      for (const stop of stopSupervision.splice(0)) await stop();
      await listener?.close();
      await remote.close();
    },
    gauges: async () => {
      const counts = new Map<string, number>(INSTANCE_STATUSES.map((status) => [status, 0]));
      for (const instance of await store.listAll()) counts.set(instance.status, (counts.get(instance.status) ?? 0) + 1);
      return [
        {
          name: 'sealroom_instances',
          help: 'Instances of this deployment by status (compute v1 status names).',
          labelNames: ['status'],
          samples: [...counts].map(([status, value]) => ({ labels: { status }, value })),
        },
      ];
    },
  };
}

/** Each replica's own lease (`compute-runner:<holder>`), renewed this often and held for twice as long. */
const RUNNER_LEASE_PREFIX = 'compute-runner:';
const RUNNER_RENEW_MS = 5_000;
/** How often the supervising replica looks for instances of replicas whose lease lapsed. */
const SUPERVISION_INTERVAL_MS = 15_000;

export const createComputeService: ServiceFactory = async (context) => createComputeModule(context);
