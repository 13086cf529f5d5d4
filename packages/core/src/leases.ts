// Leases in the shared database: background work (rotations, sweeps, supervision) runs in one process at a time.
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import type { SqlDatabase } from './sql.ts';

export const LEASE_MIGRATIONS: readonly string[] = [
  'CREATE TABLE sealroom_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);',
];

export interface LeasesOptions {
  readonly db: SqlDatabase;
  readonly clock: Clock;
  /** This process's name in the lease table; a random one by default. */
  readonly holder?: string;
}

/**
 * Each lease is a row naming its holder and when it lapses. A process takes a lease that is free, lapsed or
 * already its own (which renews it); a process that dies holding one loses it when it lapses, and another
 * process takes the work over then. The take is one conditional upsert, atomic on SQLite and PostgreSQL.
 */
export interface Leases {
  readonly holder: string;
  /** Takes or renews `name` for `ttlMs`; false while another process holds it. */
  acquire(name: string, ttlMs: number): Promise<boolean>;
  /** Gives `name` up if this process holds it, so another can take it at once. */
  release(name: string): Promise<void>;
  /** Whether some process holds `name` now (a lease that lapsed is held by nobody). */
  isHeld(name: string): Promise<boolean>;
}

export function createLeases(options: LeasesOptions): Leases {
  const { db, clock } = options;
  const holder = options.holder ?? randomUUID();
  let migrated: Promise<void> | undefined;
  const ready = () => {
    migrated ??= db.migrate('sealroom-leases', LEASE_MIGRATIONS).catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    return migrated;
  };
  return {
    holder,
    async acquire(name, ttlMs) {
      await ready();
      const now = clock.now();
      const { changes } = await db.run(
        `INSERT INTO sealroom_leases (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE sealroom_leases.holder = excluded.holder OR sealroom_leases.expires_at <= ?`,
        [name, holder, now + ttlMs, now],
      );
      return changes === 1;
    },
    async release(name) {
      await ready();
      await db.run('DELETE FROM sealroom_leases WHERE name = ? AND holder = ?', [name, holder]);
    },
    async isHeld(name) {
      await ready();
      return (
        (await db.get('SELECT holder FROM sealroom_leases WHERE name = ? AND expires_at > ?', [name, clock.now()])) !==
        undefined
      );
    },
  };
}

export interface LeasedScheduleOptions {
  readonly leases: Leases;
  /** The lease, one per kind of work (`kms-maintenance`). */
  readonly name: string;
  readonly intervalMs: number;
  readonly work: () => Promise<void>;
  /** Told about a failed take of the lease or a failed run of the work; the schedule goes on. */
  readonly onError: (error: unknown) => void;
}

/**
 * Runs `work` now and every `intervalMs` after, in whichever process holds the lease: the holder renews it
 * on each run (for two intervals), the others skip their turn, and when the holder stops or dies another
 * process takes over within two intervals. The returned function stops the schedule and gives the lease up.
 */
export function scheduleLeased(options: LeasedScheduleOptions): () => Promise<void> {
  const { leases, name, intervalMs } = options;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = (async () => {
      try {
        if (await leases.acquire(name, 2 * intervalMs)) await options.work();
      } catch (error) {
        options.onError(error);
      } finally {
        running = undefined;
      }
    })();
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
    await leases.release(name).catch(options.onError);
  };
}
