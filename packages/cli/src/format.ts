// Output formats: json, yaml (the default, as gcloud), value(a.b, c) and none.
import { UsageError } from './command.ts';

export function renderOutput(value: unknown, format: string | undefined): string {
  if (value === undefined) return '';
  const spec = (format ?? 'yaml').trim();
  if (spec === 'none') return '';
  if (spec === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  if (spec === 'yaml' || spec === 'default') return toYaml(value);
  const match = /^(value|csv)\((.*)\)$/s.exec(spec);
  if (!match)
    throw new UsageError(`Format [${spec}] is not supported: use json, yaml, value(FIELD,…), csv(FIELD,…) or none.`);
  const fields = (match[2] as string)
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (fields.length === 0) throw new UsageError('value() needs at least one field.');
  const rows = Array.isArray(value) ? value : [value];
  const separator = match[1] === 'csv' ? ',' : '\t';
  return rows.map((row) => fields.map((f) => scalar(pick(row, f))).join(separator) + '\n').join('');
}

/** Reads a dotted path (`a.b.c`, `list[0].x`) from a value. */
export function pick(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path.split('.')) {
    const indexed = /^([^[]*)\[(\d+)\]$/.exec(part);
    const key = indexed ? (indexed[1] as string) : part;
    if (key !== '')
      current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined;
    if (indexed) current = Array.isArray(current) ? current[Number(indexed[2])] : undefined;
  }
  return current;
}

function scalar(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(scalar).join(';');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) {
          const body = toYaml(item, `${indent}  `);
          return `${indent}- ${body.slice(indent.length + 2)}`;
        }
        return `${indent}- ${yamlScalar(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return `${indent}{}\n`;
    return entries
      .map(([k, v]) => {
        if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
          return `${indent}${k}:\n${toYaml(v, Array.isArray(v) ? indent : `${indent}  `)}`;
        }
        return `${indent}${k}: ${yamlScalar(v)}\n`;
      })
      .join('');
  }
  return `${indent}${yamlScalar(value)}\n`;
}

function yamlScalar(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object') return '{}';
  if (typeof value === 'string') {
    return value === '' ||
      /^[\s#&*!|>'"%@`{[]|[:#]\s|\s$|^(true|false|null|yes|no|~|[-+]?\d[\d.e+-]*)$/i.test(value) ||
      value.includes('\n')
      ? JSON.stringify(value)
      : value;
  }
  return String(value);
}
