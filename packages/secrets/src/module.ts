// The Secret Manager service module for `sealroom serve`.
import type { ServiceFactory } from '@sealroom/transport';
import { secretsRoutes } from './http.ts';
import { createSecretManager } from './service.ts';
import { openSqlSecretsStore } from './store.ts';

export const createSecretsService: ServiceFactory = async (ctx) => {
  const sm = createSecretManager({
    store: await openSqlSecretsStore(ctx.db),
    sealer: ctx.sealer,
    clock: ctx.clock,
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
  });
  return { name: 'secrets', routes: secretsRoutes(sm, ctx) };
};
