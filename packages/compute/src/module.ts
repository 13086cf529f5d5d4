// The compute service as a ServiceFactory: the instances API over SQL, and the embedded host agent.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PlatformCa, loadOrCreatePlatformCa } from '@sealroom/attest';
import type { Caller } from '@sealroom/core';
import { createIdTokenIssuer, createSqlServiceAccountStore } from '@sealroom/iam';
import type { ServiceContext, ServiceFactory, ServiceModule } from '@sealroom/transport';
import { type InstanceCredentials, createEmbeddedHostAgent } from './embedded-agent.ts';
import { ComputeError } from './errors.ts';
import type { HostAgent } from './host-agent.ts';
import { computeRoutes } from './http.ts';
import { createSerialStreams } from './serial-stream.ts';
import { type InstanceService, type ServiceAccountLookup, createInstanceService } from './service.ts';
import { openSqlInstanceStore } from './store.ts';

const ACCESS_TOKEN_LIFETIME_MS = 3600_000;
/** A cached access token is renewed when less than this is left. */
const ACCESS_TOKEN_RENEW_MS = 300_000;
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const WORKLOAD_LOG_ID = 'confidential-space-launcher';

export interface ComputeModuleOptions {
  /** Another host agent (tests, or a remote host); the embedded one by default. */
  readonly agent?: HostAgent;
  /** The platform CA for soft boots; by default the one in the state directory the verifier trusts in dev mode. */
  readonly platformCa?: PlatformCa;
  /** Passed to the embedded agent (tests shorten the grace period). */
  readonly graceMs?: number;
  readonly runtimes?: readonly ('runc' | 'bwrap' | 'process')[];
}

/** The launcher build measured at each soft boot: a digest of the launcher's sources as shipped. */
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

/** The metadata server's tokens, minted in process: IAM's access tokens and IAM's ID token issuer. */
function createInstanceCredentials(context: ServiceContext): InstanceCredentials {
  const accounts = createSqlServiceAccountStore(context.db, context.clock);
  const idTokens = createIdTokenIssuer({
    db: context.db,
    sealer: context.sealer,
    clock: context.clock,
    baseUrl: context.settings.baseUrl,
  });
  const cache = new Map<string, { token: string; expiresAt: number }>();
  const accessToken = async (email: string): Promise<string> => {
    const cached = cache.get(email);
    if (cached && cached.expiresAt - context.clock.now() > ACCESS_TOKEN_RENEW_MS) return cached.token;
    const issued = await context.tokens.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${email}`,
      lifetimeMs: ACCESS_TOKEN_LIFETIME_MS,
      scopes: [CLOUD_PLATFORM_SCOPE],
    });
    cache.set(email, { token: issued.accessToken, expiresAt: issued.expiresAt });
    return issued.accessToken;
  };
  return {
    accessToken,
    async idToken(email, audience, actor) {
      const account = await accounts.get(email);
      const resource = `projects/${account?.projectId ?? '-'}/serviceAccounts/${email}`;
      if (email !== actor) {
        // tee-impersonate-service-accounts: the instance's account must be allowed to mint the other's ID token.
        const caller: Caller = await context.authenticator.authenticate(await accessToken(actor));
        await context.authorizer.authorize(caller, 'iam.serviceAccounts.getOpenIdToken', resource);
      }
      if (!account || account.disabled)
        throw new ComputeError('ERR_COMPUTE_SERVICE_ACCOUNT', `The service account ${email} is missing or disabled.`);
      return idTokens.sign({
        audience,
        subject: account.uniqueId,
        email: account.email,
        extra: { azp: account.uniqueId },
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
  const agent =
    options.agent ??
    createEmbeddedHostAgent({
      dir: join(settings.stateDir, 'compute'),
      baseUrl: settings.baseUrl,
      universeDomain: settings.universeDomain,
      outbound: context.outbound,
      platformCa: () => {
        ca ??= loadOrCreatePlatformCa({ dir: settings.stateDir, sealer: context.sealer, nowMs: clock.now() });
        return ca;
      },
      launcherBuild: launcherBuildDigest(),
      credentials: createInstanceCredentials(context),
      clock,
      logger,
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
      ...(options.runtimes === undefined ? {} : { runtimes: options.runtimes }),
    });
  const accounts = createSqlServiceAccountStore(context.db, clock);
  const serviceAccounts: ServiceAccountLookup = {
    get: async (email) => accounts.get(email),
  };
  const audit = context.audit as Partial<{
    append(projectNumber: string, entries: readonly Record<string, unknown>[]): Promise<void>;
  }>;
  const instances = createInstanceService({
    context,
    store,
    agent,
    serviceAccounts,
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
  if (!settings.dev && !options.agent && !options.platformCa)
    logger.warn({}, 'compute: instances boot on the soft platform; only a --dev verifier trusts its CA');
  return {
    name: 'compute',
    routes: computeRoutes(instances, { now: () => clock.now(), streams }),
    instances,
    start: () => instances.recover(),
    stop: async () => {
      streams.closeAll();
      await instances.close();
    },
  };
}

export const createComputeService: ServiceFactory = async (context) => createComputeModule(context);
