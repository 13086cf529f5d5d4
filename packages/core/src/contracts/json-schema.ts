// The subset of JSON Schema (draft 2020-12) the wire contracts are written in, and its one validator.
//
// The contracts' schemas are data (published as JSON, compared with the shared contract files in tests),
// and this interpreter is the only code that judges a value against them, so a schema and its check
// cannot drift. Keywords outside the subset are refused when a schema is checked in tests
// (`SCHEMA_KEYWORDS`), never silently ignored.

/** A schema in the supported subset; annotations (`title`, `description`, `$id`, `$schema`) are kept, unused. */
export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly maxProperties?: number;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: 'uri';
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly (string | number | boolean)[];
  readonly const?: string | number | boolean;
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly if?: JsonSchema;
  readonly then?: JsonSchema;
  /** Filled in by `applyDefaults` where the property is absent (a JSON value). */
  readonly default?: unknown;
}

/** Every keyword the validator understands; a schema using another one is a bug in the schema. */
export const SCHEMA_KEYWORDS: readonly string[] = [
  '$schema',
  '$id',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'maxProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'enum',
  'const',
  'oneOf',
  'allOf',
  'if',
  'then',
  'default',
];

/**
 * The first way a value breaks a schema: where (`submods.container.args[0]`; `''` for the value itself),
 * and whether a required member is missing, a member is not allowed, or a value is wrong. `rule` says
 * what was expected, without quoting the value (values may be tokens or evidence).
 */
export interface SchemaIssue {
  readonly path: string;
  readonly kind: 'missing' | 'unknown' | 'invalid';
  readonly rule: string;
}

type JsonObject = { readonly [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: string | number | boolean): string {
  return JSON.stringify(value);
}

const patterns = new Map<string, RegExp>();
function regex(source: string): RegExp {
  let compiled = patterns.get(source);
  if (compiled === undefined) {
    compiled = new RegExp(source, 'u');
    patterns.set(source, compiled);
  }
  return compiled;
}

function typeIssue(schema: JsonSchema, value: unknown, path: string): SchemaIssue | undefined {
  const type = schema.type;
  if (type === undefined) return undefined;
  const ok =
    type === 'object'
      ? isObject(value)
      : type === 'array'
        ? Array.isArray(value)
        : type === 'integer'
          ? typeof value === 'number' && Number.isInteger(value)
          : type === 'number'
            ? typeof value === 'number' && Number.isFinite(value)
            : typeof value === type;
  return ok
    ? undefined
    : { path, kind: 'invalid', rule: `expected ${type === 'integer' ? 'an integer' : `a ${type}`}` };
}

/** Code points of `value` when UTF-16 length alone cannot decide `bound` (evidence strings run to megabytes). */
function codePointsBeyond(value: string, bound: number): boolean {
  if (value.length <= bound) return false;
  if (value.length > 2 * bound) return true;
  let count = 0;
  for (const _ of value) if (++count > bound) return true;
  return false;
}

function stringIssue(schema: JsonSchema, value: string, path: string): SchemaIssue | undefined {
  if (schema.minLength !== undefined && !codePointsBeyond(value, schema.minLength - 1)) {
    const rule = schema.minLength === 1 ? 'must not be empty' : `at least ${schema.minLength} characters`;
    return { path, kind: 'invalid', rule };
  }
  if (schema.maxLength !== undefined && codePointsBeyond(value, schema.maxLength)) {
    return { path, kind: 'invalid', rule: `at most ${schema.maxLength} characters` };
  }
  if (schema.pattern !== undefined && !regex(schema.pattern).test(value)) {
    return { path, kind: 'invalid', rule: `must match ${schema.pattern}` };
  }
  if (schema.format === 'uri' && !/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/.test(value)) {
    return { path, kind: 'invalid', rule: 'must be an absolute URI' };
  }
  return undefined;
}

function numberIssue(schema: JsonSchema, value: number, path: string): SchemaIssue | undefined {
  if (schema.minimum !== undefined && value < schema.minimum)
    return { path, kind: 'invalid', rule: `at least ${schema.minimum}` };
  if (schema.maximum !== undefined && value > schema.maximum)
    return { path, kind: 'invalid', rule: `at most ${schema.maximum}` };
  return undefined;
}

function arrayIssue(schema: JsonSchema, value: readonly unknown[], path: string): SchemaIssue | undefined {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    return {
      path,
      kind: 'invalid',
      rule: schema.minItems === 1 ? 'must not be empty' : `at least ${schema.minItems} items`,
    };
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    return {
      path,
      kind: 'invalid',
      rule: schema.maxItems === 0 ? 'must be empty' : `at most ${schema.maxItems} items`,
    };
  }
  if (schema.items !== undefined) {
    for (const [index, item] of value.entries()) {
      const issue = firstIssue(schema.items, item, `${path}[${index}]`);
      if (issue !== undefined) return issue;
    }
  }
  if (schema.uniqueItems === true) {
    const seen = new Set(value.map((item) => JSON.stringify(item)));
    if (seen.size !== value.length) return { path, kind: 'invalid', rule: 'items must be unique' };
  }
  return undefined;
}

function objectIssue(schema: JsonSchema, value: JsonObject, path: string): SchemaIssue | undefined {
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (!Object.hasOwn(value, name)) return { path: join(path, name), kind: 'missing', rule: 'is required' };
  }
  const keys = Object.keys(value);
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) {
    return { path, kind: 'invalid', rule: `at most ${schema.maxProperties} members` };
  }
  for (const key of keys) {
    const member = value[key];
    if (schema.propertyNames !== undefined) {
      const issue = firstIssue(schema.propertyNames, key, join(path, key));
      if (issue !== undefined) return { ...issue, rule: `name ${issue.rule}` };
    }
    const declared = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (declared !== undefined) {
      const issue = firstIssue(declared, member, join(path, key));
      if (issue !== undefined) return issue;
      continue;
    }
    const extra = schema.additionalProperties;
    if (extra === false) return { path: join(path, key), kind: 'unknown', rule: 'is not a known member' };
    if (extra !== undefined && extra !== true) {
      const issue = firstIssue(extra, member, join(path, key));
      if (issue !== undefined) return issue;
    }
  }
  return undefined;
}

function combinatorIssue(schema: JsonSchema, value: unknown, path: string): SchemaIssue | undefined {
  if (schema.oneOf !== undefined) {
    const outcomes = schema.oneOf.map((branch) => firstIssue(branch, value, path));
    const passing = outcomes.filter((issue) => issue === undefined).length;
    if (passing !== 1) {
      const kinds = schema.oneOf.map((branch) => branch.type ?? 'value').join(' or ');
      return { path, kind: 'invalid', rule: `expected exactly one of: ${kinds}` };
    }
  }
  for (const branch of schema.allOf ?? []) {
    const issue = firstIssue(branch, value, path);
    if (issue !== undefined) return issue;
  }
  if (schema.if !== undefined && schema.then !== undefined && firstIssue(schema.if, value, path) === undefined) {
    return firstIssue(schema.then, value, path);
  }
  return undefined;
}

/** The first issue of `value` against `schema`, depth first in the schema's own order; undefined when it conforms. */
export function firstIssue(schema: JsonSchema, value: unknown, path = ''): SchemaIssue | undefined {
  const typed = typeIssue(schema, value, path);
  if (typed !== undefined) return typed;
  if (schema.const !== undefined && value !== schema.const) {
    return { path, kind: 'invalid', rule: `must be ${describe(schema.const)}` };
  }
  if (schema.enum !== undefined && !schema.enum.some((option) => option === value)) {
    return { path, kind: 'invalid', rule: `must be one of ${schema.enum.map(describe).join(', ')}` };
  }
  const own =
    typeof value === 'string'
      ? stringIssue(schema, value, path)
      : typeof value === 'number'
        ? numberIssue(schema, value, path)
        : Array.isArray(value)
          ? arrayIssue(schema, value, path)
          : isObject(value)
            ? objectIssue(schema, value, path)
            : undefined;
  return own ?? combinatorIssue(schema, value, path);
}

/**
 * Fills, in place, the `default` of every absent declared member along the value (a JSON tree the caller
 * owns, never a caller's input). Members of the wrong type are left for `firstIssue` to report.
 */
export function applyDefaults(schema: JsonSchema, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applyDefaults(schema.items, item);
    return;
  }
  if (!isObject(value) || schema.properties === undefined) return;
  for (const [name, member] of Object.entries(schema.properties)) {
    if (Object.hasOwn(value, name)) applyDefaults(member, value[name]);
    else if (member.default !== undefined) {
      Object.defineProperty(value, name, {
        value: structuredClone(member.default),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
}
