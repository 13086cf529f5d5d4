// The registry service module for `sealroom serve`: blobs in the shared blob directory, rows in SQL.
import { join } from 'node:path';
import { scheduleLeased } from '@sealroom/core';
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
    blobs: await openDiskBlobStore(ctx.settings.blobDir ?? join(ctx.settings.stateDir, 'registry')),
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
    clock: ctx.clock,
  });
  let stopSweep: (() => Promise<void>) | undefined;
  return {
    name: 'registry',
    routes: registryRoutes(registry, ctx),
    async start() {
      stopSweep = scheduleLeased({
        leases: ctx.leases,
        name: 'registry-upload-sweep',
        intervalMs: SWEEP_INTERVAL_MS,
        work: async () => {
          await registry.sweepUploads();
        },
        onError: (error) => ctx.logger.error({ error }, 'registry upload sweep failed'),
      });
    },
    async stop() {
      await stopSweep?.();
    },
  };
};
