// Stores one IAM policy per resource (canonical name), with etags for optimistic concurrency.
import { type Clock, pooledRandomBytes, type SqlDatabase, type SqlExecutor, systemClock } from '@sealroom/core';
import { createChangeCache } from './change-cache.ts';
import { IamError } from './errors.ts';
import { type Binding, EMPTY_POLICY_ETAG, type Policy } from './policy.ts';
import { iamChangesOf, signalIamChange } from './decisions.ts';

export const POLICY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_policies (
     resource TEXT PRIMARY KEY,
     version INTEGER NOT NULL,
     bindings TEXT NOT NULL,
     etag TEXT NOT NULL,
     update_time INTEGER NOT NULL
   );`,
];

export interface PolicyStore {
  get(resource: string): Promise<Policy>;
  getMany(resources: readonly string[]): Promise<Policy[]>;
  /** Replaces the policy; a given etag must match the current one (else ABORTED). Returns the stored policy. */
  set(
    resource: string,
    policy: { version: number; bindings: readonly Binding[] },
    etag: string | undefined,
    now: number,
  ): Promise<Policy>;
  /** Read-modify-write under one transaction (used by add/remove-binding helpers and project creation). */
  update(resource: string, change: (current: Policy) => readonly Binding[], now: number): Promise<Policy>;
  delete(resource: string): Promise<void>;
}

interface PolicyRow {
  [key: string]: string | number;
  resource: string;
  version: number;
  bindings: string;
  etag: string;
}

/**
 * Policies are read on every authorization (the resource and each ancestor), so `getMany` reads through a
 * cache of parsed policies, absent ones included, that every IAM change drops here and in the other
 * replicas (`signalIamChange` follows each write below and every other write to `iam_policies`).
 * `get` (the read half of a read-modify-write) always reads the database.
 */
export function createSqlPolicyStore(db: SqlDatabase, clock: Clock = systemClock): PolicyStore {
  const read = async (exec: SqlExecutor, resource: string): Promise<Policy> => {
    const row = await exec.get<PolicyRow>('SELECT * FROM iam_policies WHERE resource = ?', [resource]);
    return row ? toPolicy(row) : { version: 1, bindings: [], etag: EMPTY_POLICY_ETAG };
  };
  const cache = createChangeCache<Policy | null>({ counter: iamChangesOf(db), clock });
  return {
    get: (resource) => read(db, resource),
    async getMany(resources) {
      if (resources.length === 0) return [];
      let cached = resources.map((resource) => cache.get(resource));
      const missing = resources.filter((_, i) => cached[i] === undefined);
      if (missing.length > 0) {
        const mark = cache.mark();
        const rows = await db.all<PolicyRow>(
          `SELECT * FROM iam_policies WHERE resource IN (${missing.map(() => '?').join(',')})`,
          missing,
        );
        const read = new Map(rows.map((row) => [row.resource, toPolicy(row)]));
        for (const resource of missing) cache.set(resource, read.get(resource) ?? null, mark);
        cached = resources.map((resource, i) => cached[i] ?? read.get(resource) ?? null);
      }
      return cached.filter((policy): policy is Policy => policy !== null && policy !== undefined);
    },
    async set(resource, policy, etag, now) {
      const stored = await db.transaction(async (tx) => {
        const current = await read(tx, resource);
        if (etag !== undefined && etag !== current.etag) {
          throw new IamError(
            'ERR_IAM_STALE_ETAG',
            'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
          );
        }
        return writePolicy(tx, resource, policy.version, policy.bindings, now);
      });
      signalIamChange(db);
      return stored;
    },
    async update(resource, change, now) {
      const stored = await db.transaction(async (tx) => {
        const current = await read(tx, resource);
        return writePolicy(tx, resource, current.version, change(current), now);
      });
      signalIamChange(db);
      return stored;
    },
    async delete(resource) {
      await db.run('DELETE FROM iam_policies WHERE resource = ?', [resource]);
      signalIamChange(db);
    },
  };
}

/**
 * Writes a resource's policy with a fresh etag through `exec`, so that a caller can make it part of
 * a larger transaction (a project and its owner policy are created together).
 */
export async function writePolicy(
  exec: SqlExecutor,
  resource: string,
  version: number,
  bindings: readonly Binding[],
  now: number,
): Promise<Policy> {
  const etag = pooledRandomBytes(8).toString('base64');
  const needsV3 = bindings.some((b) => b.condition);
  const storedVersion = needsV3 ? 3 : version;
  await exec.run(
    `INSERT INTO iam_policies (resource, version, bindings, etag, update_time) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (resource) DO UPDATE SET version = excluded.version, bindings = excluded.bindings, etag = excluded.etag, update_time = excluded.update_time`,
    [resource, storedVersion, JSON.stringify(bindings), etag, now],
  );
  return { version: storedVersion, bindings, etag };
}

function toPolicy(row: PolicyRow): Policy {
  return { version: row.version, bindings: JSON.parse(row.bindings) as Binding[], etag: row.etag };
}

/**
 * Replaces one member string in every stored policy, giving each changed policy a new etag (used
 * when a service account is deleted or undeleted).
 */
export async function replaceMember(exec: SqlExecutor, from: string, to: string, now: number): Promise<void> {
  // LIKE only narrows the scan (its `_` may match more); the exact comparison below decides.
  const rows = await exec.all<{ resource: string; bindings: string }>(
    'SELECT resource, bindings FROM iam_policies WHERE bindings LIKE ?',
    [`%${from}%`],
  );
  for (const row of rows) {
    const bindings = JSON.parse(row.bindings) as Binding[];
    let changed = false;
    const next = bindings.map((b) => ({
      ...b,
      members: b.members.map((m) => {
        if (m !== from) return m;
        changed = true;
        return to;
      }),
    }));
    if (!changed) continue;
    await exec.run('UPDATE iam_policies SET bindings = ?, etag = ?, update_time = ? WHERE resource = ?', [
      JSON.stringify(next),
      pooledRandomBytes(8).toString('base64'),
      now,
      row.resource,
    ]);
  }
}
