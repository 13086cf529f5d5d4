// `sealroom secrets …`: create, versions add/access, add-iam-policy-binding (gcloud flags).
import { readFileSync } from 'node:fs';
import type { CommandContext, CommandSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding, getIamPolicy } from '../iam-helpers.ts';

const seg = (value: unknown) => encodeURIComponent(String(value));
const secretPath = (ctx: CommandContext, secret: unknown) =>
  `/v1/projects/${seg(ctx.project())}/secrets/${seg(secret)}`;
const DATA_FILE = { type: 'string', description: "File with the secret's data ('-' for stdin)." } as const;

function readData(path: string): string {
  return readFileSync(path === '-' ? 0 : path).toString('base64');
}

export const secretsCommands: CommandSpec[] = [
  {
    path: ['secrets', 'create'],
    summary: 'Creates a secret, and its first version with --data-file.',
    args: [{ name: 'SECRET', required: true }],
    flags: {
      'data-file': DATA_FILE,
      'replication-policy': { type: 'string', description: "Only 'automatic'." },
      labels: { type: 'string', description: 'KEY=VALUE,… labels.' },
    },
    async run(ctx) {
      const policy = ctx.flags['replication-policy'];
      if (policy !== undefined && policy !== 'automatic')
        throw new UsageError('Only --replication-policy=automatic is offered.');
      const labels = ctx.flags.labels
        ? Object.fromEntries(
            String(ctx.flags.labels)
              .split(',')
              .map((kv) => kv.split('=') as [string, string]),
          )
        : undefined;
      const secret = await ctx.api.request('POST', `/v1/projects/${seg(ctx.project())}/secrets`, {
        query: { secretId: String(ctx.args.SECRET) },
        body: { replication: { automatic: {} }, ...(labels ? { labels } : {}) },
      });
      if (ctx.flags['data-file']) {
        await ctx.api.request('POST', `${secretPath(ctx, ctx.args.SECRET)}:addVersion`, {
          body: { payload: { data: readData(ctx.flags['data-file'] as string) } },
        });
      }
      ctx.err(`Created secret [${ctx.args.SECRET}].`);
      return secret;
    },
  },
  {
    path: ['secrets', 'versions', 'add'],
    summary: 'Adds a version with the data of a file.',
    args: [{ name: 'SECRET', required: true }],
    flags: { 'data-file': { ...DATA_FILE, required: true } },
    run: (ctx) =>
      ctx.api.request('POST', `${secretPath(ctx, ctx.args.SECRET)}:addVersion`, {
        body: { payload: { data: readData(ctx.flags['data-file'] as string) } },
      }),
  },
  {
    path: ['secrets', 'versions', 'access'],
    summary: "Prints a version's data (VERSION is a number or 'latest').",
    args: [{ name: 'VERSION', required: true }],
    flags: { secret: { type: 'string', description: 'Secret of the version.', required: true } },
    async run(ctx) {
      const result = await ctx.api.request<{ payload: { data?: string } }>(
        'GET',
        `${secretPath(ctx, ctx.flags.secret)}/versions/${seg(ctx.args.VERSION)}:access`,
      );
      const data = Buffer.from(result.payload.data ?? '', 'base64');
      if (ctx.flags.format === undefined) {
        ctx.out(data.toString('utf8'));
        return undefined;
      }
      return result;
    },
  },
  {
    path: ['secrets', 'get-iam-policy'],
    summary: "Shows a secret's IAM policy.",
    args: [{ name: 'SECRET', required: true }],
    run: (ctx) => getIamPolicy(ctx.api, secretPath(ctx, ctx.args.SECRET)),
  },
  {
    path: ['secrets', 'add-iam-policy-binding'],
    summary: "Adds a binding to a secret's IAM policy.",
    args: [{ name: 'SECRET', required: true }],
    flags: BINDING_FLAGS,
    async run(ctx) {
      const policy = await changeIamPolicyBinding(ctx.api, secretPath(ctx, ctx.args.SECRET), {
        member: ctx.flags.member as string,
        role: ctx.flags.role as string,
      });
      ctx.err(`Updated IAM policy for secret [${ctx.args.SECRET}].`);
      return policy;
    },
  },
];
