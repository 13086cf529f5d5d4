// `sealroom serve`: every control-plane service in one process over one state directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConsoleModule } from '@sealroom/console';
import { type Clock, type Logger, systemClock } from '@sealroom/core';
import { createIam, type Iam } from '@sealroom/iam';
import { createOutboundClient } from '@sealroom/outbound';
import { openDeploymentLog, transparencyAuditSink, transparencyModule } from '@sealroom/transparency';
import {
  buildRestApp,
  type DeploymentTls,
  findGaxProtoDir,
  iamPolicyBinding,
  policyRoutesOf,
  type GrpcServer,
  loadOrCreateDeploymentTls,
  type RequestSample,
  type ServiceModule,
  startGrpcServer,
} from '@sealroom/transport';
import { outboundPolicyOf, type ServerConfig } from './config.ts';
import { assertPortsFree, freePort, type ListenerKey, portInUse, portTaken } from './ports.ts';
import { createIamConditionEvaluator } from './iam-conditions.ts';
import { watchIdleMemory } from './idle-memory.ts';
import { createDeploymentMetrics, createMetricsAccess } from './metrics.ts';
import { createStorageReadiness } from './readiness.ts';
import { SERVICES, type ServiceEntry } from './services.ts';
import { openState } from './state.ts';

export const BOOTSTRAP_ADMIN = 'admin@sealroom.internal';

export interface RunningServer {
  readonly url: string;
  readonly config: ServerConfig;
  readonly iam: Iam;
  readonly tls: DeploymentTls;
  readonly modules: readonly ServiceModule[];
  /** Port of the gRPC TLS listener (KMS, Pub/Sub, …), when one runs. */
  readonly grpcPort: number | undefined;
  /** A one-time console sign-in link for `email` (dev mode only; the code rides in the URL fragment). */
  signInLink(email: string): Promise<string>;
  /** Stops accepting work, lets requests in flight finish, stops services, closes storage. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Overrides the service list (tests). */
  readonly services?: readonly ServiceEntry[];
  /**
   * After a spell of load followed by 10 s without a request, ask V8 to give the heap grown for the load
   * back to the system (`sealroom serve` does; a server inside another program leaves its memory to that
   * program).
   */
  readonly releaseMemoryWhenIdle?: boolean;
}

/**
 * Starts the control plane `sealroom serve` runs: opens the state directory (root key and database),
 * creates every service of the configuration, and listens for REST and, when configured, gRPC over TLS.
 *
 * @example
 * ```ts
 * // Defaults, then <stateDir>/config.json, then SEALROOM_* variables, then these flags.
 * const config = resolveServerConfig({ port: 0, stateDir: '.sealroom', dev: true });
 * const server = await startServer(config, { logger: createPinoLogger('info') });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function startServer(config: ServerConfig, options: StartOptions): Promise<RunningServer> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  // A held port fails here, in one line naming the flag and the variable, before any state is opened.
  await assertPortsFree(config);
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const baseUrl = (
    config.baseUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  ).replace(/\/$/, '');
  const { sealer, db } = await openState(config.stateDir, config.rootKeyFile, config.databaseUrl);
  const settings = {
    baseUrl,
    universeDomain: config.universeDomain,
    stateDir: config.stateDir,
    dev: config.dev,
    ...(config.blobDir === undefined ? {} : { blobDir: config.blobDir }),
  };
  // Every security-relevant decision is a leaf of the deployment's transparency log as well as an audit entry.
  const transparency = await openDeploymentLog({
    db,
    sealer,
    clock,
    logger: logger.child({ component: 'transparency' }),
    baseUrl,
  });
  // Counters live from the first request; the gauges ask the modules at each scrape.
  const metrics = createDeploymentMetrics({
    modules: () => modules,
    projects: async () => (await iam.deps.projects.list()).filter((p) => p.state === 'ACTIVE'),
  });
  const metricsAccess = createMetricsAccess({ bearerTokenFile: config.metricsBearerTokenFile, dev: config.dev });
  const iam = await createIam({
    db,
    logger: logger.child({ component: 'iam' }),
    clock,
    sealer,
    settings,
    outbound: createOutboundClient({ policy: outboundPolicyOf(config) }),
    evaluateCondition: createIamConditionEvaluator({ logger: logger.child({ component: 'iam' }) }),
    auditSink: metrics.countingAuditSink(transparencyAuditSink(transparency)),
  });
  if (config.dev) {
    logger.warn(
      { dev: true },
      'DEV MODE: anyone can sign in as any account with `sealroom auth login EMAIL`, and the soft platform CA is trusted. Never use dev mode for real data.',
    );
  }
  logger.info(
    {
      outboundHttpHosts: config.outboundHttpHosts,
      outboundAllowedRanges: config.outboundAllowedRanges,
      outboundLoopback: config.dev,
    },
    'outbound requests: https to public addresses, plus these hosts and ranges',
  );
  await bootstrapAdmin(iam, config.stateDir, logger);
  const publicGrpc = config.publicGrpcEndpoint === undefined ? undefined : toGrpcEndpoint(config.publicGrpcEndpoint);
  // Behind a load balancer that passes TLS through, clients check the certificate against the balancer's name.
  const tls = await loadOrCreateDeploymentTls(join(config.stateDir, 'tls'), sealer, [
    config.host,
    ...(publicGrpc ? [publicGrpc.host.replace(/^\[(.*)\]$/, '$1')] : []),
  ]);
  const modules: ServiceModule[] = [iam.module, transparencyModule(transparency, iam.context)];
  const selected = (options.services ?? SERVICES).filter((s) => !config.only || config.only.includes(s.name));
  for (const entry of selected) {
    modules.push(await entry.factory({ ...iam.context, logger: logger.child({ component: entry.name }) }, config));
  }
  // The console is always served: it calls only the public APIs above, so it shows what IAM allows and no more.
  const consoleModule = await createConsoleModule({
    db,
    clock,
    logger: logger.child({ component: 'console' }),
    dev: config.dev,
    universeDomain: config.universeDomain,
    issueUserCredential: async (email) => {
      await iam.deps.credentials.ensureUser(email, 'dev');
      return {
        account: email.toLowerCase(),
        refreshToken: await iam.deps.credentials.issueRefreshToken(email),
        type: 'authorized_user',
      };
    },
  });
  const idle = options.releaseMemoryWhenIdle
    ? watchIdleMemory({ logger: logger.child({ component: 'memory' }) })
    : undefined;
  const requestDone = idle
    ? (sample: RequestSample) => {
        metrics.observeRequest(sample);
        idle.noteRequest();
      }
    : metrics.observeRequest;
  const app = await buildRestApp({
    routes: [...modules.flatMap((m) => m.routes), ...consoleModule.routes],
    authenticator: iam.context.authenticator,
    logger: logger.child({ component: 'http' }),
    onRequestDone: requestDone,
  });
  let ready = false;
  const storage = createStorageReadiness(db, clock, logger.child({ component: 'storage' }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (!ready) return reply.code(503).send({ status: 'not ready' });
    const health = await storage.check();
    if (!health.ok) return reply.code(503).send({ status: 'not ready', storage: health.fault, reason: health.message });
    return { status: 'ready', services: modules.map((m) => m.name) };
  });
  // Where a client reaches this deployment: nothing secret (the CA's certificate is public), so no sign-in.
  app.get('/v1/endpoints', async () => ({
    rest: baseUrl,
    grpc: grpcEndpoint ? `${grpcEndpoint.host}:${grpcEndpoint.port}` : null,
    caPem: tls.caPem,
  }));
  app.get('/metrics', async (request, reply) => {
    const access = metricsAccess(request.headers.authorization, request.socket.remoteAddress);
    if (!access.allowed) {
      if (access.status === 401) reply.header('www-authenticate', 'Bearer realm="sealroom-metrics"');
      return reply.code(access.status).type('text/plain; charset=utf-8').send(`${access.message}\n`);
    }
    return reply.type(metrics.contentType).send(await metrics.render());
  });
  let grpc: GrpcServer | undefined;
  /** Where clients and instances reach gRPC: the configured public endpoint, else this process's listener. */
  let grpcEndpoint: { host: string; port: number } | undefined;
  // Another program took a port after the check above: stop what started, then say which port (not a stack trace).
  const abandon = async (error: unknown, key: ListenerKey, at: number): Promise<never> => {
    for (const module of [...modules].reverse()) await module.stop?.().catch(() => undefined);
    await grpc?.close();
    await app.close().catch(() => undefined);
    await db.close();
    throw at > 0 && (await portTaken(config.host, at)) ? portInUse(key, config.host, at) : error;
  };
  for (const module of modules) await module.start?.();
  const bindings = modules.flatMap((m) => m.grpc ?? []);
  // One IAMPolicy service for every resource of every module, dispatching to their REST policy routes.
  const gaxProtos = findGaxProtoDir();
  const allRoutes = modules.flatMap((m) => m.routes);
  if (bindings.length > 0 && gaxProtos && policyRoutesOf(allRoutes).length > 0) {
    bindings.push(iamPolicyBinding(allRoutes, [gaxProtos]));
  }
  if (config.grpcPort >= 0 && bindings.length > 0) {
    grpc = await startGrpcServer({
      bindings,
      authenticator: iam.context.authenticator,
      logger: logger.child({ component: 'grpc' }),
      tls: { keyPem: tls.keyPem, certPem: tls.certPem },
      host: config.host,
      port: config.grpcPort,
      onCallDone: requestDone,
    }).catch((error: unknown) => abandon(error, 'grpcPort', config.grpcPort));
  }
  await app.listen({ port, host: config.host }).catch((error: unknown) => abandon(error, 'port', port));
  ready = true;
  // A wildcard listener is reached on loopback by the embedded host's instances.
  grpcEndpoint =
    publicGrpc ??
    (grpc ? { host: /^(0\.0\.0\.0|::)$/.test(config.host) ? '127.0.0.1' : config.host, port: grpc.port } : undefined);
  // Replicas sharing a state directory write the same file when they share a public endpoint.
  writeFileSync(
    join(config.stateDir, 'endpoints.json'),
    `${JSON.stringify(
      { rest: baseUrl, grpc: grpcEndpoint ? `${grpcEndpoint.host}:${grpcEndpoint.port}` : null, ca: tls.caPath },
      null,
      2,
    )}\n`,
  );
  const serving = { rest: baseUrl, ...(grpcEndpoint ? { grpc: grpcEndpoint } : {}), caPem: tls.caPem };
  for (const module of modules) module.serving?.(serving);
  logger.info(
    { url: baseUrl, grpcPort: grpc?.port, services: modules.map((m) => m.name), stateDir: config.stateDir },
    'sealroom is serving',
  );
  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    config,
    iam,
    tls,
    modules,
    grpcPort: grpc?.port,
    signInLink: (email) => consoleModule.signInLink(baseUrl, email),
    close() {
      closing ??= (async () => {
        ready = false;
        idle?.stop();
        // Modules stop first, so long-lived streams (StreamingPull) end with UNAVAILABLE at once instead of
        // waiting out the listeners' grace period; requests in flight on REST still finish.
        for (const module of [...modules].reverse()) {
          try {
            await module.stop?.();
          } catch (error) {
            logger.error({ service: module.name, error }, 'service failed to stop cleanly');
          }
        }
        await Promise.all([app.close(), grpc?.close()]);
        await db.close();
        logger.info({}, 'sealroom stopped');
      })();
      return closing;
    },
  };
}

/** On first start, creates the deployment administrator and writes its credential file (0600). */
async function bootstrapAdmin(iam: Iam, stateDir: string, logger: Logger): Promise<void> {
  if (await iam.deps.credentials.userExists(BOOTSTRAP_ADMIN)) return;
  await iam.deps.credentials.ensureUser(BOOTSTRAP_ADMIN, 'bootstrap', true);
  const refreshToken = await iam.deps.credentials.issueRefreshToken(BOOTSTRAP_ADMIN);
  const path = join(stateDir, 'admin-credential.json');
  writeFileSync(
    path,
    `${JSON.stringify({ type: 'authorized_user', account: BOOTSTRAP_ADMIN, refresh_token: refreshToken }, null, 2)}\n`,
    {
      mode: 0o600,
    },
  );
  logger.info({ path }, 'administrator credential written; use `sealroom auth login --cred-file` with it');
}

/** `host:port` (validated by the configuration schema) as the endpoint handed to clients and instances. */
function toGrpcEndpoint(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}
