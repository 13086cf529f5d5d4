// How a CLI command is declared and how its arguments and flags are parsed (gcloud conventions).
import type { ApiClient } from './api-client.ts';
import type { CliConfig } from './config-store.ts';
import { UsageError } from './errors.ts';
import { didYouMean } from './suggest.ts';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** May be given several times; the values arrive as an array. */
  readonly multiple?: boolean;
  readonly required?: boolean;
}

export interface ArgSpec {
  readonly name: string;
  readonly required?: boolean;
  /** Takes every remaining positional argument. */
  readonly variadic?: boolean;
}

export interface CommandContext {
  readonly args: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly flags: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  readonly config: CliConfig;
  readonly api: ApiClient;
  /** `--project`, else the configuration's core/project; throws a clear error when neither is set. */
  project(): string;
  /** Writes a line to stdout (results) or stderr (progress and notes). */
  out(text: string): void;
  err(text: string): void;
  /**
   * A progress line: on a terminal it replaces the previous one (a bar or counter), elsewhere it is a
   * plain line on stderr; `--quiet` drops it. `done` ends the replaced line.
   */
  progress(text: string, done?: boolean): void;
  /** stderr is a terminal that progress redraws in place (false when redirected or with --quiet). */
  readonly interactive: boolean;
  readonly env: NodeJS.ProcessEnv;
}

export interface CommandSpec {
  /** Words after `sealroom`, e.g. ['iam', 'service-accounts', 'create']. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly args?: readonly ArgSpec[];
  readonly flags?: Readonly<Record<string, FlagSpec>>;
  /**
   * The format when no --format is given, as gcloud gives each list command its own aligned
   * `table(…)`; commands without one print YAML.
   */
  readonly defaultFormat?: string;
  /** Returns the resource to print with --format (nothing printed when undefined). */
  run(ctx: CommandContext): Promise<unknown>;
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  project: { type: 'string', description: 'Project id to act on (overrides core/project).' },
  format: {
    type: 'string',
    description:
      "Output format: yaml (the default, or an aligned table for lists), json, table(FIELD[:label=NAME],…), value(FIELD,…), csv(FIELD,…), get(FIELD) or 'none'.",
  },
  api: { type: 'string', description: 'Server URL (overrides SEALROOM_API and the configuration).' },
  account: { type: 'string', description: 'Account to act as (overrides core/account).' },
  configuration: { type: 'string', description: 'Named configuration to use for this command.' },
  quiet: { type: 'boolean', description: 'Disable prompts and progress output.' },
  verbosity: {
    type: 'string',
    description: 'Notes on stderr: debug, info or warning (the default) show them; error, critical or none hide them.',
  },
  help: { type: 'boolean', description: 'Show help for the command.' },
};

export { UsageError } from './errors.ts';

export interface ParsedLine {
  readonly positionals: string[];
  readonly flags: Record<string, string | boolean | string[]>;
}

/** Splits argv into positionals and `--flag=value` / `--flag value` / `--flag` / `--no-flag` options. */
export function parseLine(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): ParsedLine {
  const positionals: string[] = [];
  const flags: Record<string, string | boolean | string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('--') || word === '--') {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    let name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    let value: string | boolean | undefined = eq < 0 ? undefined : word.slice(eq + 1);
    let spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean' && value === undefined) {
      name = name.slice(3);
      spec = specs[name];
      value = false;
    }
    if (!spec) {
      // As gcloud: `unrecognized arguments: --zonee (did you mean '--zone'?)`.
      const near = didYouMean(name, Object.keys(specs), '--');
      throw new UsageError(
        `unrecognized arguments: --${name}${near ? ` (${near.trim().replace(/^Did/, 'did')})` : ''}`,
      );
    }
    if (spec.type === 'boolean') {
      if (typeof value === 'string') {
        if (!['true', 'false'].includes(value)) throw new UsageError(`--${name} takes no value`);
        value = value === 'true';
      }
      flags[name] = value ?? true;
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        throw new UsageError(`argument --${name}: expected one argument`);
      value = next;
      i += 1;
    }
    if (spec.multiple) {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value as string);
      flags[name] = list;
    } else {
      flags[name] = value as string;
    }
  }
  return { positionals, flags };
}
