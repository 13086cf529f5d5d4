// The registry service module for `sealroom serve`: blobs under `<stateDir>/registry/`, rows in SQL.
import { join } from 'node:path';
import type { ServiceFactory } from '@sealroom/transport';
import { openDiskBlobStore } from './blob-store.ts';
import { registryRoutes } from './http.ts';
import { createRegistry } from './service.ts';
import { openSqlRegistryStore } from './store.ts';

/** How often abandoned uploads are looked for. */
export const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export const createRegistryService: ServiceFactory = async (ctx) => {
  const registry = createRegistry({
    store: await openSqlRegistryStore(ctx.db),
    blobs: await openDiskBlobStore(join(ctx.settings.stateDir, 'registry')),
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
    clock: ctx.clock,
  });
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    registry.sweepUploads().catch((error: unknown) => ctx.logger.error({ error }, 'registry upload sweep failed'));
  };
  return {
    name: 'registry',
    routes: registryRoutes(registry, ctx),
    async start() {
      sweep();
      timer = setInterval(sweep, SWEEP_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
};
