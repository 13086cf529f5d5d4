// A cache of allowed IAM decisions, dropped whenever IAM state changes (policies, groups, principals) in any replica.
import type { Caller, Clock, SqlDatabase } from '@sealroom/core';
import { changeCounterOf } from './change-cache.ts';

/** A counter that moves on every IAM change; one per database, shared by every store writing to it. */
export interface IamChanges {
  readonly generation: number;
}

/** The channel on which IAM changes are announced to every replica on the database. */
export const IAM_CHANGE_CHANNEL = 'sealroom_iam_changes';

/** The change counter of the IAM state kept in `db`. */
export function iamChangesOf(db: SqlDatabase): IamChanges {
  return changeCounterOf(db, IAM_CHANGE_CHANNEL);
}

/**
 * Records that IAM state in `db` changed in a way that may turn an allow into a deny: a policy was set or
 * deleted, a group lost a member, a user, service account or key was disabled or deleted, a credential was
 * revoked. Every decision cache over `db` forgets what it held. Called after the change committed.
 */
export function signalIamChange(db: SqlDatabase): void {
  changeCounterOf(db, IAM_CHANGE_CHANNEL);
  // Delivered here at once (the publish calls this process's handlers before it awaits), then to the others.
  db.notifications.publish(IAM_CHANGE_CHANNEL, '').catch(() => {
    // Unsent: the other replicas' cached allows lapse within DECISION_TTL_MS anyway.
  });
}

/** Allowed decisions are reused this long at most; an IAM change drops them at once. */
export const DECISION_TTL_MS = 5000;
const DECISION_CACHE_LIMIT = 10_000;

export interface DecisionCacheOptions {
  readonly clock: Clock;
  /** What invalidates the cache; without it only `clear()` does. */
  readonly changes?: IamChanges;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

/**
 * Remembers allowed decisions only (a denial is always asked again), per credential, permission and resource.
 * An entry is used only while it is younger than the TTL, its caller's credential has not expired, and no IAM
 * change happened since the decision was *asked* (a change racing the question voids the answer).
 */
export interface DecisionCache {
  /** The generation to pass to `remember` for a decision asked now. */
  generation(): number;
  allows(caller: Caller, permission: string, resource: string): boolean;
  remember(caller: Caller, permission: string, resource: string, askedAt: number): void;
  clear(): void;
}

export function createDecisionCache(options: DecisionCacheOptions): DecisionCache {
  const { clock } = options;
  const ttlMs = options.ttlMs ?? DECISION_TTL_MS;
  const maxEntries = options.maxEntries ?? DECISION_CACHE_LIMIT;
  let cleared = 0;
  let seen = options.changes?.generation ?? 0;
  const entries = new Map<string, number>();
  const generation = () => (options.changes?.generation ?? 0) + cleared;
  const keyOf = (caller: Caller, permission: string, resource: string) =>
    `${caller.kind}\n${caller.principal}\n${caller.credentialId}\n${permission}\n${resource}`;
  const sync = () => {
    const now = generation();
    if (now !== seen) {
      entries.clear();
      seen = now;
    }
  };
  return {
    generation,
    allows(caller, permission, resource) {
      sync();
      const until = entries.get(keyOf(caller, permission, resource));
      const now = clock.now();
      return until !== undefined && until > now && caller.expiresAt > now;
    },
    remember(caller, permission, resource, askedAt) {
      sync();
      if (askedAt !== seen) return;
      if (entries.size >= maxEntries) entries.clear();
      entries.set(keyOf(caller, permission, resource), clock.now() + ttlMs);
    },
    clear() {
      cleared += 1;
      sync();
    },
  };
}
