// Deployment administration (administrators only): users and their credentials, the groups `group:` members
// name, and the deployment audit log where each of these changes is recorded.
import { type Caller, CoreError, toRfc3339 } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import { DEPLOYMENT_LOG, toLogEntryJson } from './audit.ts';
import type { IamDeps } from './deps.ts';
import { IamError } from './errors.ts';
import { checkGroupMember, type Group } from './groups.ts';

const ADMIN = 'sealroom.admin.v1.Admin';
const EMAIL = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const UserSchema = z.object({ email: z.string().regex(EMAIL, 'must be an email address') }).strict();
const GroupSchema = z
  .object({
    email: z.string().regex(EMAIL, 'must be an email address'),
    displayName: z.string().max(100).optional(),
    description: z.string().max(1024).optional(),
  })
  .strict();
const MemberSchema = z.object({ member: z.string().max(400) }).strict();
const EmptySchema = z.object({}).strict();
const LogListSchema = z
  .object({
    orderBy: z.enum(['timestamp asc', 'timestamp desc']).optional(),
    pageSize: z.number().int().min(1).max(1000).optional(),
    pageToken: z.string().max(64).optional(),
  })
  .strict();

function toGroupJson(group: Group): Record<string, unknown> {
  return {
    name: `groups/${group.email}`,
    email: group.email,
    displayName: group.displayName,
    description: group.description,
    createTime: toRfc3339(group.createTime),
    members: group.members,
  };
}

const empty = (body: unknown) => parseWith(EmptySchema, body === '' || body === undefined ? {} : body);

export function adminRoutes(deps: IamDeps): ApiRoute[] {
  const { credentials, groups, audit } = deps;

  /** The same refusal for every non-administrator, whatever the request names. */
  const requireAdmin = async (caller: Caller | undefined): Promise<Caller> => {
    if (caller?.kind === 'user' && (await credentials.isAdmin(caller.principal.slice('user:'.length)))) return caller;
    throw new CoreError('ERR_PERMISSION_DENIED', 'Only deployment administrators can do this.');
  };
  const record = (caller: Caller, method: string, resource: string, details?: Record<string, unknown>) =>
    audit.recordDeployment({
      method: `${ADMIN}.${method}`,
      resource,
      caller,
      outcome: 'ALLOWED',
      ...(details ? { details } : {}),
    });
  const userToggle = (verb: 'disable' | 'enable'): ApiRoute => ({
    method: 'POST',
    path: `/v1/admin/users/{user}:${verb}`,
    handler: async (req) => {
      const caller = await requireAdmin(req.caller);
      empty(req.body);
      const email = (req.params.user as string).toLowerCase();
      if (verb === 'disable' && caller.principal === `user:${email}`) {
        throw new CoreError('ERR_FAILED_PRECONDITION', 'Administrators cannot disable themselves.');
      }
      if (!(await credentials.setUserDisabled(email, verb === 'disable'))) {
        throw new CoreError('ERR_NOT_FOUND', `User ${email} not found.`);
      }
      await record(caller, verb === 'disable' ? 'DisableUser' : 'EnableUser', `users/${email}`);
      const user = await credentials.getUser(email);
      return { email, disabled: user?.disabled ?? verb === 'disable' };
    },
  });
  const memberChange = (verb: 'addMember' | 'removeMember'): ApiRoute => ({
    method: 'POST',
    path: `/v1/admin/groups/{group}:${verb}`,
    handler: async (req) => {
      const caller = await requireAdmin(req.caller);
      const member = checkGroupMember(parseWith(MemberSchema, req.body).member, deps.settings.universeDomain);
      const email = (req.params.group as string).toLowerCase();
      const changed =
        verb === 'addMember' ? await groups.addMember(email, member) : await groups.removeMember(email, member);
      if (changed)
        await record(caller, verb === 'addMember' ? 'AddGroupMember' : 'RemoveGroupMember', `groups/${email}`, {
          member,
        });
      const group = await groups.get(email);
      if (!group) throw new CoreError('ERR_NOT_FOUND', `Group ${email} not found.`);
      return toGroupJson(group);
    },
  });

  return [
    {
      method: 'POST',
      path: '/v1/admin/users',
      handler: async (req) => {
        const caller = await requireAdmin(req.caller);
        const { email } = parseWith(UserSchema, req.body);
        const existing = await credentials.getUser(email);
        if (existing?.disabled) throw new IamError('ERR_IAM_USER_DISABLED', `User ${existing.email} is disabled.`);
        await credentials.ensureUser(email, 'admin');
        const refreshToken = await credentials.issueRefreshToken(email);
        await record(caller, 'IssueUserCredential', `users/${email.toLowerCase()}`);
        deps.logger.info({ account: email, by: caller.principal }, 'user credential issued');
        return { account: email.toLowerCase(), refreshToken, type: 'authorized_user' };
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/users',
      handler: async (req) => {
        await requireAdmin(req.caller);
        const users = await credentials.listUsers();
        return {
          users: users.map((u) => ({
            email: u.email,
            origin: u.origin,
            admin: u.admin,
            disabled: u.disabled,
            createTime: toRfc3339(u.createTime),
          })),
        };
      },
    },
    userToggle('disable'),
    userToggle('enable'),
    {
      method: 'POST',
      path: '/v1/admin/groups',
      handler: async (req) => {
        const caller = await requireAdmin(req.caller);
        const body = parseWith(GroupSchema, req.body);
        const group = await groups.create(body.email, body.displayName ?? '', body.description ?? '');
        await record(caller, 'CreateGroup', `groups/${group.email}`);
        return toGroupJson(group);
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/groups',
      handler: async (req) => {
        await requireAdmin(req.caller);
        const list = await groups.list();
        return list.length === 0 ? {} : { groups: list.map(toGroupJson) };
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/groups/{group}',
      handler: async (req) => {
        await requireAdmin(req.caller);
        const group = await groups.get(req.params.group as string);
        if (!group) throw new CoreError('ERR_NOT_FOUND', `Group ${req.params.group} not found.`);
        return toGroupJson(group);
      },
    },
    {
      method: 'DELETE',
      path: '/v1/admin/groups/{group}',
      body: 'none',
      handler: async (req) => {
        const caller = await requireAdmin(req.caller);
        const email = (req.params.group as string).toLowerCase();
        if (!(await groups.delete(email))) throw new CoreError('ERR_NOT_FOUND', `Group ${email} not found.`);
        await record(caller, 'DeleteGroup', `groups/${email}`);
        return {};
      },
    },
    memberChange('addMember'),
    memberChange('removeMember'),
    {
      method: 'POST',
      path: '/v1/admin/logs:list',
      handler: async (req) => {
        await requireAdmin(req.caller);
        const body = parseWith(LogListSchema, req.body === '' || req.body === undefined ? {} : req.body);
        const pageSize = body.pageSize ?? 100;
        const afterSeq = body.pageToken ? Number(Buffer.from(body.pageToken, 'base64url').toString('utf8')) : undefined;
        if (afterSeq !== undefined && !Number.isInteger(afterSeq))
          throw new CoreError('ERR_INVALID_ARGUMENT', 'Invalid page token.');
        const rows = await audit.list(DEPLOYMENT_LOG, {
          newestFirst: body.orderBy === 'timestamp desc',
          pageSize: pageSize + 1,
          ...(afterSeq === undefined ? {} : { afterSeq }),
        });
        const page = rows.slice(0, pageSize);
        const last = page[page.length - 1];
        return {
          entries: page.map(toLogEntryJson),
          ...(rows.length > pageSize && last
            ? { nextPageToken: Buffer.from(String(last.seq)).toString('base64url') }
            : {}),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/logs:verify',
      handler: async (req) => {
        await requireAdmin(req.caller);
        return audit.verify(DEPLOYMENT_LOG);
      },
    },
  ];
}
