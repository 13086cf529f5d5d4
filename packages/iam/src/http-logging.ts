// Cloud Logging's entries:write and entries:list over the project log, and chain verification.
import { type Caller, CoreError, permissionDenied } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import { AUDIT_LOG_ID, DATA_ACCESS_LOG_ID, type Severity, type StoredLogEntry, toLogEntryJson } from './audit.ts';
import type { IamDeps } from './deps.ts';
import { matchesLogFilter, parseLogFilter } from './log-filter.ts';

const SEVERITIES = ['DEFAULT', 'DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL'] as const;
const LOG_NAME = /^projects\/([^/]+)\/logs\/([A-Za-z0-9_.%/-]{1,512})$/;
const MAX_PAGE = 1000;

const EntrySchema = z
  .object({
    logName: z.string().optional(),
    severity: z.enum(SEVERITIES).optional(),
    textPayload: z
      .string()
      .max(256 * 1024)
      .optional(),
    jsonPayload: z.record(z.string(), z.unknown()).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    timestamp: z.string().optional(),
    resource: z.unknown().optional(),
  })
  .strict();
const WriteSchema = z
  .object({
    logName: z.string().optional(),
    resource: z.unknown().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    entries: z.array(EntrySchema).min(1).max(1000),
  })
  .strict();
const ListSchema = z
  .object({
    resourceNames: z.array(z.string()).min(1).max(1),
    filter: z.string().max(20000).optional(),
    orderBy: z.enum(['timestamp asc', 'timestamp desc']).optional(),
    pageSize: z.number().int().min(1).max(MAX_PAGE).optional(),
    pageToken: z.string().optional(),
  })
  .strict();

/** Filtered lists scan at most this many entries per page; the page then ends early, with a page token. */
const MAX_SCANNED_PER_PAGE = 20_000;
const SCAN_BATCH = 1000;

export function loggingRoutes(deps: IamDeps): ApiRoute[] {
  const resolveProject = async (caller: Caller | undefined, permission: string, idOrNumber: string) => {
    await deps.authorizer.authorize(caller, permission, `projects/${idOrNumber}`);
    const project = await deps.projects.resolve(idOrNumber);
    if (!project) throw permissionDenied(permission, `projects/${idOrNumber}`);
    return project;
  };
  return [
    {
      method: 'POST',
      path: '/v2/entries:write',
      handler: async (req) => {
        const body = parseWith(WriteSchema, req.body);
        const byProject = new Map<
          string,
          { logId: string; severity: Severity; payload: Record<string, unknown>; labels?: Record<string, string> }[]
        >();
        for (const entry of body.entries) {
          const logName = entry.logName ?? body.logName;
          const match = logName ? LOG_NAME.exec(logName) : null;
          if (!match)
            throw new CoreError(
              'ERR_INVALID_ARGUMENT',
              "Invalid value at 'log_name': expected projects/PROJECT/logs/LOG_ID.",
            );
          const logId = match[2] as string;
          if (logId.startsWith('cloudaudit.googleapis.com')) {
            throw new CoreError('ERR_INVALID_ARGUMENT', 'Audit log names are reserved for the platform.');
          }
          const list = byProject.get(match[1] as string) ?? [];
          const labels = { ...body.labels, ...entry.labels };
          list.push({
            logId,
            severity: entry.severity ?? 'DEFAULT',
            payload: entry.jsonPayload ? { jsonPayload: entry.jsonPayload } : { textPayload: entry.textPayload ?? '' },
            ...(Object.keys(labels).length > 0 ? { labels } : {}),
          });
          byProject.set(match[1] as string, list);
        }
        for (const [idOrNumber, entries] of byProject) {
          const project = await resolveProject(req.caller, 'logging.logEntries.create', idOrNumber);
          await deps.audit.append(project.projectNumber, entries);
        }
        return {};
      },
    },
    {
      method: 'POST',
      path: '/v2/entries:list',
      handler: async (req) => {
        const body = parseWith(ListSchema, req.body);
        const match = /^projects\/([^/]+)$/.exec(body.resourceNames[0] as string);
        if (!match)
          throw new CoreError('ERR_INVALID_ARGUMENT', "Invalid value at 'resource_names': expected projects/PROJECT.");
        const project = await resolveProject(req.caller, 'logging.logEntries.list', match[1] as string);
        const filter = parseLogFilter(body.filter);
        const names = filter.logNames?.map((n) =>
          n.replace(/^projects\/[^/]+\//, `projects/${project.projectNumber}/`),
        );
        const wantsAudit = !names || names.some((n) => n.endsWith(AUDIT_LOG_ID) || n.endsWith(DATA_ACCESS_LOG_ID));
        const canReadAudit = await deps.authorizer.isAllowed(
          req.caller,
          'logging.privateLogEntries.list',
          `projects/${project.projectNumber}`,
        );
        if (wantsAudit && !canReadAudit && names)
          throw permissionDenied('logging.privateLogEntries.list', `projects/${match[1]}`);
        const pageSize = body.pageSize ?? 100;
        const afterSeq = body.pageToken ? Number(Buffer.from(body.pageToken, 'base64url').toString('utf8')) : undefined;
        if (afterSeq !== undefined && !Number.isInteger(afterSeq))
          throw new CoreError('ERR_INVALID_ARGUMENT', 'Invalid page token.');
        const newestFirst = body.orderBy === 'timestamp desc';
        const visible = (r: StoredLogEntry) => canReadAudit || !r.logName.includes('cloudaudit.googleapis.com');
        const logNames = names ? { logNames: names } : {};
        let page: StoredLogEntry[];
        let next: number | undefined;
        if (filter.indexOnly) {
          const rows = await deps.audit.list(project.projectNumber, {
            ...logNames,
            newestFirst,
            pageSize: pageSize + 1,
            ...(afterSeq === undefined ? {} : { afterSeq }),
          });
          page = rows.filter(visible).slice(0, pageSize);
          next = rows.length > pageSize ? page[page.length - 1]?.seq : undefined;
        } else {
          ({ page, next } = await scanFiltered(deps, project.projectNumber, {
            ...logNames,
            newestFirst,
            pageSize,
            afterSeq,
            keep: (r) => visible(r) && matchesLogFilter(filter, toLogEntryJson(r)),
          }));
        }
        return {
          entries: page.map(toLogEntryJson),
          ...(next === undefined ? {} : { nextPageToken: Buffer.from(String(next)).toString('base64url') }),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/logs:verify',
      handler: async (req) => {
        const project = await resolveProject(
          req.caller,
          'logging.privateLogEntries.list',
          req.params.project as string,
        );
        return deps.audit.verify(project.projectNumber);
      },
    },
  ];
}

/** Reads entries in batches until a page of matches is full, the log ends, or the scan limit is reached. */
async function scanFiltered(
  deps: IamDeps,
  projectNumber: string,
  options: {
    logNames?: readonly string[];
    newestFirst: boolean;
    pageSize: number;
    afterSeq: number | undefined;
    keep: (entry: StoredLogEntry) => boolean;
  },
): Promise<{ page: StoredLogEntry[]; next: number | undefined }> {
  const page: StoredLogEntry[] = [];
  let cursor = options.afterSeq;
  let scanned = 0;
  while (scanned < MAX_SCANNED_PER_PAGE) {
    const rows = await deps.audit.list(projectNumber, {
      ...(options.logNames ? { logNames: options.logNames } : {}),
      newestFirst: options.newestFirst,
      pageSize: SCAN_BATCH,
      ...(cursor === undefined ? {} : { afterSeq: cursor }),
    });
    for (const row of rows) {
      scanned += 1;
      cursor = row.seq;
      if (options.keep(row)) page.push(row);
      if (page.length === options.pageSize) return { page, next: cursor };
    }
    if (rows.length < SCAN_BATCH) return { page, next: undefined };
  }
  return { page, next: cursor };
}
