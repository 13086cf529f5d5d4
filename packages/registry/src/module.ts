// The registry service module for `sealroom serve`: blobs under `<stateDir>/registry/`, rows in SQL.
import { join } from 'node:path';
import type { ServiceFactory } from '@sealroom/transport';
import { openDiskBlobStore } from './blob-store.ts';
import { registryRoutes } from './http.ts';
import { createRegistry } from './service.ts';
import { openSqlRegistryStore } from './store.ts';

export const createRegistryService: ServiceFactory = async (ctx) => {
  const registry = createRegistry({
    store: await openSqlRegistryStore(ctx.db),
    blobs: await openDiskBlobStore(join(ctx.settings.stateDir, 'registry')),
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
    clock: ctx.clock,
  });
  return { name: 'registry', routes: registryRoutes(registry, ctx) };
};
