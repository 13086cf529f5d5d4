// Cloud Logging's query language, as far as entries:list needs it for the audit and workload logs: comparisons
// (`=`, `!=`, `<`, `<=`, `>`, `>=`, `:` has) on any field path of an entry, quoted or bare values, `AND` (or
// juxtaposition), `OR` (which binds tighter than AND, as Cloud Logging defines it), `NOT` / `-`, parentheses.
import { CoreError } from '@sealroom/core';

/** Comparisons per filter and nesting depth: a filter is a request, not a program. */
const MAX_COMPARISONS = 64;
const MAX_DEPTH = 16;
/** Cloud Logging's LogSeverity order. */
const SEVERITY_RANK: Readonly<Record<string, number>> = {
  DEFAULT: 0,
  DEBUG: 100,
  INFO: 200,
  NOTICE: 300,
  WARNING: 400,
  ERROR: 500,
  CRITICAL: 600,
  ALERT: 700,
  EMERGENCY: 800,
};
const TIME_FIELDS = new Set(['timestamp', 'receiveTimestamp']);
const OPERATORS = ['>=', '<=', '!=', '=~', '!~', '=', '>', '<', ':'] as const;
type Operator = (typeof OPERATORS)[number];

/** A log entry as entries:list answers it (its JSON), which filters address by field path. */
export type LogFilterEntry = Readonly<Record<string, unknown>>;

type Node =
  | { readonly kind: 'and' | 'or'; readonly children: readonly Node[] }
  | { readonly kind: 'not'; readonly child: Node }
  | { readonly kind: 'cmp'; readonly path: readonly string[]; readonly op: Operator; readonly value: string };

export interface LogFilter {
  /** The log names an entry must have, when the filter requires one of them (answered by the store's index). */
  readonly logNames?: readonly string[];
  /** The whole filter; undefined when it is empty. */
  readonly root?: Node;
  /** True when the log names say it all (an empty filter, or only `logName=` terms): no entry needs a test. */
  readonly indexOnly: boolean;
}

function invalid(message: string): CoreError {
  return new CoreError('ERR_INVALID_ARGUMENT', `Invalid filter: ${message}`);
}

function unsupported(what: string): CoreError {
  return new CoreError(
    'ERR_UNIMPLEMENTED',
    `Unsupported filter: ${what}. Supported: comparisons (= != < <= > >= :) of a field path with a quoted or bare ` +
      'value, joined by AND, OR and NOT, with parentheses.',
  );
}

class Parser {
  private pos = 0;
  private comparisons = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  parse(): Node | undefined {
    this.skip();
    if (this.pos >= this.text.length) return undefined;
    const node = this.conjunction(0);
    this.skip();
    if (this.pos < this.text.length) throw invalid(`unexpected '${this.text.slice(this.pos, this.pos + 20)}'.`);
    return node;
  }

  private skip(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  private keyword(word: string): boolean {
    this.skip();
    const next = this.text.slice(this.pos, this.pos + word.length);
    const after = this.text[this.pos + word.length];
    if (next !== word || (after !== undefined && !/[\s(]/.test(after))) return false;
    this.pos += word.length;
    return true;
  }

  private atEnd(): boolean {
    this.skip();
    return this.pos >= this.text.length || this.text[this.pos] === ')';
  }

  private conjunction(depth: number): Node {
    const children = [this.disjunction(depth)];
    for (;;) {
      if (this.atEnd()) break;
      this.keyword('AND');
      children.push(this.disjunction(depth));
    }
    return children.length === 1 ? (children[0] as Node) : { kind: 'and', children };
  }

  private disjunction(depth: number): Node {
    const children = [this.unary(depth)];
    while (this.keyword('OR')) children.push(this.unary(depth));
    return children.length === 1 ? (children[0] as Node) : { kind: 'or', children };
  }

  private unary(depth: number): Node {
    if (depth > MAX_DEPTH) throw unsupported(`nesting deeper than ${MAX_DEPTH}`);
    this.skip();
    if (this.keyword('NOT')) return { kind: 'not', child: this.unary(depth + 1) };
    if (this.text[this.pos] === '-') {
      this.pos++;
      return { kind: 'not', child: this.unary(depth + 1) };
    }
    if (this.text[this.pos] === '(') {
      this.pos++;
      const inner = this.conjunction(depth + 1);
      this.skip();
      if (this.text[this.pos] !== ')') throw invalid('missing ).');
      this.pos++;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Node {
    if (++this.comparisons > MAX_COMPARISONS) throw unsupported(`more than ${MAX_COMPARISONS} comparisons`);
    const path: string[] = [];
    for (;;) {
      const segment = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))?.[0];
      if (segment !== undefined) {
        this.pos += segment.length;
        path.push(segment);
      } else if (this.text[this.pos] === '"' && path.length > 0) {
        path.push(this.quoted());
      } else {
        throw unsupported(`a search term without a field ('${this.text.slice(this.pos, this.pos + 20)}')`);
      }
      if (this.text[this.pos] !== '.') break;
      this.pos++;
    }
    this.skip();
    const op = OPERATORS.find((o) => this.text.startsWith(o, this.pos));
    if (!op) throw unsupported(`a search term without a comparison ('${path.join('.')}')`);
    if (op === '=~' || op === '!~') throw unsupported('regular expressions');
    this.pos += op.length;
    this.skip();
    const value = this.value();
    // Checked once here, so that a bad time or severity is an error even when no entry is compared.
    const field = path.join('.');
    if (op !== ':' && (TIME_FIELDS.has(field) || field === 'severity')) order(field, value, value);
    return { kind: 'cmp', path, op, value };
  }

  private quoted(): string {
    let out = '';
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++] as string;
      if (c === '"') return out;
      if (c === '\\') {
        const next = this.text[this.pos++];
        if (next === undefined) break;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      } else out += c;
    }
    throw invalid('unterminated string.');
  }

  private value(): string {
    if (this.text[this.pos] === '"') return this.quoted();
    const bare = /^[^\s()"]+/.exec(this.text.slice(this.pos))?.[0];
    if (bare === undefined) throw invalid('a comparison needs a value.');
    this.pos += bare.length;
    return bare;
  }
}

/** `logName="a" OR logName="b"` (possibly one conjunct of the top-level AND): those names, else undefined. */
function requiredLogNames(root: Node | undefined): string[] | undefined {
  if (!root) return undefined;
  const names = (node: Node): string[] | undefined => {
    if (node.kind === 'cmp') return node.op === '=' && node.path.join('.') === 'logName' ? [node.value] : undefined;
    if (node.kind !== 'or') return undefined;
    const all = node.children.map(names);
    return all.every((n) => n !== undefined) ? all.flat() : undefined;
  };
  if (root.kind !== 'and') return names(root);
  for (const child of root.children) {
    const found = names(child);
    if (found) return found;
  }
  return undefined;
}

/** Parses a filter; a syntax error is INVALID_ARGUMENT, a construct this subset lacks is UNIMPLEMENTED. */
export function parseLogFilter(text: string | undefined): LogFilter {
  const root = new Parser(text ?? '').parse();
  const logNames = requiredLogNames(root);
  const indexOnly = root === undefined || (logNames !== undefined && root.kind !== 'and');
  return { ...(root ? { root } : {}), ...(logNames ? { logNames } : {}), indexOnly };
}

function resolve(entry: unknown, path: readonly string[]): unknown[] {
  let values: unknown[] = [entry];
  for (const segment of path) {
    const next: unknown[] = [];
    for (const value of values) {
      const field =
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? (value as Record<string, unknown>)[segment]
          : undefined;
      if (Array.isArray(field)) next.push(...field);
      else if (field !== undefined) next.push(field);
    }
    values = next;
  }
  return values;
}

/** [whole seconds, nanoseconds] of an RFC 3339 time: a filter may be finer than a millisecond. */
function toTimeKey(text: string): [number, number] | undefined {
  const m = /^(.+?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$/i.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3] ?? ''}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) return undefined;
  return [Math.floor(ms / 1000), Number((m[2] ?? '').padEnd(9, '0'))];
}

function order(field: string, actual: string, wanted: string): number | undefined {
  if (TIME_FIELDS.has(field)) {
    const a = toTimeKey(actual);
    const b = toTimeKey(wanted);
    if (b === undefined) throw invalid(`'${wanted.slice(0, 40)}' is not a timestamp.`);
    return a === undefined ? undefined : a[0] - b[0] || a[1] - b[1];
  }
  if (field === 'severity') {
    const rank = (s: string) => SEVERITY_RANK[s.toUpperCase()] ?? (/^\d+$/.test(s) ? Number(s) : undefined);
    const a = rank(actual);
    const b = rank(wanted);
    if (b === undefined) throw invalid(`'${wanted.slice(0, 40)}' is not a severity.`);
    return a === undefined ? undefined : a - b;
  }
  const a = Number(actual);
  const b = Number(wanted);
  if (actual.trim() !== '' && wanted.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return a - b;
  return actual < wanted ? -1 : actual > wanted ? 1 : 0;
}

function compare(node: Extract<Node, { kind: 'cmp' }>, entry: LogFilterEntry): boolean {
  const values = resolve(entry, node.path);
  if (node.op === ':' && node.value === '*') return values.length > 0;
  const field = node.path.join('.');
  return values.some((raw) => {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') return false;
    const actual = String(raw);
    if (node.op === ':') return actual.toLowerCase().includes(node.value.toLowerCase());
    const diff = order(field, actual, node.value);
    if (diff === undefined) return false;
    switch (node.op) {
      case '=':
        return diff === 0;
      case '!=':
        return diff !== 0;
      case '<':
        return diff < 0;
      case '<=':
        return diff <= 0;
      case '>':
        return diff > 0;
      default:
        return diff >= 0;
    }
  });
}

function evaluate(node: Node, entry: LogFilterEntry): boolean {
  switch (node.kind) {
    case 'and':
      return node.children.every((c) => evaluate(c, entry));
    case 'or':
      return node.children.some((c) => evaluate(c, entry));
    case 'not':
      return !evaluate(node.child, entry);
    default:
      return compare(node, entry);
  }
}

/** Whether an entry (its entries:list JSON) matches; an empty filter matches everything. */
export function matchesLogFilter(filter: LogFilter, entry: LogFilterEntry): boolean {
  return filter.root === undefined || evaluate(filter.root, entry);
}
