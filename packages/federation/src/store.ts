// Storage of workload identity pools and providers: the interface the service needs and its SQL implementation,
// whose reads of single pools and providers (every exchange and every federated token's use) are cached.
import { type Clock, CoreError, type SqlDatabase } from '@sealroom/core';

export type ResourceState = 'ACTIVE' | 'DELETED';

export interface PoolRecord {
  readonly name: string;
  readonly projectNumber: string;
  readonly poolId: string;
  readonly displayName: string;
  readonly description: string;
  readonly disabled: boolean;
  readonly state: ResourceState;
  /** ms since the epoch. */
  readonly createTime: number;
  readonly updateTime: number;
  readonly deleteTime?: number;
}

export interface OidcConfig {
  readonly issuerUri: string;
  readonly allowedAudiences: readonly string[];
  /** A JWKS document as JSON text; when set, the issuer's discovery is not consulted. */
  readonly jwksJson?: string;
}

export interface ProviderRecord {
  readonly name: string;
  readonly poolName: string;
  readonly projectNumber: string;
  readonly poolId: string;
  readonly providerId: string;
  readonly displayName: string;
  readonly description: string;
  readonly disabled: boolean;
  readonly state: ResourceState;
  readonly attributeMapping: Readonly<Record<string, string>>;
  readonly attributeCondition: string;
  readonly oidc: OidcConfig;
  readonly createTime: number;
  readonly updateTime: number;
  readonly deleteTime?: number;
}

export interface FederationStore {
  /** Throws ERR_ALREADY_EXISTS when the name is taken (deleted pools keep their name until purged). */
  createPool(pool: PoolRecord): Promise<void>;
  getPool(name: string): Promise<PoolRecord | undefined>;
  listPools(projectNumber: string): Promise<PoolRecord[]>;
  putPool(pool: PoolRecord): Promise<void>;
  createProvider(provider: ProviderRecord): Promise<void>;
  getProvider(name: string): Promise<ProviderRecord | undefined>;
  listProviders(poolName: string): Promise<ProviderRecord[]>;
  putProvider(provider: ProviderRecord): Promise<void>;
}

const MIGRATIONS = [
  `CREATE TABLE federation_pools (
     name TEXT PRIMARY KEY,
     project_number TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX federation_pools_project ON federation_pools (project_number);
   CREATE TABLE federation_providers (
     name TEXT PRIMARY KEY,
     pool_name TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX federation_providers_pool ON federation_providers (pool_name);`,
];

/** The channel on which pool and provider changes are announced to every replica on the database. */
export const FEDERATION_CHANGE_CHANNEL = 'sealroom_federation_changes';
/**
 * A cached pool or provider is reused this long at most: the backstop for a change notification that never
 * arrived (a notification that was lost to a reconnect drops the whole cache anyway).
 */
export const FEDERATION_CACHE_TTL_MS = 5000;
const FEDERATION_CACHE_LIMIT = 10_000;

export interface SqlFederationStoreOptions {
  /** Times the cache; without it, reads are not cached. */
  readonly clock?: Clock;
}

/**
 * A FederationStore over SqlDatabase; records are JSON documents keyed by resource name. With a clock,
 * `getPool` and `getProvider` answer from a cache that any write, here or in another replica sharing the
 * database, drops at once (through `db.notifications`), so a disabled or deleted pool or provider, or a
 * changed condition, is seen by the next exchange.
 */
export async function createSqlFederationStore(
  db: SqlDatabase,
  options: SqlFederationStoreOptions = {},
): Promise<FederationStore> {
  await db.migrate('federation', MIGRATIONS);
  const { clock } = options;
  const cache = new Map<string, { readonly record: unknown; readonly generation: number; readonly at: number }>();
  let generation = 0;
  if (clock) {
    // Every write, or MISSED_CHANGES after a reconnect, drops everything: writes are rare, reads are per request.
    db.notifications.subscribe(FEDERATION_CHANGE_CHANNEL, () => {
      generation += 1;
      cache.clear();
    });
  }
  const changed = async () => {
    if (!clock) return;
    // Delivered here at once (before the publish awaits), then to the other replicas.
    await db.notifications.publish(FEDERATION_CHANGE_CHANNEL, '').catch(() => {
      // Unsent: the other replicas' entries lapse within FEDERATION_CACHE_TTL_MS.
    });
  };
  const cachedRead = async <T>(table: string, name: string): Promise<T | undefined> => {
    if (!clock) return read<T>(table, name);
    const key = `${table}|${name}`;
    const hit = cache.get(key);
    if (hit && hit.generation === generation && clock.now() - hit.at < FEDERATION_CACHE_TTL_MS) {
      return hit.record as T | undefined;
    }
    // The generation before the read: a change announced while it ran leaves the entry stale, never reused.
    const before = generation;
    const record = await read<T>(table, name);
    if (before === generation) {
      if (cache.size >= FEDERATION_CACHE_LIMIT) cache.clear();
      cache.set(key, { record, generation: before, at: clock.now() });
    }
    return record;
  };
  const insert = async (table: string, parentColumn: string, name: string, parent: string, data: unknown) => {
    const existing = await db.get(`SELECT name FROM ${table} WHERE name = ?`, [name]);
    if (existing) throw new CoreError('ERR_ALREADY_EXISTS', `Requested entity already exists: ${name}`);
    await db.run(`INSERT INTO ${table} (name, ${parentColumn}, data) VALUES (?, ?, ?)`, [
      name,
      parent,
      JSON.stringify(data),
    ]);
    await changed();
  };
  const read = async <T>(table: string, name: string): Promise<T | undefined> => {
    const row = await db.get<{ data: string }>(`SELECT data FROM ${table} WHERE name = ?`, [name]);
    return row ? (JSON.parse(row.data) as T) : undefined;
  };
  const list = async <T>(table: string, parentColumn: string, parent: string): Promise<T[]> => {
    const rows = await db.all<{ data: string }>(`SELECT data FROM ${table} WHERE ${parentColumn} = ? ORDER BY name`, [
      parent,
    ]);
    return rows.map((row) => JSON.parse(row.data) as T);
  };
  const put = async (table: string, name: string, data: unknown) => {
    await db.run(`UPDATE ${table} SET data = ? WHERE name = ?`, [JSON.stringify(data), name]);
    await changed();
  };
  return {
    createPool: (pool) => insert('federation_pools', 'project_number', pool.name, pool.projectNumber, pool),
    getPool: (name) => cachedRead<PoolRecord>('federation_pools', name),
    listPools: (projectNumber) => list<PoolRecord>('federation_pools', 'project_number', projectNumber),
    putPool: (pool) => put('federation_pools', pool.name, pool),
    createProvider: (provider) =>
      insert('federation_providers', 'pool_name', provider.name, provider.poolName, provider),
    getProvider: (name) => cachedRead<ProviderRecord>('federation_providers', name),
    listProviders: (poolName) => list<ProviderRecord>('federation_providers', 'pool_name', poolName),
    putProvider: (provider) => put('federation_providers', provider.name, provider),
  };
}
