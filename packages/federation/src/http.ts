// REST routes of the token service: STS /v1/token and /v1/introspect, pools and providers, policy explain.
import { type Authenticator, type Authorizer, CoreError, isSealroomError, newUuid, toRfc3339 } from '@sealroom/core';
import { type ApiRequest, type ApiResponse, type ApiRoute, reply } from '@sealroom/transport';
import { z } from 'zod';
import { FederationError, OAUTH_ERROR_OF } from './errors.ts';
import { type TokenExchange, parseExchangeRequest } from './exchange.ts';
import { explainPolicy } from './explain.ts';
import { UNDELETE_WINDOW_MS, type PoolAdmin, type ProviderFields } from './pools.ts';
import type { PoolRecord, ProviderRecord } from './store.ts';

export interface FederationRoutesOptions {
  readonly admin: PoolAdmin;
  readonly exchange: TokenExchange;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly universeDomain: string;
}

const POOLS = '/v1/projects/{project}/locations/{location}/workloadIdentityPools';
const POOL = `${POOLS}/{pool}`;
const PROVIDERS = `${POOL}/providers`;
const PROVIDER = `${PROVIDERS}/{provider}`;
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

const OUTPUT_ONLY = { name: z.string().optional(), state: z.string().optional(), expireTime: z.string().optional() };
const poolBody = z
  .object({
    displayName: z.string().optional(),
    description: z.string().optional(),
    disabled: z.boolean().optional(),
    ...OUTPUT_ONLY,
  })
  .strict();
const providerBody = poolBody
  .extend({
    attributeMapping: z.record(z.string(), z.string()).optional(),
    attributeCondition: z.string().optional(),
    oidc: z
      .object({
        issuerUri: z.string().optional(),
        allowedAudiences: z.array(z.string()).optional(),
        jwksJson: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
const explainBody = z
  .object({
    subjectToken: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional(),
    claims: z.record(z.string(), z.unknown()).optional(),
    attributeMapping: z.record(z.string(), z.string()).optional(),
    attributeCondition: z.string().optional(),
    resource: z.string().optional(),
    permissions: z.array(z.string()).max(100).optional(),
  })
  .strict()
  .refine((body) => (body.subjectToken === undefined) !== (body.claims === undefined), {
    message: 'give exactly one of subjectToken and claims',
    path: ['subjectToken'],
  });

/**
 * RFC 6749 §5.2 bodies for STS routes. A fault the caller can retry (storage full or unwritable,
 * the CEL workers saturated) is 503 `temporarily_unavailable` (RFC 6749 §4.1.2.1's code), which
 * Google's auth libraries retry; anything unexpected is a generic 500 (details stay in the log).
 */
export function toOAuthError(error: unknown): ApiResponse {
  if (error instanceof FederationError) {
    return reply({ error: OAUTH_ERROR_OF[error.code], error_description: error.message }, 400, NO_STORE);
  }
  if (isSealroomError(error) && error.httpStatus === 503) {
    return reply({ error: 'temporarily_unavailable', error_description: error.message }, 503, {
      ...NO_STORE,
      'retry-after': '1',
    });
  }
  if (isSealroomError(error) && error.httpStatus < 500) {
    return reply({ error: 'invalid_request', error_description: error.message }, 400, NO_STORE);
  }
  return reply({ error: 'server_error', error_description: 'Internal error.' }, 500, NO_STORE);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'body';
    throw new CoreError(
      'ERR_BAD_REQUEST_BODY',
      `Invalid JSON payload received: ${where}: ${issue?.message ?? 'invalid'}.`,
    );
  }
  return result.data;
}

function globalOnly(request: ApiRequest): void {
  if (request.params.location !== 'global') {
    throw new CoreError('ERR_INVALID_ARGUMENT', "Workload identity pools exist only in location 'global'.");
  }
}

function maskOf(request: ApiRequest): string[] {
  return (request.query.updateMask ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function expireTimeOf(record: { deleteTime?: number }): Record<string, string> {
  return record.deleteTime === undefined ? {} : { expireTime: toRfc3339(record.deleteTime + UNDELETE_WINDOW_MS) };
}

export function toPoolJson(pool: PoolRecord): Record<string, unknown> {
  return {
    name: pool.name,
    displayName: pool.displayName,
    description: pool.description,
    state: pool.state,
    disabled: pool.disabled,
    ...expireTimeOf(pool),
  };
}

export function toProviderJson(provider: ProviderRecord): Record<string, unknown> {
  return {
    name: provider.name,
    displayName: provider.displayName,
    description: provider.description,
    state: provider.state,
    disabled: provider.disabled,
    attributeMapping: provider.attributeMapping,
    ...(provider.attributeCondition ? { attributeCondition: provider.attributeCondition } : {}),
    oidc: provider.oidc,
    ...expireTimeOf(provider),
  };
}

/** Mutations answer with an already-done long-running operation, as the IAM API does. */
function operation(resourceName: string, type: string, response: Record<string, unknown>): Record<string, unknown> {
  return {
    name: `${resourceName}/operations/${newUuid()}`,
    done: true,
    response: { '@type': `type.googleapis.com/google.iam.v1.${type}`, ...response },
  };
}

function providerFields(body: z.infer<typeof providerBody>): ProviderFields {
  return {
    displayName: body.displayName,
    description: body.description,
    disabled: body.disabled,
    attributeMapping: body.attributeMapping,
    attributeCondition: body.attributeCondition,
    oidc: body.oidc,
  };
}

export function createFederationRoutes(options: FederationRoutesOptions): ApiRoute[] {
  const { admin, exchange } = options;
  const P = (r: ApiRequest) => r.params as { project: string; pool: string; provider: string };
  const POOL_TYPE = 'WorkloadIdentityPool';
  const PROVIDER_TYPE = 'WorkloadIdentityPoolProvider';
  return [
    {
      method: 'POST',
      path: '/v1/token',
      auth: 'none',
      body: 'form-or-json',
      bodyLimit: 64 * 1024,
      mapError: toOAuthError,
      handler: async (request) => reply(await exchange.exchange(parseExchangeRequest(request.body)), 200, NO_STORE),
    },
    {
      method: 'POST',
      path: '/v1/introspect',
      auth: 'none',
      body: 'form-or-json',
      bodyLimit: 64 * 1024,
      mapError: toOAuthError,
      handler: async (request) => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const token = typeof body.token === 'string' ? body.token.trim() : '';
        if (token === '') throw new FederationError('ERR_FEDERATION_REQUEST', 'token is required.');
        try {
          const caller = await options.authenticator.authenticate(token);
          return reply(
            {
              active: true,
              exp: Math.floor(caller.expiresAt / 1000),
              iss: `https://sts.${options.universeDomain}`,
              scope: 'https://www.googleapis.com/auth/cloud-platform',
              sub: caller.federation?.subject ?? caller.principal,
              username: caller.principal,
              token_type: 'Bearer',
            },
            200,
            NO_STORE,
          );
        } catch {
          return reply({ active: false }, 200, NO_STORE);
        }
      },
    },
    {
      method: 'POST',
      path: POOLS,
      handler: async (request) => {
        globalOnly(request);
        const body = parse(poolBody, request.body);
        const pool = await admin.createPool(
          request.caller,
          P(request).project,
          request.query.workloadIdentityPoolId ?? '',
          body,
        );
        return operation(pool.name, POOL_TYPE, toPoolJson(pool));
      },
    },
    {
      method: 'GET',
      path: POOLS,
      handler: async (request) => {
        globalOnly(request);
        const pools = await admin.listPools(request.caller, P(request).project, request.query.showDeleted === 'true');
        return pools.length === 0 ? {} : { workloadIdentityPools: pools.map(toPoolJson) };
      },
    },
    {
      method: 'GET',
      path: POOL,
      handler: async (request) => {
        globalOnly(request);
        return toPoolJson(await admin.getPool(request.caller, P(request).project, P(request).pool));
      },
    },
    {
      method: 'PATCH',
      path: POOL,
      handler: async (request) => {
        globalOnly(request);
        const body = parse(poolBody, request.body);
        const pool = await admin.updatePool(request.caller, P(request).project, P(request).pool, body, maskOf(request));
        return operation(pool.name, POOL_TYPE, toPoolJson(pool));
      },
    },
    {
      method: 'DELETE',
      path: POOL,
      body: 'none',
      handler: async (request) => {
        globalOnly(request);
        const pool = await admin.deletePool(request.caller, P(request).project, P(request).pool);
        return operation(pool.name, POOL_TYPE, toPoolJson(pool));
      },
    },
    {
      method: 'POST',
      path: `${POOL}:undelete`,
      handler: async (request) => {
        globalOnly(request);
        const pool = await admin.undeletePool(request.caller, P(request).project, P(request).pool);
        return operation(pool.name, POOL_TYPE, toPoolJson(pool));
      },
    },
    {
      method: 'POST',
      path: PROVIDERS,
      handler: async (request) => {
        globalOnly(request);
        const body = parse(providerBody, request.body);
        const { project, pool } = P(request);
        const id = request.query.workloadIdentityPoolProviderId ?? '';
        const provider = await admin.createProvider(request.caller, project, pool, id, providerFields(body));
        return operation(provider.name, PROVIDER_TYPE, toProviderJson(provider));
      },
    },
    {
      method: 'GET',
      path: PROVIDERS,
      handler: async (request) => {
        globalOnly(request);
        const { project, pool } = P(request);
        const providers = await admin.listProviders(
          request.caller,
          project,
          pool,
          request.query.showDeleted === 'true',
        );
        return providers.length === 0 ? {} : { workloadIdentityPoolProviders: providers.map(toProviderJson) };
      },
    },
    {
      method: 'GET',
      path: PROVIDER,
      handler: async (request) => {
        globalOnly(request);
        const { project, pool, provider } = P(request);
        return toProviderJson(await admin.getProvider(request.caller, project, pool, provider));
      },
    },
    {
      method: 'PATCH',
      path: PROVIDER,
      handler: async (request) => {
        globalOnly(request);
        const body = parse(providerBody, request.body);
        const { project, pool, provider } = P(request);
        const updated = await admin.updateProvider(
          request.caller,
          project,
          pool,
          provider,
          providerFields(body),
          maskOf(request),
        );
        return operation(updated.name, PROVIDER_TYPE, toProviderJson(updated));
      },
    },
    {
      method: 'DELETE',
      path: PROVIDER,
      body: 'none',
      handler: async (request) => {
        globalOnly(request);
        const { project, pool, provider } = P(request);
        const deleted = await admin.deleteProvider(request.caller, project, pool, provider);
        return operation(deleted.name, PROVIDER_TYPE, toProviderJson(deleted));
      },
    },
    {
      method: 'POST',
      path: `${PROVIDER}:undelete`,
      handler: async (request) => {
        globalOnly(request);
        const { project, pool, provider } = P(request);
        const restored = await admin.undeleteProvider(request.caller, project, pool, provider);
        return operation(restored.name, PROVIDER_TYPE, toProviderJson(restored));
      },
    },
    {
      // Sealroom extension: `sealroom policy explain` (mapping and condition, clause by clause).
      method: 'POST',
      path: `${PROVIDER}:explain`,
      handler: async (request) => {
        globalOnly(request);
        const body = parse(explainBody, request.body);
        const { project, pool, provider } = P(request);
        const record = await admin.getProvider(request.caller, project, pool, provider);
        return explainPolicy(exchange, options.authorizer, record, body, options.universeDomain, request.caller);
      },
    },
  ];
}
