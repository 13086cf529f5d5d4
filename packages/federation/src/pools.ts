// Workload identity pools and providers: create, get, list, update, delete, undelete, with IAM checks.
import { compileProviderPolicy } from '@sealroom/cel';
import {
  type AuditLog,
  type Authorizer,
  type Caller,
  type Clock,
  CoreError,
  type ProjectResolver,
  permissionDenied,
} from '@sealroom/core';
import { createServiceAccess } from '@sealroom/iam';
import { FederationError } from './errors.ts';
import { parseJwks } from './issuer-keys.ts';
import { issuerUriProblem } from './issuer-uri.ts';
import { formatPoolName, formatProviderName, RESOURCE_ID } from './names.ts';
import type { FederationStore, OidcConfig, PoolRecord, ProviderRecord } from './store.ts';

/** Deleted pools and providers can be undeleted for 30 days (Google's retention). */
export const UNDELETE_WINDOW_MS = 30 * 24 * 3600 * 1000;
const MAX_AUDIENCES = 10;
const MAX_AUDIENCE_CHARS = 256;

export interface PoolFields {
  readonly displayName?: string | undefined;
  readonly description?: string | undefined;
  readonly disabled?: boolean | undefined;
}

export interface ProviderFields extends PoolFields {
  readonly attributeMapping?: Readonly<Record<string, string>> | undefined;
  readonly attributeCondition?: string | undefined;
  readonly oidc?:
    | {
        readonly issuerUri?: string | undefined;
        readonly allowedAudiences?: readonly string[] | undefined;
        readonly jwksJson?: string | undefined;
      }
    | undefined;
}

export interface PoolAdminOptions {
  readonly store: FederationStore;
  readonly authorizer: Authorizer;
  readonly audit: AuditLog;
  readonly projects: ProjectResolver;
  readonly clock: Clock;
  /** Lets `http://` issuers through: hosts on the outbound http allow-list, loopback in dev mode. */
  readonly allowHttpIssuer: (url: URL) => boolean;
}

export interface PoolAdmin {
  createPool(caller: Caller | undefined, project: string, poolId: string, fields: PoolFields): Promise<PoolRecord>;
  getPool(caller: Caller | undefined, project: string, poolId: string): Promise<PoolRecord>;
  listPools(caller: Caller | undefined, project: string, showDeleted: boolean): Promise<PoolRecord[]>;
  updatePool(
    caller: Caller | undefined,
    project: string,
    poolId: string,
    fields: PoolFields,
    mask: readonly string[],
  ): Promise<PoolRecord>;
  deletePool(caller: Caller | undefined, project: string, poolId: string): Promise<PoolRecord>;
  undeletePool(caller: Caller | undefined, project: string, poolId: string): Promise<PoolRecord>;
  createProvider(
    caller: Caller | undefined,
    project: string,
    poolId: string,
    providerId: string,
    fields: ProviderFields,
  ): Promise<ProviderRecord>;
  getProvider(caller: Caller | undefined, project: string, poolId: string, providerId: string): Promise<ProviderRecord>;
  listProviders(
    caller: Caller | undefined,
    project: string,
    poolId: string,
    showDeleted: boolean,
  ): Promise<ProviderRecord[]>;
  updateProvider(
    caller: Caller | undefined,
    project: string,
    poolId: string,
    providerId: string,
    fields: ProviderFields,
    mask: readonly string[],
  ): Promise<ProviderRecord>;
  deleteProvider(
    caller: Caller | undefined,
    project: string,
    poolId: string,
    providerId: string,
  ): Promise<ProviderRecord>;
  undeleteProvider(
    caller: Caller | undefined,
    project: string,
    poolId: string,
    providerId: string,
  ): Promise<ProviderRecord>;
}

export function createPoolAdmin(options: PoolAdminOptions): PoolAdmin {
  const { store, clock } = options;
  const access = createServiceAccess({ authorizer: options.authorizer, audit: options.audit, clock });

  /**
   * Checks the permission on the resource as the caller named it, and only then resolves the project, so a
   * caller without permission gets the same answer for an existing project (no number revealed) and a
   * missing one.
   */
  const projectNumberOf = async (
    caller: Caller | undefined,
    project: string,
    permission: string,
    resource: (n: string) => string,
  ) => {
    await access.require({ caller, permission, resource: resource(project) });
    const ref = await options.projects.resolve(project);
    if (!ref) throw permissionDenied(permission, resource(project));
    return ref.projectNumber;
  };
  const poolResource = (poolId: string) => (n: string) => formatPoolName({ projectNumber: n, poolId });
  const providerResource = (poolId: string, providerId: string) => (n: string) =>
    formatProviderName({ projectNumber: n, poolId, providerId });

  const loadPool = async (caller: Caller | undefined, project: string, poolId: string, permission: string) => {
    const projectNumber = await projectNumberOf(caller, project, permission, poolResource(poolId));
    const pool = await store.getPool(formatPoolName({ projectNumber, poolId }));
    if (!pool)
      throw new CoreError(
        'ERR_NOT_FOUND',
        `Requested entity was not found: ${formatPoolName({ projectNumber, poolId })}`,
      );
    return pool;
  };
  const loadProvider = async (
    caller: Caller | undefined,
    project: string,
    poolId: string,
    providerId: string,
    permission: string,
  ) => {
    const projectNumber = await projectNumberOf(caller, project, permission, providerResource(poolId, providerId));
    const name = formatProviderName({ projectNumber, poolId, providerId });
    const provider = await store.getProvider(name);
    if (!provider) throw new CoreError('ERR_NOT_FOUND', `Requested entity was not found: ${name}`);
    return provider;
  };
  const requireState = (record: { state: string; name: string }, state: 'ACTIVE' | 'DELETED') => {
    if (record.state !== state) {
      throw new CoreError(
        'ERR_FAILED_PRECONDITION',
        `${record.name} is ${record.state === 'DELETED' ? 'deleted' : 'not deleted'}.`,
      );
    }
  };

  return {
    async createPool(caller, project, poolId, fields) {
      checkId(poolId, 'workloadIdentityPoolId');
      const projectNumber = await projectNumberOf(
        caller,
        project,
        'iam.workloadIdentityPools.create',
        (n) => `projects/${n}`,
      );
      const now = clock.now();
      const pool: PoolRecord = {
        name: formatPoolName({ projectNumber, poolId }),
        projectNumber,
        poolId,
        ...checkPoolFields(fields, { displayName: '', description: '', disabled: false }),
        state: 'ACTIVE',
        createTime: now,
        updateTime: now,
      };
      await store.createPool(pool);
      return pool;
    },
    getPool: (caller, project, poolId) => loadPool(caller, project, poolId, 'iam.workloadIdentityPools.get'),
    async listPools(caller, project, showDeleted) {
      const projectNumber = await projectNumberOf(
        caller,
        project,
        'iam.workloadIdentityPools.list',
        (n) => `projects/${n}`,
      );
      const pools = await store.listPools(projectNumber);
      return pools.filter((p) => showDeleted || p.state === 'ACTIVE');
    },
    async updatePool(caller, project, poolId, fields, mask) {
      const pool = await loadPool(caller, project, poolId, 'iam.workloadIdentityPools.update');
      requireState(pool, 'ACTIVE');
      const next: PoolRecord = { ...pool, ...checkPoolFields(masked(fields, mask), pool), updateTime: clock.now() };
      await store.putPool(next);
      return next;
    },
    async deletePool(caller, project, poolId) {
      const pool = await loadPool(caller, project, poolId, 'iam.workloadIdentityPools.delete');
      requireState(pool, 'ACTIVE');
      const next: PoolRecord = { ...pool, state: 'DELETED', deleteTime: clock.now(), updateTime: clock.now() };
      await store.putPool(next);
      return next;
    },
    async undeletePool(caller, project, poolId) {
      const pool = await loadPool(caller, project, poolId, 'iam.workloadIdentityPools.undelete');
      requireState(pool, 'DELETED');
      if (clock.now() - (pool.deleteTime ?? 0) > UNDELETE_WINDOW_MS) {
        throw new CoreError('ERR_FAILED_PRECONDITION', `${pool.name} was deleted more than 30 days ago.`);
      }
      const { deleteTime: _gone, ...rest } = pool;
      const next: PoolRecord = { ...rest, state: 'ACTIVE', updateTime: clock.now() };
      await store.putPool(next);
      return next;
    },
    async createProvider(caller, project, poolId, providerId, fields) {
      checkId(providerId, 'workloadIdentityPoolProviderId');
      const pool = await loadPool(caller, project, poolId, 'iam.workloadIdentityPoolProviders.create');
      requireState(pool, 'ACTIVE');
      const now = clock.now();
      const config = checkProviderConfig(
        {
          attributeMapping: fields.attributeMapping ?? { 'google.subject': 'assertion.sub' },
          attributeCondition: fields.attributeCondition ?? '',
          oidc: fields.oidc,
        },
        options.allowHttpIssuer,
      );
      const provider: ProviderRecord = {
        name: formatProviderName({ projectNumber: pool.projectNumber, poolId, providerId }),
        poolName: pool.name,
        projectNumber: pool.projectNumber,
        poolId,
        providerId,
        ...checkPoolFields(fields, { displayName: '', description: '', disabled: false }),
        ...config,
        state: 'ACTIVE',
        createTime: now,
        updateTime: now,
      };
      await store.createProvider(provider);
      return provider;
    },
    getProvider: (caller, project, poolId, providerId) =>
      loadProvider(caller, project, poolId, providerId, 'iam.workloadIdentityPoolProviders.get'),
    async listProviders(caller, project, poolId, showDeleted) {
      const pool = await loadPool(caller, project, poolId, 'iam.workloadIdentityPoolProviders.list');
      const providers = await store.listProviders(pool.name);
      return providers.filter((p) => showDeleted || p.state === 'ACTIVE');
    },
    async updateProvider(caller, project, poolId, providerId, fields, mask) {
      const provider = await loadProvider(
        caller,
        project,
        poolId,
        providerId,
        'iam.workloadIdentityPoolProviders.update',
      );
      requireState(provider, 'ACTIVE');
      const changes = masked(fields, mask);
      const oidc = changes.oidc === undefined ? undefined : { ...provider.oidc, ...dropUndefined(changes.oidc) };
      // A policy left unchanged is not held to a cost estimate it was not saved under.
      const policyChanged = changes.attributeMapping !== undefined || changes.attributeCondition !== undefined;
      const config = checkProviderConfig(
        {
          attributeMapping: changes.attributeMapping ?? provider.attributeMapping,
          attributeCondition: changes.attributeCondition ?? provider.attributeCondition,
          oidc: oidc ?? provider.oidc,
        },
        options.allowHttpIssuer,
        policyChanged ? undefined : Number.POSITIVE_INFINITY,
      );
      const next: ProviderRecord = {
        ...provider,
        ...checkPoolFields(changes, provider),
        ...config,
        updateTime: clock.now(),
      };
      await store.putProvider(next);
      return next;
    },
    async deleteProvider(caller, project, poolId, providerId) {
      const provider = await loadProvider(
        caller,
        project,
        poolId,
        providerId,
        'iam.workloadIdentityPoolProviders.delete',
      );
      requireState(provider, 'ACTIVE');
      const next: ProviderRecord = { ...provider, state: 'DELETED', deleteTime: clock.now(), updateTime: clock.now() };
      await store.putProvider(next);
      return next;
    },
    async undeleteProvider(caller, project, poolId, providerId) {
      const provider = await loadProvider(
        caller,
        project,
        poolId,
        providerId,
        'iam.workloadIdentityPoolProviders.undelete',
      );
      requireState(provider, 'DELETED');
      if (clock.now() - (provider.deleteTime ?? 0) > UNDELETE_WINDOW_MS) {
        throw new CoreError('ERR_FAILED_PRECONDITION', `${provider.name} was deleted more than 30 days ago.`);
      }
      const { deleteTime: _gone, ...rest } = provider;
      const next: ProviderRecord = { ...rest, state: 'ACTIVE', updateTime: clock.now() };
      await store.putProvider(next);
      return next;
    },
  };
}

function checkId(id: string, field: string): void {
  if (!RESOURCE_ID.test(id) || id.startsWith('gcp-')) {
    throw new FederationError(
      'ERR_FEDERATION_PROVIDER_CONFIG',
      `${field} must be 4-32 lowercase letters, digits or hyphens, and must not start with 'gcp-'.`,
    );
  }
}

/** Keeps only the fields named in an update mask (all given fields when the mask is empty). */
function masked<T extends object>(fields: T, mask: readonly string[]): T {
  if (mask.length === 0) return fields;
  const out: Record<string, unknown> = {};
  for (const path of mask) {
    const [top, sub] = path.split('.') as [string, string | undefined];
    const value = (fields as Record<string, unknown>)[top];
    if (sub === undefined) out[top] = value;
    else if (value !== undefined) {
      out[top] = { ...(out[top] as object | undefined), [sub]: (value as Record<string, unknown>)[sub] };
    }
  }
  return out as T;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkPoolFields(
  fields: PoolFields,
  current: { displayName: string; description: string; disabled: boolean },
): { displayName: string; description: string; disabled: boolean } {
  const displayName = fields.displayName ?? current.displayName;
  const description = fields.description ?? current.description;
  if ([...displayName].length > 32) {
    throw new FederationError('ERR_FEDERATION_PROVIDER_CONFIG', 'displayName must be at most 32 characters.');
  }
  if ([...description].length > 256) {
    throw new FederationError('ERR_FEDERATION_PROVIDER_CONFIG', 'description must be at most 256 characters.');
  }
  return { displayName, description, disabled: fields.disabled ?? current.disabled };
}

function checkProviderConfig(
  input: {
    attributeMapping: Readonly<Record<string, string>>;
    attributeCondition: string;
    oidc: ProviderFields['oidc'] | OidcConfig;
  },
  allowHttpIssuer: (url: URL) => boolean,
  estimatedCostLimit?: number,
): { attributeMapping: Readonly<Record<string, string>>; attributeCondition: string; oidc: OidcConfig } {
  const oidc = input.oidc;
  if (!oidc?.issuerUri) throw new FederationError('ERR_FEDERATION_PROVIDER_CONFIG', 'oidc.issuerUri is required.');
  const problem = issuerUriProblem(oidc.issuerUri, allowHttpIssuer);
  if (problem) throw new FederationError('ERR_FEDERATION_PROVIDER_CONFIG', `oidc.issuerUri ${problem}.`);
  const allowedAudiences = [...(oidc.allowedAudiences ?? [])];
  if (
    allowedAudiences.length > MAX_AUDIENCES ||
    allowedAudiences.some((a) => a.length === 0 || a.length > MAX_AUDIENCE_CHARS)
  ) {
    throw new FederationError(
      'ERR_FEDERATION_PROVIDER_CONFIG',
      'oidc.allowedAudiences takes at most 10 values of 1-256 characters.',
    );
  }
  const jwksJson = oidc.jwksJson ?? '';
  if (jwksJson !== '') {
    const unusable = (cause?: unknown) =>
      new FederationError(
        'ERR_FEDERATION_PROVIDER_CONFIG',
        'oidc.jwksJson holds no RSA or EC public key with a kid.',
        cause === undefined ? {} : { cause },
      );
    let usable: number;
    try {
      usable = parseJwks(jwksJson).length;
    } catch (error) {
      throw unusable(error);
    }
    if (usable === 0) throw unusable();
  }
  // Compiling checks every WIF rule and the cost estimate on the expressions; the exchange caches its own.
  compileProviderPolicy(
    { attributeMapping: input.attributeMapping, attributeCondition: input.attributeCondition },
    estimatedCostLimit === undefined ? {} : { estimatedCostLimit },
  );
  return {
    attributeMapping: { ...input.attributeMapping },
    attributeCondition: input.attributeCondition,
    oidc:
      jwksJson === ''
        ? { issuerUri: oidc.issuerUri, allowedAudiences }
        : { issuerUri: oidc.issuerUri, allowedAudiences, jwksJson },
  };
}
