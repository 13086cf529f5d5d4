// The transparency log in `sealroom serve`: the log itself, the audit hook that feeds it, and its REST module.
import type { AuditRecord, Clock, Logger, Sealer, SqlDatabase, SqlExecutor } from '@sealroom/core';
import type { ServiceContext, ServiceModule } from '@sealroom/transport';
import { decisionOf } from './entry.ts';
import { transparencyRoutes } from './http.ts';
import { type PendingLeaf, type TransparencyLog, openTransparencyLog } from './log.ts';
import { TRANSPARENCY_LOG_LOCK, openSqlTransparencyStore } from './store.ts';

export interface TransparencyOptions {
  readonly db: SqlDatabase;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The deployment's base URL; a new log's origin is `<host>/transparency`. */
  readonly baseUrl: string;
  readonly checkpointIntervalMs?: number;
}

/** Opens (or creates) the deployment's log on its database. */
export async function openDeploymentLog(options: TransparencyOptions): Promise<TransparencyLog> {
  return openTransparencyLog({
    store: await openSqlTransparencyStore(options.db),
    sealer: options.sealer,
    clock: options.clock,
    logger: options.logger,
    origin: `${new URL(options.baseUrl).host}/transparency`,
    ...(options.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: options.checkpointIntervalMs }),
  });
}

/**
 * The audit hook: every audit record whose decision the log keeps (token issued, exchange, key or secret
 * use, impersonation, policy change, image signature) becomes a leaf, written in the audit entry's own
 * transaction. The caller waits until both are durable, so no decision is answered before it is logged.
 */
export function transparencyAuditSink(log: TransparencyLog) {
  return {
    serializeOn: TRANSPARENCY_LOG_LOCK,
    prepare(record: AuditRecord, projectNumber: string): PendingLeaf | undefined {
      const decision = decisionOf(record, projectNumber);
      return decision ? log.prepareAppend(decision) : undefined;
    },
    write: (tx: SqlExecutor, leaves: readonly PendingLeaf[]) => log.appendWithin(tx, leaves),
  };
}

export function transparencyModule(log: TransparencyLog, ctx: ServiceContext): ServiceModule {
  return {
    name: 'transparency',
    routes: transparencyRoutes(log, ctx),
    async start() {
      log.start();
    },
    stop: () => log.stop(),
  };
}
