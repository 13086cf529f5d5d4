// `sealroom admin …` (deployment administrators): users and their credentials, groups, the deployment audit log.
import { writeFileSync } from 'node:fs';
import type { CommandSpec } from '../command.ts';

const groupPath = (email: string) => `/v1/admin/groups/${encodeURIComponent(email)}`;

function userToggle(verb: 'disable' | 'enable'): CommandSpec {
  return {
    path: ['admin', 'users', verb],
    summary:
      verb === 'disable'
        ? 'Disables a user: its access tokens stop at once and its credentials are refused until enabled.'
        : 'Enables a disabled user again.',
    args: [{ name: 'EMAIL', required: true }],
    async run(ctx) {
      const email = ctx.args.EMAIL as string;
      const result = await ctx.api.request('POST', `/v1/admin/users/${encodeURIComponent(email)}:${verb}`, {
        body: {},
      });
      ctx.err(`${verb === 'disable' ? 'Disabled' : 'Enabled'} user [${email.toLowerCase()}].`);
      return result;
    },
  };
}

function memberChange(verb: 'add-member' | 'remove-member'): CommandSpec {
  return {
    path: ['admin', 'groups', verb],
    summary: `${verb === 'add-member' ? 'Adds' : 'Removes'} a user: or serviceAccount: member ${verb === 'add-member' ? 'to' : 'from'} a group.`,
    args: [{ name: 'GROUP', required: true }],
    flags: { member: { type: 'string', required: true, description: 'user:EMAIL or serviceAccount:EMAIL.' } },
    async run(ctx) {
      const api = verb === 'add-member' ? 'addMember' : 'removeMember';
      const group = await ctx.api.request('POST', `${groupPath(ctx.args.GROUP as string)}:${api}`, {
        body: { member: ctx.flags.member },
      });
      ctx.err(`Updated group [${ctx.args.GROUP}].`);
      return group;
    },
  };
}

export const adminCommands: CommandSpec[] = [
  {
    path: ['admin', 'users', 'create'],
    summary: 'Issues a credential for a user (deployment administrators only).',
    args: [{ name: 'EMAIL', required: true }],
    flags: {
      'output-file': { type: 'string', required: true, description: 'Where to write the credential (mode 0600).' },
    },
    async run(ctx) {
      const result = await ctx.api.request<{ account: string; refreshToken: string }>('POST', '/v1/admin/users', {
        body: { email: ctx.args.EMAIL },
      });
      const path = ctx.flags['output-file'] as string;
      writeFileSync(
        path,
        `${JSON.stringify({ type: 'authorized_user', account: result.account, refresh_token: result.refreshToken }, null, 2)}\n`,
        { mode: 0o600 },
      );
      ctx.err(`Credential for [${result.account}] written to [${path}]; hand it over privately.`);
      return undefined;
    },
  },
  {
    path: ['admin', 'users', 'list'],
    summary: 'Lists the users of the deployment, with whether each is an administrator or disabled.',
    defaultFormat: 'table(email, admin, disabled, origin, createTime)',
    async run(ctx) {
      return (await ctx.api.request<{ users?: unknown[] }>('GET', '/v1/admin/users')).users ?? [];
    },
  },
  userToggle('disable'),
  userToggle('enable'),
  {
    path: ['admin', 'groups', 'create'],
    summary: 'Creates a group that group:EMAIL members of IAM policies name.',
    args: [{ name: 'GROUP', required: true }],
    flags: {
      'display-name': { type: 'string', description: 'Display name.' },
      description: { type: 'string', description: 'Description.' },
    },
    async run(ctx) {
      const group = await ctx.api.request('POST', '/v1/admin/groups', {
        body: {
          email: ctx.args.GROUP,
          ...(ctx.flags['display-name'] ? { displayName: ctx.flags['display-name'] } : {}),
          ...(ctx.flags.description ? { description: ctx.flags.description } : {}),
        },
      });
      ctx.err(`Created group [${ctx.args.GROUP}].`);
      return group;
    },
  },
  {
    path: ['admin', 'groups', 'list'],
    summary: 'Lists the groups with their members.',
    defaultFormat: 'table(email, displayName:label=DISPLAY_NAME, members)',
    async run(ctx) {
      return (await ctx.api.request<{ groups?: unknown[] }>('GET', '/v1/admin/groups')).groups ?? [];
    },
  },
  {
    path: ['admin', 'groups', 'describe'],
    summary: 'Shows a group and its members.',
    args: [{ name: 'GROUP', required: true }],
    run: (ctx) => ctx.api.request('GET', groupPath(ctx.args.GROUP as string)),
  },
  {
    path: ['admin', 'groups', 'delete'],
    summary: 'Deletes a group; group: bindings naming it grant nothing from then on.',
    args: [{ name: 'GROUP', required: true }],
    async run(ctx) {
      await ctx.api.request('DELETE', groupPath(ctx.args.GROUP as string));
      ctx.err(`Deleted group [${ctx.args.GROUP}].`);
      return undefined;
    },
  },
  memberChange('add-member'),
  memberChange('remove-member'),
  {
    path: ['admin', 'logs', 'read'],
    summary: 'Prints the deployment audit log (users, groups, revocations), newest last.',
    flags: { limit: { type: 'string', description: 'At most this many entries (the newest ones).' } },
    async run(ctx) {
      const limit = ctx.flags.limit === undefined ? 1000 : Number(ctx.flags.limit);
      const result = await ctx.api.request<{ entries?: unknown[] }>('POST', '/v1/admin/logs:list', {
        body: { orderBy: 'timestamp desc', pageSize: Math.max(1, Math.min(1000, limit || 1000)) },
      });
      return (result.entries ?? []).reverse();
    },
  },
  {
    path: ['admin', 'logs', 'verify'],
    summary: "Verifies the deployment audit log's hash chain.",
    run: (ctx) => ctx.api.request('GET', '/v1/admin/logs:verify'),
  },
];
