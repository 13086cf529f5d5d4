// `sealroom iam service-accounts …`: service accounts, their keys and IAM policies.
import { writeFileSync } from 'node:fs';
import { type CommandContext, type CommandSpec, UsageError } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding, getIamPolicy } from '../iam-helpers.ts';

/** Accepts an email, or a bare account id completed with the active project. */
function accountPath(ctx: CommandContext, value: string): string {
  const email = value.includes('@') ? value : `${value}@${ctx.project()}.iam.gserviceaccount.com`;
  return `/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}`;
}

const KEY_ACCOUNT_FLAG = {
  'iam-account': { type: 'string', required: true, description: 'The service account.' },
} as const;

/** `gcloud iam service-accounts disable|enable|delete SERVICE_ACCOUNT`. */
function accountChange(verb: 'disable' | 'enable' | 'delete', done: string): CommandSpec {
  return {
    path: ['iam', 'service-accounts', verb],
    summary:
      verb === 'delete'
        ? 'Deletes a service account (undelete it by unique id within 30 days); its tokens stop at once.'
        : `${verb === 'disable' ? 'Disables' : 'Enables'} a service account; ${verb === 'disable' ? 'its tokens and keys stop working at once' : 'its tokens and keys work again'}.`,
    args: [{ name: 'SERVICE_ACCOUNT', required: true }],
    async run(ctx) {
      const path = accountPath(ctx, ctx.args.SERVICE_ACCOUNT as string);
      if (verb === 'delete') await ctx.api.request('DELETE', path);
      else await ctx.api.request('POST', `${path}:${verb}`, { body: {} });
      ctx.err(`${done} service account [${ctx.args.SERVICE_ACCOUNT}].`);
      return undefined;
    },
  };
}

/** `gcloud iam service-accounts keys disable|enable|delete KEY_ID --iam-account=SA`. */
function keyChange(verb: 'disable' | 'enable' | 'delete', done: string): CommandSpec {
  return {
    path: ['iam', 'service-accounts', 'keys', verb],
    summary: `${done} a key of a service account${verb === 'enable' ? '' : '; grants made with it and the tokens they gave stop at once'}.`,
    args: [{ name: 'KEY_ID', required: true }],
    flags: KEY_ACCOUNT_FLAG,
    async run(ctx) {
      const keyId = ctx.args.KEY_ID as string;
      if (!/^[0-9a-f]{40}$/.test(keyId)) throw new UsageError(`Invalid key id [${keyId}]: 40 hexadecimal digits.`);
      const path = `${accountPath(ctx, ctx.flags['iam-account'] as string)}/keys/${keyId}`;
      if (verb === 'delete') await ctx.api.request('DELETE', path);
      else await ctx.api.request('POST', `${path}:${verb}`, { body: {} });
      ctx.err(`${done} key [${keyId}] for service account [${ctx.flags['iam-account']}].`);
      return undefined;
    },
  };
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
    defaultFormat: 'table(displayName:label=DISPLAY_NAME, email, disabled)',
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
  accountChange('disable', 'Disabled'),
  accountChange('enable', 'Enabled'),
  accountChange('delete', 'Deleted'),
  {
    path: ['iam', 'service-accounts', 'undelete'],
    summary: 'Restores a service account deleted less than 30 days ago, by its unique id.',
    args: [{ name: 'ACCOUNT_ID', required: true }],
    async run(ctx) {
      const id = ctx.args.ACCOUNT_ID as string;
      if (!/^\d+$/.test(id)) throw new UsageError(`ACCOUNT_ID must be the account's unique id (digits), not [${id}].`);
      const result = await ctx.api.request<{ restoredAccount: { email: string } }>(
        'POST',
        `/v1/projects/${encodeURIComponent(ctx.project())}/serviceAccounts/${id}:undelete`,
        { body: {} },
      );
      ctx.err(`Restored service account [${result.restoredAccount.email}].`);
      return result;
    },
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
    summary: "Lists a service account's keys, disabled ones included.",
    defaultFormat:
      'table(name.basename():label=KEY_ID, validAfterTime:label=CREATED_AT, validBeforeTime:label=EXPIRES_AT, disabled)',
    flags: {
      ...KEY_ACCOUNT_FLAG,
      'managed-by': { type: 'string', description: 'user, system or any (default any).' },
    },
    async run(ctx) {
      const managedBy = (ctx.flags['managed-by'] as string | undefined) ?? 'any';
      const keyTypes: Record<string, string | undefined> = {
        user: 'USER_MANAGED',
        system: 'SYSTEM_MANAGED',
        any: undefined,
      };
      if (!(managedBy in keyTypes)) throw new UsageError('--managed-by takes user, system or any.');
      const keyTypesParam = keyTypes[managedBy];
      const result = await ctx.api.request<{ keys?: Record<string, unknown>[] }>(
        'GET',
        `${accountPath(ctx, ctx.flags['iam-account'] as string)}/keys`,
        { query: { keyTypes: keyTypesParam } },
      );
      return (result.keys ?? []).map((k) => ({ ...k, disabled: k.disabled === true }));
    },
  },
  keyChange('disable', 'Disabled'),
  keyChange('enable', 'Enabled'),
  keyChange('delete', 'Deleted'),
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
