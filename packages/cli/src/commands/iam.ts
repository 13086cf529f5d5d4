// `sealroom iam service-accounts …`: service accounts, their keys and IAM policies.
import { writeFileSync } from 'node:fs';
import { type CommandContext, type CommandSpec, UsageError } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding, getIamPolicy } from '../iam-helpers.ts';

/** Accepts an email, or a bare account id completed with the active project. */
function accountPath(ctx: CommandContext, value: string): string {
  const email = value.includes('@') ? value : `${value}@${ctx.project()}.iam.gserviceaccount.com`;
  return `/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}`;
}

export const iamCommands: CommandSpec[] = [
  {
    path: ['iam', 'service-accounts', 'create'],
    summary: 'Creates a service account.',
    args: [{ name: 'NAME', required: true }],
    flags: {
      'display-name': { type: 'string', description: 'Display name.' },
      description: { type: 'string', description: 'Description.' },
    },
    async run(ctx) {
      const sa = await ctx.api.request<{ email: string }>(
        'POST',
        `/v1/projects/${encodeURIComponent(ctx.project())}/serviceAccounts`,
        {
          body: {
            accountId: ctx.args.NAME,
            serviceAccount: {
              ...(ctx.flags['display-name'] ? { displayName: ctx.flags['display-name'] } : {}),
              ...(ctx.flags.description ? { description: ctx.flags.description } : {}),
            },
          },
        },
      );
      ctx.err(`Created service account [${ctx.args.NAME}].`);
      return sa;
    },
  },
  {
    path: ['iam', 'service-accounts', 'list'],
    summary: "Lists the project's service accounts.",
    async run(ctx) {
      return (
        (
          await ctx.api.request<{ accounts?: unknown[] }>(
            'GET',
            `/v1/projects/${encodeURIComponent(ctx.project())}/serviceAccounts`,
          )
        ).accounts ?? []
      );
    },
  },
  {
    path: ['iam', 'service-accounts', 'describe'],
    summary: 'Shows a service account.',
    args: [{ name: 'SERVICE_ACCOUNT', required: true }],
    run: (ctx) => ctx.api.request('GET', accountPath(ctx, ctx.args.SERVICE_ACCOUNT as string)),
  },
  {
    path: ['iam', 'service-accounts', 'get-iam-policy'],
    summary: "Shows a service account's IAM policy.",
    args: [{ name: 'SERVICE_ACCOUNT', required: true }],
    run: (ctx) => getIamPolicy(ctx.api, accountPath(ctx, ctx.args.SERVICE_ACCOUNT as string)),
  },
  {
    path: ['iam', 'service-accounts', 'add-iam-policy-binding'],
    summary: "Adds a binding to a service account's IAM policy.",
    args: [{ name: 'SERVICE_ACCOUNT', required: true }],
    flags: BINDING_FLAGS,
    async run(ctx) {
      const policy = await changeIamPolicyBinding(ctx.api, accountPath(ctx, ctx.args.SERVICE_ACCOUNT as string), {
        member: ctx.flags.member as string,
        role: ctx.flags.role as string,
      });
      ctx.err(`Updated IAM policy for serviceAccount [${ctx.args.SERVICE_ACCOUNT}].`);
      return policy;
    },
  },
  {
    path: ['iam', 'service-accounts', 'remove-iam-policy-binding'],
    summary: "Removes a binding from a service account's IAM policy.",
    args: [{ name: 'SERVICE_ACCOUNT', required: true }],
    flags: BINDING_FLAGS,
    run: (ctx) =>
      changeIamPolicyBinding(ctx.api, accountPath(ctx, ctx.args.SERVICE_ACCOUNT as string), {
        member: ctx.flags.member as string,
        role: ctx.flags.role as string,
        remove: true,
      }),
  },
  {
    path: ['iam', 'service-accounts', 'keys', 'create'],
    summary: 'Creates a key and writes its JSON key file (mode 0600).',
    args: [{ name: 'OUTPUT_FILE', required: true }],
    flags: { 'iam-account': { type: 'string', required: true, description: 'The service account.' } },
    async run(ctx) {
      const key = await ctx.api.request<{ name: string; privateKeyData: string }>(
        'POST',
        `${accountPath(ctx, ctx.flags['iam-account'] as string)}/keys`,
        { body: {} },
      );
      writeFileSync(ctx.args.OUTPUT_FILE as string, Buffer.from(key.privateKeyData, 'base64'), { mode: 0o600 });
      ctx.err(`created key [${key.name.split('/').pop()}] for [${ctx.flags['iam-account']}]`);
      return undefined;
    },
  },
  {
    path: ['iam', 'service-accounts', 'keys', 'list'],
    summary: "Lists a service account's keys.",
    flags: { 'iam-account': { type: 'string', required: true, description: 'The service account.' } },
    async run(ctx) {
      return (
        (
          await ctx.api.request<{ keys?: unknown[] }>(
            'GET',
            `${accountPath(ctx, ctx.flags['iam-account'] as string)}/keys`,
          )
        ).keys ?? []
      );
    },
  },
  {
    path: ['iam', 'service-accounts', 'print-id-token'],
    summary: 'Prints an OIDC ID token of a service account (needs Token Creator on it).',
    args: [{ name: 'SERVICE_ACCOUNT', required: true }],
    flags: {
      audiences: { type: 'string', required: true, description: 'The aud claim.' },
      'include-email': { type: 'boolean', description: 'Add the email claim.' },
    },
    async run(ctx) {
      const result = await ctx.api.request<{ token: string }>(
        'POST',
        `${accountPath(ctx, ctx.args.SERVICE_ACCOUNT as string)}:generateIdToken`,
        {
          body: { audience: ctx.flags.audiences, includeEmail: ctx.flags['include-email'] === true },
        },
      );
      ctx.out(result.token);
      return undefined;
    },
  },
  {
    path: ['iam', 'roles', 'describe'],
    summary: 'Shows the permissions of a predefined role.',
    args: [{ name: 'ROLE', required: true }],
    async run(ctx) {
      const { describeRole } = await import('@sealroom/iam');
      const role = ctx.args.ROLE as string;
      const found = describeRole(role.startsWith('roles/') ? role : `roles/${role}`);
      if (!found) throw new UsageError(`Role [${role}] is not in the catalogue.`);
      return { name: role, title: found.title, includedPermissions: found.permissions };
    },
  },
];
