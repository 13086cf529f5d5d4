// Output formats: json, yaml (the default, as gcloud), table(a.b, c:label=C), value(a.b, c), csv(…), get(a) and none.
import { UsageError } from './command.ts';

export function renderOutput(value: unknown, format: string | undefined): string {
  if (value === undefined) return '';
  const spec = (format ?? 'yaml').trim();
  if (spec === 'none') return '';
  if (spec === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  if (spec === 'yaml' || spec === 'default') return toYaml(value);
  const match = /^(value|csv|get|table)(\[[^\]]*\])?\((.*)\)$/s.exec(spec);
  if (!match)
    throw new UsageError(
      `Format [${spec}] is not supported: use json, yaml, table(FIELD,…), value(FIELD,…), csv(FIELD,…), get(FIELD) or none.`,
    );
  const kind = match[1] as 'value' | 'csv' | 'get' | 'table';
  const columns = splitFields(match[3] as string).map(parseColumn);
  if (columns.length === 0) throw new UsageError(`${kind}() needs at least one field.`);
  const rows = Array.isArray(value) ? value : [value];
  if (kind === 'table') return renderTable(rows, columns, (match[2] ?? '').includes('no-heading'));
  if (kind === 'get' && columns.length !== 1) throw new UsageError('get() takes one field.');
  const separator = kind === 'csv' ? ',' : '\t';
  return rows.map((row) => `${columns.map((c) => cellOf(row, c)).join(separator)}\n`).join('');
}

interface Column {
  readonly field: string;
  readonly label: string;
  /** gcloud's `.basename()` transform: the last `/` segment. */
  readonly basename?: boolean;
}

function cellOf(row: unknown, column: Column): string {
  const text = scalar(pick(row, column.field));
  return column.basename ? (text.split('/').at(-1) ?? text) : text;
}

/** Splits `a.b, c:label=X` at the commas that are not inside brackets or parentheses. */
function splitFields(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(' || ch === '[') depth += 1;
    if (ch === ')' || ch === ']') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((f) => f.trim()).filter(Boolean);
}

/** `field` or `field:label=NAME` (gcloud's heading attribute); the default heading is the last name, in capitals. */
function parseColumn(text: string): Column {
  const [path = '', ...attributes] = text.split(':');
  const basename = path.endsWith('.basename()');
  const field = basename ? path.slice(0, -'.basename()'.length) : path;
  const label = attributes.map((a) => /^label=(.*)$/.exec(a)?.[1]).find((l) => l !== undefined);
  const last =
    field
      .split('.')
      .at(-1)
      ?.replace(/\[\d+\]$/, '') ?? field;
  return { field, label: label ?? last.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(), basename };
}

/** Columns aligned to their widest cell, separated by two spaces, with a heading row, as gcloud's table(). */
export function renderTable(rows: readonly unknown[], columns: readonly Column[], noHeading = false): string {
  const cells = rows.map((row) => columns.map((c) => cellOf(row, c)));
  const all = noHeading ? cells : [columns.map((c) => c.label), ...cells];
  const widths = columns.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
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
