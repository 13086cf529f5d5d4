// Read-through caches of database state, dropped whenever a change is announced on the database's channel,
// by this replica or any other sharing the database.
import type { Clock, SqlDatabase } from '@sealroom/core';

/** A counter that moves on every change announced on one channel of one database. */
export interface ChangeCounter {
  readonly generation: number;
}

const countersByDb = new WeakMap<SqlDatabase, Map<string, { generation: number }>>();

/**
 * The counter of `channel` on `db`, one per database and channel however many stores ask. A change here or
 * in another replica (or the notifications' MISSED_CHANGES after a reconnect) moves it.
 */
export function changeCounterOf(db: SqlDatabase, channel: string): ChangeCounter {
  let channels = countersByDb.get(db);
  if (!channels) {
    channels = new Map();
    countersByDb.set(db, channels);
  }
  let counter = channels.get(channel);
  if (!counter) {
    const created = { generation: 0 };
    db.notifications.subscribe(channel, () => {
      created.generation += 1;
    });
    counter = created;
    channels.set(channel, counter);
  }
  return counter;
}

/**
 * Announces a committed change on `channel`: this process's caches drop what they hold before this returns
 * (the publish delivers locally first), the other replicas' once they receive it. Resolves when the
 * notification was handed to the database, so an answer sent after it reaches the others after it too.
 */
export async function announceChange(db: SqlDatabase, channel: string): Promise<void> {
  changeCounterOf(db, channel);
  try {
    await db.notifications.publish(channel, '');
  } catch {
    // Unsent: the other replicas' entries lapse within their TTL anyway.
  }
}

/** Entries are trusted this long at most, so a replica that missed a notification (a broken LISTEN) heals. */
export const CHANGE_CACHE_TTL_MS = 5000;
const CHANGE_CACHE_LIMIT = 10_000;

export interface ChangeCacheOptions {
  readonly counter: ChangeCounter;
  readonly clock: Clock;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

/**
 * Values read from the database, reused until the counter moves or the TTL passes. A value read while a
 * change was being announced is not kept: `read` snapshots the generation before it asks the database.
 */
export interface ChangeCache<V> {
  get(key: string): V | undefined;
  /** Reads through: the cached value, else `load()`'s, kept unless a change raced it or `keep` refuses it. */
  read(key: string, load: () => Promise<V>, keep?: (value: V) => boolean): Promise<V>;
  /** The mark to pass to `set` for a value about to be read from the database. */
  mark(): number;
  /** Keeps a value read after `mark()`, unless a change was announced since. */
  set(key: string, value: V, mark: number): void;
  clear(): void;
}

export function createChangeCache<V>(options: ChangeCacheOptions): ChangeCache<V> {
  const { counter, clock } = options;
  const ttlMs = options.ttlMs ?? CHANGE_CACHE_TTL_MS;
  const maxEntries = options.maxEntries ?? CHANGE_CACHE_LIMIT;
  const entries = new Map<string, { value: V; until: number }>();
  let seen = counter.generation;
  const sync = () => {
    if (counter.generation !== seen) {
      entries.clear();
      seen = counter.generation;
    }
  };
  const get = (key: string): V | undefined => {
    sync();
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.value;
  };
  const set = (key: string, value: V, mark: number): void => {
    sync();
    if (mark !== seen || value === undefined) return;
    if (entries.size >= maxEntries) entries.clear();
    entries.set(key, { value, until: clock.now() + ttlMs });
  };
  return {
    get,
    async read(key, load, keep) {
      const cached = get(key);
      if (cached !== undefined) return cached;
      const mark = counter.generation;
      const value = await load();
      if (keep === undefined || keep(value)) set(key, value, mark);
      return value;
    },
    mark: () => counter.generation,
    set,
    clear() {
      entries.clear();
    },
  };
}
