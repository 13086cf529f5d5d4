// The part of Cloud Logging's query language that entries:list understands: equality and `:` (has) on the
// log name, method, resource and principal, OR inside a group and AND between groups (OR binds tighter).
import { CoreError } from '@sealroom/core';

const FIELDS = {
  logName: (e: LogFilterEntry) => e.logName,
  'protoPayload.methodName': (e: LogFilterEntry) => e.protoPayload?.methodName,
  'protoPayload.resourceName': (e: LogFilterEntry) => e.protoPayload?.resourceName,
  'protoPayload.authenticationInfo.principalSubject': (e: LogFilterEntry) =>
    e.protoPayload?.authenticationInfo?.principalSubject,
} as const;
type Field = keyof typeof FIELDS;
const MAX_TERMS = 32;

export interface LogFilterEntry {
  readonly logName: string;
  readonly protoPayload?: {
    readonly methodName?: unknown;
    readonly resourceName?: unknown;
    readonly authenticationInfo?: { readonly principalSubject?: unknown };
  };
}

interface Term {
  readonly field: Field;
  readonly op: '=' | ':';
  readonly value: string;
}

export interface LogFilter {
  /** `logName="…"` terms when the filter is exactly one OR-group of them (answered by the store's index). */
  readonly logNames?: readonly string[];
  /** Every other group, all of which an entry must match (each through any of its terms). */
  readonly groups: readonly (readonly Term[])[];
}

function unsupported(): CoreError {
  return new CoreError(
    'ERR_UNIMPLEMENTED',
    `Supported filters: ${Object.keys(FIELDS).join(', ')} with = or : and a "quoted" value, joined by OR and AND.`,
  );
}

/** Parses `a="x" OR a="y" AND b:"z"`; anything else is refused plainly rather than half understood. */
export function parseLogFilter(text: string | undefined): LogFilter {
  const groups: Term[][] = [];
  if (!text || text.trim() === '') return { groups };
  const term = /^\s*([A-Za-z.]+)\s*(=|:)\s*"((?:[^"\\]|\\.)*)"\s*/;
  let rest = text;
  let current: Term[] = [];
  let count = 0;
  for (;;) {
    const m = term.exec(rest);
    if (!m || !((m[1] as string) in FIELDS) || ++count > MAX_TERMS) throw unsupported();
    const field = m[1] as Field;
    const op = m[2] as '=' | ':';
    if (field === 'logName' && op !== '=') throw unsupported();
    current.push({ field, op, value: (m[3] as string).replace(/\\(.)/g, '$1') });
    rest = rest.slice(m[0].length);
    if (rest === '') break;
    const joint = /^(OR|AND)\s+/.exec(rest);
    if (!joint) throw unsupported();
    rest = rest.slice(joint[0].length);
    if (joint[1] === 'AND') {
      groups.push(current);
      current = [];
    }
  }
  groups.push(current);
  const [only] = groups;
  if (groups.length === 1 && only?.every((t) => t.field === 'logName'))
    return { logNames: only.map((t) => t.value), groups: [] };
  if (groups.some((g) => g.some((t) => t.field === 'logName'))) throw unsupported();
  return { groups };
}

export function matchesLogFilter(filter: LogFilter, entry: LogFilterEntry): boolean {
  return filter.groups.every((group) =>
    group.some((t) => {
      const value = FIELDS[t.field](entry);
      if (typeof value !== 'string') return false;
      return t.op === '=' ? value === t.value : value.includes(t.value);
    }),
  );
}
