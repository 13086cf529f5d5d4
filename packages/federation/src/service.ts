// The `sts` service module: workload identity pools and providers, STS token exchange, policy explain.
import type { ServiceFactory } from '@sealroom/transport';
import { createTokenExchange } from './exchange.ts';
import { createFederationRoutes } from './http.ts';
import { createIssuerKeys } from './issuer-keys.ts';
import { createPoolAdmin } from './pools.ts';
import { createSqlFederationStore } from './store.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export const createFederationService: ServiceFactory = async (ctx) => {
  const store = await createSqlFederationStore(ctx.db);
  const keys = createIssuerKeys({ clock: ctx.clock });
  const universeDomain = ctx.settings.universeDomain;
  const admin = createPoolAdmin({
    store,
    authorizer: ctx.authorizer,
    projects: ctx.projects,
    clock: ctx.clock,
    // Issuers must be https, except on loopback (tests, a verifier on the same host) or in dev mode.
    allowHttpIssuer: (url) => ctx.settings.dev || LOOPBACK_HOSTS.has(url.hostname),
  });
  const exchange = createTokenExchange({
    store,
    keys,
    clock: ctx.clock,
    tokens: ctx.tokens,
    audit: ctx.audit,
    projects: ctx.projects,
    logger: ctx.logger,
    universeDomain,
  });
  return {
    name: 'sts',
    routes: createFederationRoutes({
      admin,
      exchange,
      authenticator: ctx.authenticator,
      authorizer: ctx.authorizer,
      universeDomain,
    }),
  };
};
