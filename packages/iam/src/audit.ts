// The per-project log: audit entries and workload entries, append-only and chained with a root-key MAC; plus
// the deployment's own audit log for what belongs to no project (users, groups, credential revocation).
import type {
  AuditLog,
  AuditRecord,
  Clock,
  ProjectResolver,
  Sealer,
  SqlDatabase,
  SqlExecutor,
  SqlStatement,
} from '@sealroom/core';
import { toRfc3339 } from '@sealroom/core';
import { IamError } from './errors.ts';

export const AUDIT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE log_entries (
     project_number TEXT NOT NULL,
     seq INTEGER NOT NULL,
     time INTEGER NOT NULL,
     log_name TEXT NOT NULL,
     severity TEXT NOT NULL,
     payload TEXT NOT NULL,
     prev_mac TEXT NOT NULL,
     mac TEXT NOT NULL,
     PRIMARY KEY (project_number, seq)
   );
   CREATE TABLE log_heads (
     project_number TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     mac TEXT NOT NULL
   );`,
];

/** Log ids of the audit streams (Cloud Audit Logs' names). */
export const AUDIT_LOG_ID = 'cloudaudit.googleapis.com%2Factivity';
export const DATA_ACCESS_LOG_ID = 'cloudaudit.googleapis.com%2Fdata_access';
const MAC_LABEL = 'log-chain';
/** The chain key of the deployment log; project numbers are digits, so it cannot collide with one. */
export const DEPLOYMENT_LOG = 'deployment';
const GENESIS = '0'.repeat(64);
/** The database-wide lock under which entries are chained, whichever replica appends them. */
const AUDIT_CHAIN_LOCK = 'sealroom-audit-chain';
/** 8 parameters a row: well under SQLite's and PostgreSQL's limits on one statement's parameters. */
const INSERT_ROWS_PER_STATEMENT = 200;

export type Severity = 'DEFAULT' | 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface LogEntryInput {
  readonly logId: string;
  readonly severity: Severity;
  /** `textPayload`, `jsonPayload` or `protoPayload`, as in Cloud Logging. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface StoredLogEntry {
  readonly seq: number;
  readonly time: number;
  readonly logName: string;
  readonly severity: string;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly entries: number;
  /** The first sequence number whose entry, or whose predecessor, no longer verifies. */
  readonly brokenAt?: number;
}

export interface ProjectLog extends AuditLog {
  /** Records an administrator or credential action in the deployment log (`DEPLOYMENT_LOG`). */
  recordDeployment(entry: Omit<AuditRecord, 'project'>): Promise<void>;
  append(projectNumber: string, entries: readonly LogEntryInput[]): Promise<void>;
  list(
    projectNumber: string,
    options: { logNames?: readonly string[]; newestFirst?: boolean; pageSize: number; afterSeq?: number },
  ): Promise<StoredLogEntry[]>;
  verify(projectNumber: string): Promise<ChainVerification>;
}

interface EntryRow {
  [key: string]: string | number;
  seq: number;
  time: number;
  log_name: string;
  severity: string;
  payload: string;
  prev_mac: string;
  mac: string;
}

/**
 * Receives every audit record once its project number is known and writes what it keeps of it in the same
 * transaction as the record's entry (the deployment's transparency log is one): a batch commits both or
 * neither, in one commit, and a record is answered only once both are durable.
 */
export interface AuditSink<Item = unknown> {
  /** The lock its writes need (`TransactionOptions.serializeOn`), taken together with the audit chain's. */
  readonly serializeOn: string;
  /** What the record adds, or undefined for nothing; it runs in the caller's turn, so a throw fails that caller alone. */
  prepare(record: AuditRecord, projectNumber: string): Item | undefined;
  /**
   * Writes a batch's items inside the audit transaction (again if the database runs the transaction again);
   * the function it returns runs once that transaction committed, before any caller of the batch is answered.
   */
  write(tx: SqlExecutor, items: readonly Item[]): Promise<() => Promise<void>>;
}

export function createProjectLog(options: {
  db: SqlDatabase;
  sealer: Sealer;
  clock: Clock;
  projects: ProjectResolver;
  sink?: AuditSink;
}): ProjectLog {
  const { db, sealer, clock } = options;
  const macOf = (
    projectNumber: string,
    seq: number,
    time: number,
    logName: string,
    severity: string,
    payload: string,
    prev: string,
  ) =>
    sealer
      .mac(Buffer.from(JSON.stringify([projectNumber, seq, time, logName, severity, payload, prev])), MAC_LABEL)
      .toString('hex');

  /**
   * Appends are group-committed: callers that arrive while a commit runs share the next transaction, and
   * each resolves only once its entries are durable. Under load this turns one transaction per audited
   * request into one per batch.
   */
  let pending: {
    projectNumber: string;
    entries: readonly LogEntryInput[];
    sinkItem: unknown;
    done: (error?: unknown) => void;
  }[] = [];
  let scheduled = false;
  /** The commit in flight: the next batch gathers while it runs, so a process holds the chain lock once at a time. */
  let writing: Promise<void> = Promise.resolve();

  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    scheduled = false;
    const sink = options.sink;
    const sinkItems = sink ? batch.flatMap((item) => (item.sinkItem === undefined ? [] : [item.sinkItem])) : [];
    try {
      const afterCommit = await db.transaction(
        async (tx) => {
          const heads = new Map<string, { seq: number; mac: string }>();
          const rows: (string | number)[][] = [];
          for (const item of batch) {
            let head = heads.get(item.projectNumber);
            if (!head) {
              const row = await tx.get<{ seq: number; mac: string }>(
                'SELECT seq, mac FROM log_heads WHERE project_number = ?',
                [item.projectNumber],
              );
              head = { seq: row?.seq ?? 0, mac: row?.mac ?? GENESIS };
            }
            for (const entry of item.entries) {
              const seq: number = head.seq + 1;
              const time = clock.now();
              const logName =
                item.projectNumber === DEPLOYMENT_LOG
                  ? `${DEPLOYMENT_LOG}/logs/${entry.logId}`
                  : `projects/${item.projectNumber}/logs/${entry.logId}`;
              const payload = JSON.stringify({ ...entry.payload, ...(entry.labels ? { labels: entry.labels } : {}) });
              const mac = macOf(item.projectNumber, seq, time, logName, entry.severity, payload, head.mac);
              rows.push([item.projectNumber, seq, time, logName, entry.severity, payload, head.mac, mac]);
              head = { seq, mac };
            }
            heads.set(item.projectNumber, head);
          }
          // Many rows per statement, and every write in one batch: on a networked database each round trip
          // is time the chain's lock is held.
          const writes: SqlStatement[] = [];
          for (let i = 0; i < rows.length; i += INSERT_ROWS_PER_STATEMENT) {
            const chunk = rows.slice(i, i + INSERT_ROWS_PER_STATEMENT);
            writes.push({
              sql: `INSERT INTO log_entries (project_number, seq, time, log_name, severity, payload, prev_mac, mac) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
              params: chunk.flat(),
            });
          }
          for (const [projectNumber, head] of heads) {
            writes.push({
              sql: 'INSERT INTO log_heads (project_number, seq, mac) VALUES (?, ?, ?) ON CONFLICT (project_number) DO UPDATE SET seq = excluded.seq, mac = excluded.mac',
              params: [projectNumber, head.seq, head.mac],
            });
          }
          await tx.runBatch(writes);
          // The sink's rows ride in the same commit: one transaction per batch, not one per log.
          return sink && sinkItems.length > 0 ? sink.write(tx, sinkItems) : undefined;
        },
        // Every replica appends to the same chains: one append at a time, each reading the head the last wrote.
        { serializeOn: sink && sinkItems.length > 0 ? [AUDIT_CHAIN_LOCK, sink.serializeOn] : AUDIT_CHAIN_LOCK },
      );
      await afterCommit?.();
      for (const item of batch) item.done();
    } catch (error) {
      for (const item of batch) item.done(error);
    }
  };

  const enqueue = (projectNumber: string, entries: readonly LogEntryInput[], sinkItem?: unknown): Promise<void> => {
    if (entries.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      pending.push({
        projectNumber,
        entries,
        sinkItem,
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          writing = writing.then(flush);
        });
      }
    });
  };

  return {
    append: (projectNumber, entries) => enqueue(projectNumber, entries),
    async record(entry: AuditRecord) {
      const project = await options.projects.resolve(entry.project);
      if (!project) return;
      const sinkItem = options.sink?.prepare(entry, project.projectNumber);
      await enqueue(project.projectNumber, [toAuditEntry(entry)], sinkItem);
    },
    async recordDeployment(entry) {
      await enqueue(DEPLOYMENT_LOG, [toAuditEntry({ ...entry, project: DEPLOYMENT_LOG })]);
    },
    async list(projectNumber, query) {
      const clauses = ['project_number = ?'];
      const params: (string | number)[] = [projectNumber];
      if (query.logNames && query.logNames.length > 0) {
        clauses.push(`log_name IN (${query.logNames.map(() => '?').join(',')})`);
        params.push(...query.logNames);
      }
      if (query.afterSeq !== undefined) {
        clauses.push(query.newestFirst ? 'seq < ?' : 'seq > ?');
        params.push(query.afterSeq);
      }
      const rows = await db.all<EntryRow>(
        `SELECT * FROM log_entries WHERE ${clauses.join(' AND ')} ORDER BY seq ${query.newestFirst ? 'DESC' : 'ASC'} LIMIT ?`,
        [...params, query.pageSize],
      );
      return rows.map((row) => ({
        seq: row.seq,
        time: row.time,
        logName: row.log_name,
        severity: row.severity,
        body: JSON.parse(row.payload) as Record<string, unknown>,
      }));
    },
    async verify(projectNumber) {
      const rows = await db.all<EntryRow>('SELECT * FROM log_entries WHERE project_number = ? ORDER BY seq ASC', [
        projectNumber,
      ]);
      const head = await db.get<{ seq: number; mac: string }>(
        'SELECT seq, mac FROM log_heads WHERE project_number = ?',
        [projectNumber],
      );
      let prev = GENESIS;
      let expectedSeq = 1;
      for (const row of rows) {
        const mac = macOf(projectNumber, row.seq, row.time, row.log_name, row.severity, row.payload, row.prev_mac);
        if (row.seq !== expectedSeq || row.prev_mac !== prev || row.mac !== mac) {
          return { ok: false, entries: rows.length, brokenAt: Math.min(row.seq, expectedSeq) };
        }
        prev = row.mac;
        expectedSeq += 1;
      }
      if ((head?.seq ?? 0) !== rows.length || (head?.mac ?? GENESIS) !== prev) {
        return { ok: false, entries: rows.length, brokenAt: rows.length + 1 };
      }
      return { ok: true, entries: rows.length };
    },
  };
}

/** The Cloud Audit Logs entry of a record: who (never the credential itself), what, on which resource, outcome. */
function toAuditEntry(entry: AuditRecord): LogEntryInput {
  const caller = entry.caller;
  const authenticationInfo: Record<string, unknown> = caller
    ? caller.kind === 'federated'
      ? {
          principalSubject: caller.principal,
          federation: {
            pool: caller.federation?.pool,
            subject: caller.federation?.subject,
            attributes: caller.federation?.attributes,
          },
        }
      : {
          principalEmail: caller.principal.slice(caller.principal.indexOf(':') + 1),
          principalSubject: caller.principal,
        }
    : { principalSubject: 'anonymous' };
  if (caller) authenticationInfo.credentialId = caller.credentialId;
  return {
    logId: /\.(get|list|[A-Z][a-z]*(Get|List)\w*)$/.test(entry.method) ? DATA_ACCESS_LOG_ID : AUDIT_LOG_ID,
    severity: entry.outcome === 'ALLOWED' ? 'NOTICE' : 'WARNING',
    payload: {
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        methodName: entry.method,
        resourceName: entry.resource,
        authenticationInfo,
        authorizationInfo: [{ resource: entry.resource, granted: entry.outcome !== 'DENIED' }],
        status: entry.outcome === 'ALLOWED' ? {} : { code: entry.status ?? entry.outcome },
        ...(entry.details ? { metadata: entry.details } : {}),
      },
    },
  };
}

/** Cloud Logging's JSON shape of a stored entry. */
export function toLogEntryJson(entry: StoredLogEntry): Record<string, unknown> {
  return {
    logName: entry.logName,
    insertId: String(entry.seq),
    timestamp: toRfc3339(entry.time),
    receiveTimestamp: toRfc3339(entry.time),
    severity: entry.severity,
    ...entry.body,
  };
}

export function auditChainBroken(projectId: string, seq: number): IamError {
  return new IamError(
    'ERR_IAM_AUDIT_CHAIN_BROKEN',
    `The log of project ${projectId} fails verification at entry ${seq}.`,
  );
}
