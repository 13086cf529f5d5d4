// Readiness: started, and the storage takes writes; probed at most once a second however often /readyz is asked.
import type { Clock, Logger, SqlDatabase, StorageHealth } from '@sealroom/core';

/** /readyz is unauthenticated: one probe write per second at most, whatever the request rate. */
export const STORAGE_PROBE_INTERVAL_MS = 1000;

export interface StorageReadiness {
  /** The latest probe's finding; a probe that throws counts as storage that cannot be written. */
  check(): Promise<StorageHealth>;
}

export function createStorageReadiness(
  db: Pick<SqlDatabase, 'checkStorage'>,
  clock: Clock,
  logger: Logger,
): StorageReadiness {
  let last: { at: number; health: StorageHealth } | undefined;
  let inFlight: Promise<StorageHealth> | undefined;
  const probe = async (): Promise<StorageHealth> => {
    let health: StorageHealth;
    try {
      health = await db.checkStorage();
    } catch (error) {
      logger.error({ error }, 'the storage probe failed');
      health = { ok: false, fault: 'unwritable', message: 'The server’s storage could not be probed.' };
    }
    // Logged on each change only, so a long outage is one line, and so is its end.
    if (!health.ok && (last === undefined || last.health.ok)) {
      logger.error({ fault: health.fault, reason: health.message }, 'storage is failing; not ready');
    } else if (health.ok && last !== undefined && !last.health.ok) {
      logger.info({}, 'storage takes writes again; ready');
    }
    last = { at: clock.now(), health };
    return health;
  };
  return {
    check() {
      if (last && clock.now() - last.at < STORAGE_PROBE_INTERVAL_MS) return Promise.resolve(last.health);
      inFlight ??= probe().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
