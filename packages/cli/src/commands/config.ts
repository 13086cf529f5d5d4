// `sealroom config …`: named configurations and their properties (account, project, compute/zone,
// compute/region, api).
import { type CommandSpec, UsageError } from '../command.ts';
import type { Configuration } from '../config-store.ts';
import { didYouMean } from '../suggest.ts';

const PROPERTIES: Record<string, (c: Configuration) => string | undefined> = {
  'core/account': (c) => c.core?.account,
  'core/project': (c) => c.core?.project,
  'compute/zone': (c) => c.compute?.zone,
  'compute/region': (c) => c.compute?.region,
  api: (c) => c.api,
};

function normalise(key: string): string {
  const full = key === 'account' || key === 'project' ? `core/${key}` : key === 'api/url' ? 'api' : key;
  if (!(full in PROPERTIES))
    throw new UsageError(
      `Section or property [${key}] is not known: use ${Object.keys(PROPERTIES).join(', ')}.${didYouMean(full, Object.keys(PROPERTIES))}`,
    );
  return full;
}

/** The configuration with `key` (`section/name` or `api`) set to `value`, or removed when undefined. */
function withProperty(current: Configuration, key: string, value: string | undefined): Configuration {
  if (key === 'api') {
    const { api: _api, ...rest } = current;
    return value === undefined ? rest : { ...rest, api: value.replace(/\/+$/, '') };
  }
  const [section, name] = key.split('/') as ['core' | 'compute', string];
  const next = { ...current, [section]: { ...current[section], [name]: value } };
  return JSON.parse(JSON.stringify(next)) as Configuration;
}

export const configCommands: CommandSpec[] = [
  {
    path: ['config', 'configurations', 'create'],
    summary: 'Creates a named configuration and activates it.',
    args: [{ name: 'NAME', required: true }],
    flags: { 'no-activate': { type: 'boolean', description: 'Do not activate the new configuration.' } },
    async run(ctx) {
      const name = ctx.args.NAME as string;
      ctx.config.create(name);
      ctx.err(`Created [${name}].`);
      if (!ctx.flags['no-activate']) {
        ctx.config.activate(name);
        ctx.err(`Activated [${name}].`);
      }
      return undefined;
    },
  },
  {
    path: ['config', 'configurations', 'activate'],
    summary: 'Activates a named configuration.',
    args: [{ name: 'NAME', required: true }],
    async run(ctx) {
      ctx.config.activate(ctx.args.NAME as string);
      ctx.err(`Activated [${ctx.args.NAME}].`);
      return undefined;
    },
  },
  {
    path: ['config', 'configurations', 'list'],
    summary: 'Lists the named configurations.',
    defaultFormat: 'table(name, is_active, account, project, api)',
    async run(ctx) {
      return ctx.config.list().map((c) => ({
        name: c.name,
        is_active: c.active,
        account: c.config.core?.account ?? '',
        project: c.config.core?.project ?? '',
        api: c.config.api ?? '',
      }));
    },
  },
  {
    path: ['config', 'set'],
    summary: 'Sets a property (account, project, compute/zone, compute/region, api) of the active configuration.',
    args: [
      { name: 'PROPERTY', required: true },
      { name: 'VALUE', required: true },
    ],
    async run(ctx) {
      const key = normalise(ctx.args.PROPERTY as string);
      const value = ctx.args.VALUE as string;
      const name = ctx.config.currentName;
      const current = ctx.config.read(name);
      const next = withProperty(current, key, value);
      ctx.config.write(name, next);
      ctx.err(`Updated property [${key}].`);
      return undefined;
    },
  },
  {
    path: ['config', 'unset'],
    summary: 'Unsets a property of the active configuration.',
    args: [{ name: 'PROPERTY', required: true }],
    async run(ctx) {
      const key = normalise(ctx.args.PROPERTY as string);
      const name = ctx.config.currentName;
      const current = ctx.config.read(name);
      ctx.config.write(name, withProperty(current, key, undefined));
      ctx.err(`Unset property [${key}].`);
      return undefined;
    },
  },
  {
    path: ['config', 'get-value'],
    summary: 'Prints the value of a property.',
    args: [{ name: 'PROPERTY', required: true }],
    async run(ctx) {
      const key = normalise(ctx.args.PROPERTY as string);
      const value = PROPERTIES[key]?.(ctx.config.current);
      if (value !== undefined) ctx.out(value);
      else ctx.err(`(unset)`);
      return undefined;
    },
  },
  {
    path: ['endpoints'],
    summary:
      "Shows where the server is reached: its REST URL, its gRPC address (host:port, TLS) and the PEM of the CA that issued the gRPC listener's certificate.",
    async run(ctx) {
      return ctx.api.request<{ rest: string; grpc: string | null; caPem: string }>('GET', '/v1/endpoints', {
        anonymous: true,
      });
    },
  },
  {
    path: ['config', 'list'],
    summary: 'Shows the properties of the active configuration.',
    async run(ctx) {
      const { core, compute, api } = ctx.config.current;
      return { core: core ?? {}, ...(compute && Object.keys(compute).length > 0 ? { compute } : {}), api: api ?? '' };
    },
  },
];
