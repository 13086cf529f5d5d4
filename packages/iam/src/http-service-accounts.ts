// REST routes of IAM service accounts (create, get, list, disable, enable, delete, undelete, IAM policy) and
// of IAM Credentials (generateAccessToken, generateIdToken).
import { type Caller, CoreError, parseDurationMs, permissionDenied, toRfc3339 } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import type { IamDeps } from './deps.ts';
import { iamPolicyRoutes } from './iam-policy-routes.ts';
import { type ServiceAccount, serviceAccountDisabled, toServiceAccountJson } from './service-accounts.ts';

export const IAM_ADMIN = 'google.iam.admin.v1.IAM';
const IAM_CREDENTIALS = 'google.iam.credentials.v1.IAMCredentials';
const MAX_ACCESS_TOKEN_LIFETIME_MS = 3600_000;
const ACCOUNT = 'projects/*/serviceAccounts/*';

const CreateSchema = z
  .object({
    accountId: z.string(),
    serviceAccount: z
      .object({ displayName: z.string().max(100).optional(), description: z.string().max(256).optional() })
      .strict()
      .optional(),
  })
  .strict();
const EmptySchema = z.object({}).strict();
const AccessTokenSchema = z
  .object({
    scope: z.array(z.string()).min(1, 'at least one scope is required'),
    lifetime: z.string().optional(),
    // google-auth (Python, as gcloud uses it) sends `delegates: null`: proto3 JSON's null is the empty list.
    delegates: z.array(z.string()).max(0, 'delegation chains are not supported').nullable().optional(),
  })
  .strict();
const IdTokenSchema = z
  .object({
    audience: z.string().min(1).max(1024),
    includeEmail: z.boolean().optional(),
    organizationNumberIncluded: z.boolean().optional(),
    delegates: z.array(z.string()).max(0, 'delegation chains are not supported').nullable().optional(),
  })
  .strict();

/** `projects/{p}/serviceAccounts/{email or uniqueId}` → its parts (p may be '-'). */
function accountKey(name: string): { project: string; key: string } {
  const parts = name.split('/');
  return { project: parts[1] as string, key: parts[3] as string };
}

/** An account lives only in its own project: naming it under another one is naming nothing. */
function inProject(account: ServiceAccount, project: string): boolean {
  return project === '-' || project === account.projectId || project === account.projectNumber;
}

export type AccountFinder = (
  caller: Caller | undefined,
  permission: string,
  name: string,
  options?: { includeDeleted?: boolean },
) => Promise<ServiceAccount>;

/**
 * Authorizes, then finds the account. A missing account, or one named under a project it is not in, is
 * checked against the name as given, so it looks denied to a caller without permission, exactly like an
 * existing account the caller may not touch.
 */
export function createAccountFinder(deps: IamDeps): AccountFinder {
  const { serviceAccounts, audit } = deps;
  return async (caller, permission, name, options = {}) => {
    const { project, key } = accountKey(name);
    const found = /^\d+$/.test(key)
      ? await serviceAccounts.getByUniqueId(key, options)
      : options.includeDeleted
        ? undefined
        : await serviceAccounts.get(key);
    const account = found && inProject(found, project) ? found : undefined;
    const resource = account ? `projects/${account.projectId}/serviceAccounts/${account.email}` : name;
    if (!(await deps.authorizer.isAllowed(caller, permission, resource))) {
      if (account) {
        await audit.record({
          project: account.projectNumber,
          method: permission,
          resource,
          caller,
          outcome: 'DENIED',
          status: 'PERMISSION_DENIED',
        });
      }
      throw permissionDenied(permission, name);
    }
    if (!account) throw new CoreError('ERR_NOT_FOUND', `Service account ${name} not found.`);
    return account;
  };
}

function parseEmpty(body: unknown): void {
  parseWith(EmptySchema, body === '' || body === undefined ? {} : body);
}

export function serviceAccountRoutes(deps: IamDeps): ApiRoute[] {
  const { serviceAccounts, projects, audit } = deps;
  const findAccount = createAccountFinder(deps);
  const recordChange = (caller: Caller | undefined, account: ServiceAccount, method: string) =>
    audit.record({
      project: account.projectNumber,
      method: `${IAM_ADMIN}.${method}`,
      resource: `projects/${account.projectId}/serviceAccounts/${account.email}`,
      caller,
      outcome: 'ALLOWED',
      details: { uniqueId: account.uniqueId },
    });
  const lifecycle = (
    verb: 'disable' | 'enable',
    method: 'DisableServiceAccount' | 'EnableServiceAccount',
  ): ApiRoute => ({
    method: 'POST',
    path: `/v1/{name=${ACCOUNT}}:${verb}`,
    handler: async (req) => {
      parseEmpty(req.body);
      const account = await findAccount(req.caller, `iam.serviceAccounts.${verb}`, req.params.name as string);
      await serviceAccounts.setDisabled(account, verb === 'disable');
      await recordChange(req.caller, account, method);
      return {};
    },
  });

  return [
    {
      method: 'POST',
      path: '/v1/projects/{project}/serviceAccounts',
      handler: async (req) => {
        const body = parseWith(CreateSchema, req.body);
        const idOrNumber = req.params.project as string;
        await deps.authorizer.authorize(req.caller, 'iam.serviceAccounts.create', `projects/${idOrNumber}`);
        const project = await projects.resolve(idOrNumber);
        if (!project) throw permissionDenied('iam.serviceAccounts.create', `projects/${idOrNumber}`);
        const account = await serviceAccounts.create(
          project,
          body.accountId,
          body.serviceAccount?.displayName ?? '',
          body.serviceAccount?.description ?? '',
        );
        await recordChange(req.caller, account, 'CreateServiceAccount');
        return toServiceAccountJson(account);
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/serviceAccounts',
      handler: async (req) => {
        const idOrNumber = req.params.project as string;
        await deps.authorizer.authorize(req.caller, 'iam.serviceAccounts.list', `projects/${idOrNumber}`);
        const project = await projects.resolve(idOrNumber);
        if (!project) throw permissionDenied('iam.serviceAccounts.list', `projects/${idOrNumber}`);
        const accounts = await serviceAccounts.list(project.projectNumber);
        return accounts.length > 0 ? { accounts: accounts.map(toServiceAccountJson) } : {};
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${ACCOUNT}}`,
      handler: async (req) =>
        toServiceAccountJson(await findAccount(req.caller, 'iam.serviceAccounts.get', req.params.name as string)),
    },
    lifecycle('disable', 'DisableServiceAccount'),
    lifecycle('enable', 'EnableServiceAccount'),
    {
      method: 'DELETE',
      path: `/v1/{name=${ACCOUNT}}`,
      body: 'none',
      handler: async (req) => {
        const account = await findAccount(req.caller, 'iam.serviceAccounts.delete', req.params.name as string);
        await serviceAccounts.delete(account);
        await recordChange(req.caller, account, 'DeleteServiceAccount');
        return {};
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${ACCOUNT}}:undelete`,
      handler: async (req) => {
        parseEmpty(req.body);
        const name = req.params.name as string;
        if (!/^\d+$/.test(accountKey(name).key)) {
          throw new CoreError(
            'ERR_INVALID_ARGUMENT',
            'Undelete names the account by its unique id: projects/PROJECT/serviceAccounts/UNIQUE_ID.',
          );
        }
        const account = await findAccount(req.caller, 'iam.serviceAccounts.undelete', name, { includeDeleted: true });
        const restored = await serviceAccounts.undelete(account);
        await recordChange(req.caller, restored, 'UndeleteServiceAccount');
        return { restoredAccount: toServiceAccountJson(restored) };
      },
    },
    ...iamPolicyRoutes(deps.serviceContext, {
      resource: ACCOUNT,
      permissionPrefix: 'iam.serviceAccounts',
      methodPrefix: IAM_ADMIN,
      kind: 'Service account',
      // Policies live under projects/ID/serviceAccounts/EMAIL whichever name the caller used.
      canonicalName: async (name) => {
        const { project, key } = accountKey(name);
        const account = /^\d+$/.test(key) ? await serviceAccounts.getByUniqueId(key) : await serviceAccounts.get(key);
        return account && inProject(account, project)
          ? `projects/${account.projectId}/serviceAccounts/${account.email}`
          : name;
      },
      exists: async (name) => {
        const { project, key } = accountKey(name);
        const account = await serviceAccounts.get(key);
        return account !== undefined && inProject(account, project);
      },
    }),
    {
      method: 'POST',
      path: `/v1/{name=${ACCOUNT}}:generateAccessToken`,
      handler: async (req) => {
        const body = parseWith(AccessTokenSchema, req.body);
        const lifetimeMs = body.lifetime === undefined ? MAX_ACCESS_TOKEN_LIFETIME_MS : parseDurationMs(body.lifetime);
        if (lifetimeMs === undefined || lifetimeMs <= 0 || lifetimeMs > MAX_ACCESS_TOKEN_LIFETIME_MS) {
          throw new CoreError(
            'ERR_INVALID_ARGUMENT',
            'Invalid value at \'lifetime\': use a duration up to 3600s, such as "3600s".',
          );
        }
        const account = await findAccount(req.caller, 'iam.serviceAccounts.getAccessToken', req.params.name as string);
        if (account.disabled) throw serviceAccountDisabled(account);
        const issued = await deps.credentials.issueAccessToken({
          kind: 'serviceAccount',
          principal: `serviceAccount:${account.email}`,
          lifetimeMs,
          scopes: body.scope,
        });
        await audit.record({
          project: account.projectNumber,
          method: `${IAM_CREDENTIALS}.GenerateAccessToken`,
          resource: `projects/-/serviceAccounts/${account.email}`,
          caller: req.caller,
          outcome: 'ALLOWED',
          details: { lifetimeSeconds: Math.round(lifetimeMs / 1000) },
        });
        // In whole seconds, as Google writes it: google-auth for Python (gcloud) parses no fraction. Rounding down
        // only makes a client refresh a moment early.
        const expireTime = toRfc3339(Math.floor(issued.expiresAt / 1000) * 1000).replace('.000Z', 'Z');
        return { accessToken: issued.accessToken, expireTime };
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${ACCOUNT}}:generateIdToken`,
      handler: async (req) => {
        const body = parseWith(IdTokenSchema, req.body);
        const account = await findAccount(req.caller, 'iam.serviceAccounts.getOpenIdToken', req.params.name as string);
        if (account.disabled) throw serviceAccountDisabled(account);
        const token = await deps.idTokens.sign({
          audience: body.audience,
          subject: account.uniqueId,
          ...(body.includeEmail ? { email: account.email } : {}),
          extra: { azp: account.uniqueId },
        });
        await audit.record({
          project: account.projectNumber,
          method: `${IAM_CREDENTIALS}.GenerateIdToken`,
          resource: `projects/-/serviceAccounts/${account.email}`,
          caller: req.caller,
          outcome: 'ALLOWED',
          details: { audience: body.audience },
        });
        return { token };
      },
    },
  ];
}
