// `sealroom config …`: named configurations and their properties (account, project, api).
import { type CommandSpec, UsageError } from '../command.ts';
import type { Configuration } from '../config-store.ts';

const PROPERTIES: Record<string, (c: Configuration) => string | undefined> = {
  'core/account': (c) => c.core?.account,
  'core/project': (c) => c.core?.project,
  api: (c) => c.api,
};

function normalise(key: string): string {
  const full = key === 'account' || key === 'project' ? `core/${key}` : key === 'api/url' ? 'api' : key;
  if (!(full in PROPERTIES))
    throw new UsageError(`Section or property [${key}] is not known: use account, project or api.`);
  return full;
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
    summary: 'Sets a property (account, project, api) of the active configuration.',
    args: [
      { name: 'PROPERTY', required: true },
      { name: 'VALUE', required: true },
    ],
    async run(ctx) {
      const key = normalise(ctx.args.PROPERTY as string);
      const value = ctx.args.VALUE as string;
      const name = ctx.config.currentName;
      const current = ctx.config.read(name);
      const next: Configuration =
        key === 'api'
          ? { ...current, api: value.replace(/\/+$/, '') }
          : { ...current, core: { ...current.core, [key.slice(5)]: value } };
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
      const next: Configuration =
        key === 'api'
          ? { core: current.core ?? {} }
          : { ...current, core: { ...current.core, [key.slice(5)]: undefined } };
      ctx.config.write(name, JSON.parse(JSON.stringify(next)) as Configuration);
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
    path: ['config', 'list'],
    summary: 'Shows the properties of the active configuration.',
    async run(ctx) {
      return { core: ctx.config.current.core ?? {}, api: ctx.config.current.api ?? '' };
    },
  },
];
