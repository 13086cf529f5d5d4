// Writes of concurrent requests share one transaction: one commit (one WAL append, on PostgreSQL one round
// trip) per batch instead of one per request, each caller answered once the batch is durable.
import type { SqlDatabase, SqlRow, SqlValue } from './sql.ts';

interface Pending {
  readonly kind: 'get' | 'run';
  readonly sql: string;
  readonly params: readonly SqlValue[];
  readonly settle: (result: SqlRow | { changes: number } | undefined, error?: unknown) => void;
}

export interface GroupCommitter {
  /** `db.get` of a writing statement (`… RETURNING`), committed with the others of its batch. */
  get(sql: string, params: readonly SqlValue[]): Promise<SqlRow | undefined>;
  /** `db.run`, committed with the others of its batch. */
  run(sql: string, params: readonly SqlValue[]): Promise<{ changes: number }>;
}

/**
 * Statements that arrive while a batch commits (or within the same turn of the event loop) form the next
 * batch. A batch whose transaction fails commits nothing; its statements then run again one by one, so one
 * statement's failure (a duplicate name) is that caller's alone. Statements must be independent of each other's
 * order within a batch, as concurrent requests' are.
 */
export function createGroupCommitter(db: SqlDatabase): GroupCommitter {
  let pending: Pending[] = [];
  let scheduled = false;
  let writing: Promise<void> = Promise.resolve();

  const runAlone = (item: Pending) =>
    item.kind === 'get' ? db.get(item.sql, item.params) : db.run(item.sql, item.params);

  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    scheduled = false;
    let results: (SqlRow | { changes: number } | undefined)[];
    try {
      results = await db.transaction(async (tx) => {
        const out: (SqlRow | { changes: number } | undefined)[] = [];
        for (const item of batch) {
          out.push(item.kind === 'get' ? await tx.get(item.sql, item.params) : await tx.run(item.sql, item.params));
        }
        return out;
      });
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.settle(undefined, error);
        return;
      }
      for (const item of batch) {
        try {
          item.settle(await runAlone(item));
        } catch (alone) {
          item.settle(undefined, alone);
        }
      }
      return;
    }
    for (const [i, item] of batch.entries()) item.settle(results[i]);
  };

  const enqueue = (kind: Pending['kind'], sql: string, params: readonly SqlValue[]) =>
    new Promise<SqlRow | { changes: number } | undefined>((resolve, reject) => {
      pending.push({
        kind,
        sql,
        params,
        settle: (result, error) => (error === undefined ? resolve(result) : reject(error)),
      });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          writing = writing.then(flush);
        });
      }
    });

  return {
    get: (sql, params) => enqueue('get', sql, params) as Promise<SqlRow | undefined>,
    run: (sql, params) => enqueue('run', sql, params) as Promise<{ changes: number }>,
  };
}
