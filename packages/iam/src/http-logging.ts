// Cloud Logging's entries:write and entries:list over the project log, and chain verification.
import { type Caller, CoreError, permissionDenied } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import { AUDIT_LOG_ID, DATA_ACCESS_LOG_ID, type Severity, toLogEntryJson } from './audit.ts';
import type { IamDeps } from './deps.ts';

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

/** Supports the filters `logName="projects/P/logs/ID"` joined by OR; anything else is refused plainly. */
function parseFilter(filter: string | undefined): string[] | undefined {
  if (!filter || filter.trim() === '') return undefined;
  const names: string[] = [];
  for (const clause of filter.split(/\s+OR\s+/)) {
    const match = /^\s*logName\s*=\s*"([^"]+)"\s*$/.exec(clause);
    if (!match)
      throw new CoreError(
        'ERR_UNIMPLEMENTED',
        'Only filters of the form logName="projects/P/logs/LOG_ID" (joined by OR) are supported.',
      );
    names.push(match[1] as string);
  }
  return names;
}

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
        const names = parseFilter(body.filter)?.map((n) =>
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
        const rows = await deps.audit.list(project.projectNumber, {
          ...(names ? { logNames: names } : {}),
          newestFirst,
          pageSize: pageSize + 1,
          ...(afterSeq === undefined ? {} : { afterSeq }),
        });
        const visible = rows.filter((r) => canReadAudit || !r.logName.includes('cloudaudit.googleapis.com'));
        const page = visible.slice(0, pageSize);
        const last = page[page.length - 1];
        return {
          entries: page.map(toLogEntryJson),
          ...(rows.length > pageSize && last
            ? { nextPageToken: Buffer.from(String(last.seq)).toString('base64url') }
            : {}),
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
