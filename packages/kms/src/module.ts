// The KMS service module: domain, REST routes, gRPC bindings and the maintenance timer, for `sealroom serve`.
import type { ServiceFactory } from '@sealroom/transport';
import { kmsGrpcBindings } from './grpc.ts';
import { kmsPolicyRoutes, kmsRoutes } from './http.ts';
import { createKeyManager } from './service.ts';
import { openSqlKmsStore } from './store.ts';

/** How often scheduled destructions are carried out and due rotations made. */
export const MAINTENANCE_INTERVAL_MS = 60_000;

export const createKmsService: ServiceFactory = async (ctx) => {
  const kms = await createKeyManager({
    store: await openSqlKmsStore(ctx.db),
    sealer: ctx.sealer,
    clock: ctx.clock,
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
    logger: ctx.logger.child({ service: 'kms' }),
  });
  let timer: NodeJS.Timeout | undefined;
  const maintain = () => {
    kms.runMaintenance().catch((error: unknown) => ctx.logger.error({ error }, 'kms maintenance failed'));
  };
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
      maintain();
      timer = setInterval(maintain, MAINTENANCE_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
};
