// The `sts` service module: workload identity pools and providers, STS token exchange, policy explain.
import { allowsHttp } from '@sealroom/outbound';
import type { ServiceFactory } from '@sealroom/transport';
import { createTokenExchange } from './exchange.ts';
import { createFederationRoutes } from './http.ts';
import { createIssuerKeys } from './issuer-keys.ts';
import { createPoolAdmin } from './pools.ts';
import { createSqlFederationStore } from './store.ts';

export const createFederationService: ServiceFactory = async (ctx) => {
  const store = await createSqlFederationStore(ctx.db);
  const keys = createIssuerKeys({ clock: ctx.clock, outbound: ctx.outbound });
  const universeDomain = ctx.settings.universeDomain;
  const admin = createPoolAdmin({
    store,
    authorizer: ctx.authorizer,
    projects: ctx.projects,
    clock: ctx.clock,
    // The deployment's outbound policy decides: http to allow-listed hosts, and to loopback in dev mode.
    allowHttpIssuer: (url) => allowsHttp(url, ctx.outbound.policy),
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
