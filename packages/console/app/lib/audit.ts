// Reading a project's log: entries as Cloud Logging returns them, filters, and what each entry says at a glance.
import { post } from './api.ts';

export interface LogEntry {
  readonly logName: string;
  readonly insertId: string;
  readonly timestamp: string;
  readonly severity: string;
  readonly textPayload?: string;
  readonly jsonPayload?: Record<string, unknown>;
  readonly labels?: Record<string, string>;
  readonly protoPayload?: {
    readonly methodName: string;
    readonly resourceName: string;
    readonly authenticationInfo?: {
      readonly principalSubject?: string;
      readonly principalEmail?: string;
      readonly federation?: { pool?: string; subject?: string; attributes?: Record<string, string> };
    };
    readonly status?: { code?: string };
    readonly metadata?: Record<string, unknown>;
  };
}

export interface EntryPage {
  readonly entries: readonly LogEntry[];
  readonly nextPageToken?: string;
}

/** Quotes a value for a Cloud Logging filter. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export async function listEntries(
  project: string,
  options: { filter?: string; pageSize?: number; pageToken?: string } = {},
): Promise<EntryPage> {
  const page = await post<EntryPage>('/v2/entries:list', {
    resourceNames: [`projects/${project}`],
    orderBy: 'timestamp desc',
    pageSize: options.pageSize ?? 50,
    ...(options.filter ? { filter: options.filter } : {}),
    ...(options.pageToken ? { pageToken: options.pageToken } : {}),
  });
  return { entries: page.entries ?? [], ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export function isRefused(entry: LogEntry): boolean {
  return entry.protoPayload !== undefined && entry.protoPayload.status?.code !== undefined;
}

export function shortMethod(method: string): string {
  return method.replace(/^google\.(cloud\.|identity\.|devtools\.)?/, '').replace(/^v1\./, '');
}

export function whoOf(entry: LogEntry): string {
  const auth = entry.protoPayload?.authenticationInfo;
  return auth?.principalEmail ?? auth?.principalSubject ?? '';
}

export function logKind(entry: LogEntry): 'audit' | 'data access' | 'workload' {
  if (entry.logName.endsWith('cloudaudit.googleapis.com%2Factivity')) return 'audit';
  if (entry.logName.endsWith('cloudaudit.googleapis.com%2Fdata_access')) return 'data access';
  return 'workload';
}
