// The `sts` service module: workload identity pools and providers, STS token exchange, policy explain.
import { allowsHttp } from '@sealroom/outbound';
import type { ServiceFactory } from '@sealroom/transport';
import { createTokenExchange } from './exchange.ts';
import { createFederationRoutes } from './http.ts';
import { createIssuerKeys } from './issuer-keys.ts';
import { createPoolAdmin } from './pools.ts';
import { createSqlFederationStore } from './store.ts';

export const createFederationService: ServiceFactory = async (ctx) => {
  const store = await createSqlFederationStore(ctx.db, { clock: ctx.clock });
  const keys = createIssuerKeys({ clock: ctx.clock, outbound: ctx.outbound });
  const universeDomain = ctx.settings.universeDomain;
  const admin = createPoolAdmin({
    store,
    authorizer: ctx.authorizer,
    audit: ctx.audit,
    projects: ctx.projects,
    clock: ctx.clock,
    // The deployment's outbound policy decides: http to allow-listed hosts, and to loopback in dev mode.
    allowHttpIssuer: (url) => allowsHttp(url, ctx.outbound.policy),
  });
  // A federated token works only while the pool and provider that issued it are active (checked on each use).
  ctx.tokens.checkFederatedTokensWith?.(async (identity) => {
    const pool = await store.getPool(identity.pool);
    if (pool?.state !== 'ACTIVE' || pool.disabled) return false;
    if (identity.provider === undefined) return true;
    const provider = await store.getProvider(identity.provider);
    return provider?.state === 'ACTIVE' && !provider.disabled;
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
