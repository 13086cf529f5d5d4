// The KMS service module: domain, REST routes, gRPC bindings and the maintenance timer, for `sealroom serve`.
import { scheduleLeased } from '@sealroom/core';
import type { ServiceFactory } from '@sealroom/transport';
import { kmsGrpcBindings } from './grpc.ts';
import { kmsPolicyRoutes, kmsRoutes } from './http.ts';
import { createKeyManager } from './service.ts';
import { openSqlKmsStore } from './store.ts';

/** How often scheduled destructions are carried out and due rotations made. */
export const MAINTENANCE_INTERVAL_MS = 60_000;

/**
 * The `kms` service of `sealroom serve`: Cloud KMS v1 over REST and gRPC, keys sealed at rest under the
 * deployment's root key, scheduled destruction and rotation.
 *
 * @example
 * ```ts
 * const kms = await createKmsService(ctx); // ctx: the ServiceContext the server (or a test) builds
 * const app = await buildRestApp({ routes: kms.routes, authenticator: ctx.authenticator, logger: ctx.logger });
 * ```
 */
export const createKmsService: ServiceFactory = async (ctx) => {
  const kms = await createKeyManager({
    store: await openSqlKmsStore(ctx.db, ctx.clock),
    sealer: ctx.sealer,
    clock: ctx.clock,
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
    logger: ctx.logger.child({ service: 'kms' }),
  });
  let stopMaintenance: (() => Promise<void>) | undefined;
  const policyRoutes = kmsPolicyRoutes(kms, ctx);
  let grpc: ReturnType<typeof kmsGrpcBindings> = [];
  try {
    grpc = kmsGrpcBindings(kms);
  } catch (error) {
    // The protos ship in @google-cloud/kms and google-gax; without them only the REST front end runs.
    ctx.logger.warn({ error }, 'kms gRPC front end disabled: the KMS protos are not installed');
  }
  return {
    name: 'kms',
    routes: [...policyRoutes, ...kmsRoutes(kms)],
    grpc,
    async start() {
      // Replicas share the keys: one of them at a time destroys and rotates, under the lease.
      stopMaintenance = scheduleLeased({
        leases: ctx.leases,
        name: 'kms-maintenance',
        intervalMs: MAINTENANCE_INTERVAL_MS,
        work: async () => {
          await kms.runMaintenance();
        },
        onError: (error) => ctx.logger.error({ error }, 'kms maintenance failed'),
      });
    },
    async stop() {
      await stopMaintenance?.();
    },
  };
};
