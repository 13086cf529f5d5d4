// A service's configuration fragment: each key's schema, default, SEALROOM_* variable, flag and meaning.
import { readFileSync } from 'node:fs';
import { CoreError } from '@sealroom/core';
import { z } from 'zod';

/** One setting: how it is checked, where it can be set, and what it means (the source of docs/config.md). */
export interface ConfigKey<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  /** The `SEALROOM_*` variable that sets it; its text is read as the schema's type (integer, boolean, comma list). */
  readonly env?: string;
  /** The `sealroom serve` flag that sets it, without the dashes. */
  readonly flag?: string;
  /** The default in a reader's words, where the schema's own default does not say it (`all`, `http://HOST:PORT`). */
  readonly defaultText?: string;
  /** What it does, in Markdown; its first sentence is the flag's help. */
  readonly description: string;
}

export type ConfigKeys = Readonly<Record<string, ConfigKey>>;
type ShapeOf<K extends ConfigKeys> = { -readonly [P in keyof K]: K[P]['schema'] };
export type ConfigSchema<K extends ConfigKeys> = z.ZodObject<ShapeOf<K>, z.core.$strict>;
/** The values of a fragment once parsed: defaults filled in. */
export type ConfigValues<K extends ConfigKeys> = z.output<ConfigSchema<K>>;

export interface ConfigFragmentSpec<K extends ConfigKeys> {
  /** Who contributes it: `server` for the deployment-wide keys, else the service's `--only` name. */
  readonly name: string;
  /** The heading of its section in docs/config.md. */
  readonly title: string;
  /** The fragment's object in the configuration file (`{"pubsub": {…}}`); absent for the file's top level. */
  readonly section?: string;
  /** Variables under this prefix that are none of the fragment's are refused, so that a typo does not pass silently. */
  readonly envPrefix?: string;
  /** A variable naming a JSON file that holds the fragment's keys (read before the other variables). */
  readonly fileEnv?: string;
  readonly keys: K;
  /** Rules across keys, run once each key is valid; throws ERR_CONFIG. */
  check?(values: ConfigValues<K>): void;
  /** Markdown shown above the fragment's table in docs/config.md. */
  readonly intro?: string;
}

export interface ConfigFragment<K extends ConfigKeys = ConfigKeys> extends ConfigFragmentSpec<K> {
  /** The fragment's keys as one strict zod object: unknown keys are refused. */
  readonly schema: ConfigSchema<K>;
}

/** How a variable's or flag's text becomes a value. */
export type ConfigTextKind = 'integer' | 'number' | 'boolean' | 'list' | 'string' | 'json';

/** Raw values gathered for a fragment, and for each key the variable (or file) that set it. */
export interface ConfigEnvValues {
  readonly values: Record<string, unknown>;
  readonly sources: Readonly<Record<string, string>>;
}

const ENV_NAME = /^SEALROOM_[A-Z0-9_]+$/;

/** Builds a fragment; a variable outside `SEALROOM_*` or outside the fragment's own prefix is a defect here. */
export function defineConfigFragment<const K extends ConfigKeys>(spec: ConfigFragmentSpec<K>): ConfigFragment<K> {
  const shape = Object.fromEntries(Object.entries(spec.keys).map(([name, key]) => [name, key.schema])) as ShapeOf<K>;
  for (const [name, key] of Object.entries(spec.keys)) {
    const env = key.env;
    if (env !== undefined && (!ENV_NAME.test(env) || (spec.envPrefix !== undefined && !env.startsWith(spec.envPrefix))))
      throw new CoreError(
        'ERR_CONFIG',
        `The setting '${name}' of ${spec.name} names the variable ${env} outside its prefix.`,
      );
  }
  return { ...spec, schema: z.strictObject(shape) };
}

/** The JSON Schema of one key (zod's own rendering), the ground for its kind, type and default text. */
function jsonSchemaOf(key: ConfigKey): Record<string, unknown> {
  return z.toJSONSchema(key.schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export function configTextKindOf(key: ConfigKey): ConfigTextKind {
  const schema = jsonSchemaOf(key);
  switch (schema.type) {
    case 'integer':
    case 'number':
    case 'boolean':
    case 'string':
      return schema.type;
    case 'array':
      return (schema.items as { type?: unknown } | undefined)?.type === 'string' ? 'list' : 'json';
    default:
      return Array.isArray(schema.enum) ? 'string' : 'json';
  }
}

/** Reads the text of a variable or flag (`name` says which, for the message) as a value of `kind`. */
export function fromConfigText(kind: ConfigTextKind, text: string, name: string): unknown {
  switch (kind) {
    case 'integer':
      if (!/^-?\d+$/.test(text)) throw new CoreError('ERR_CONFIG', `${name} must be an integer.`);
      return Number(text);
    case 'number':
      if (!/^-?\d+(\.\d+)?$/.test(text)) throw new CoreError('ERR_CONFIG', `${name} must be a number.`);
      return Number(text);
    case 'boolean':
      if (!['true', 'false', '1', '0'].includes(text))
        throw new CoreError('ERR_CONFIG', `${name} must be true or false.`);
      return text === 'true' || text === '1';
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new CoreError('ERR_CONFIG', `${name} must be JSON.`);
      }
    default:
      return text;
  }
}

/** A JSON file of configuration values: an object, or ERR_CONFIG naming who pointed at it. */
export function readConfigFile(path: string, namedBy: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CoreError('ERR_CONFIG', `${namedBy} does not name a readable JSON file.`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new CoreError('ERR_CONFIG', `${namedBy} names a JSON file that does not hold an object.`);
  return value as Record<string, unknown>;
}

/**
 * The values a fragment's variables set: first the file its `fileEnv` names, then each key's own
 * variable. Empty variables count as unset; unknown variables under `envPrefix` are refused.
 */
export function readConfigEnv<K extends ConfigKeys>(
  fragment: ConfigFragment<K>,
  env: NodeJS.ProcessEnv,
): ConfigEnvValues {
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const known = new Set(Object.values(fragment.keys).flatMap((key) => (key.env === undefined ? [] : [key.env])));
  if (fragment.fileEnv !== undefined) known.add(fragment.fileEnv);
  if (fragment.envPrefix !== undefined) {
    for (const name of Object.keys(env).sort()) {
      if (name.startsWith(fragment.envPrefix) && !known.has(name))
        throw new CoreError('ERR_CONFIG', `Unknown setting ${name}.`);
    }
  }
  const file = fragment.fileEnv === undefined ? undefined : env[fragment.fileEnv];
  if (fragment.fileEnv !== undefined && file !== undefined && file !== '') {
    for (const [name, value] of Object.entries(readConfigFile(file, fragment.fileEnv))) {
      values[name] = value;
      sources[name] = fragment.fileEnv;
    }
  }
  for (const [name, key] of Object.entries(fragment.keys)) {
    const text = key.env === undefined ? undefined : env[key.env];
    if (key.env === undefined || text === undefined || text === '') continue;
    values[name] = fromConfigText(configTextKindOf(key), text, key.env);
    sources[name] = key.env;
  }
  return { values, sources };
}

/**
 * ERR_CONFIG for the first problem zod found, naming the key by its path in the configuration file and,
 * when a variable set it, the variable too.
 */
export function toConfigError(error: z.ZodError, sources: Readonly<Record<string, string>> = {}): CoreError {
  const issue = error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const where = issue?.code === 'unrecognized_keys' ? [...path, issue.keys.join(', ')].join('.') : path.join('.');
  let source: string | undefined;
  for (let n = path.length; n > 0 && source === undefined; n--) source = sources[path.slice(0, n).join('.')];
  return new CoreError(
    'ERR_CONFIG',
    `Invalid configuration at '${where}'${source === undefined ? '' : ` (set by ${source})`}: ${issue?.message ?? 'invalid'}.`,
  );
}

/** Parses one fragment's values alone (a service run by itself, or tests): defaults, key checks, then `check`. */
export function parseConfigFragment<K extends ConfigKeys>(
  fragment: ConfigFragment<K>,
  value: unknown,
  sources: Readonly<Record<string, string>> = {},
): ConfigValues<K> {
  const result = fragment.schema.safeParse(value ?? {});
  if (!result.success) {
    const prefix = fragment.section === undefined ? [] : [fragment.section];
    const prefixed = Object.fromEntries(Object.entries(sources).map(([k, v]) => [[...prefix, k].join('.'), v]));
    const issues = result.error.issues.map((issue) => ({ ...issue, path: [...prefix, ...issue.path] }));
    throw toConfigError(new z.ZodError(issues), prefixed);
  }
  fragment.check?.(result.data as ConfigValues<K>);
  return result.data as ConfigValues<K>;
}

/** What docs/config.md and `--help` say of a key's type and default. */
export function describeConfigKey(key: ConfigKey): { readonly type: string; readonly defaultText: string } {
  const schema = jsonSchemaOf(key);
  return { type: typeText(schema), defaultText: key.defaultText ?? defaultTextOf(schema) };
}

function typeText(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((v) => `\`${String(v)}\``).join(', ')}`;
  switch (schema.type) {
    case 'integer': {
      const min = schema.minimum as number | undefined;
      const max = schema.maximum as number | undefined;
      const bounded = max !== undefined && max < Number.MAX_SAFE_INTEGER;
      if (min !== undefined && bounded) return `integer from ${min} to ${max}`;
      if (min !== undefined) return `integer ≥ ${min}`;
      return bounded ? `integer ≤ ${max}` : 'integer';
    }
    case 'string':
      return schema.format === 'uri' ? 'URL' : 'string';
    case 'array': {
      const items = (schema.items ?? {}) as Record<string, unknown>;
      return items.type === 'object' ? 'list of objects' : `list of ${typeText(items)}s`;
    }
    default:
      return typeof schema.type === 'string' ? schema.type : 'value';
  }
}

function defaultTextOf(schema: Record<string, unknown>): string {
  if (!('default' in schema)) return 'unset';
  const value = schema.default;
  if (Array.isArray(value) && value.length === 0) return 'none';
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}
