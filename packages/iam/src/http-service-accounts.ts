// REST routes of IAM service accounts and of IAM Credentials (generateAccessToken, generateIdToken).
import { type Caller, CoreError, parseDurationMs, permissionDenied, toRfc3339 } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import type { IamDeps } from './deps.ts';
import { IamError } from './errors.ts';
import { iamPolicyRoutes } from './iam-policy-routes.ts';
import { type ServiceAccount, toKeyJson, toServiceAccountJson } from './service-accounts.ts';

const IAM_ADMIN = 'google.iam.admin.v1.IAM';
const IAM_CREDENTIALS = 'google.iam.credentials.v1.IAMCredentials';
const MAX_ACCESS_TOKEN_LIFETIME_MS = 3600_000;

const CreateSchema = z
  .object({
    accountId: z.string(),
    serviceAccount: z
      .object({ displayName: z.string().max(100).optional(), description: z.string().max(256).optional() })
      .strict()
      .optional(),
  })
  .strict();
const KeySchema = z.object({ privateKeyType: z.string().optional(), keyAlgorithm: z.string().optional() }).strict();
const AccessTokenSchema = z
  .object({
    scope: z.array(z.string()).min(1, 'at least one scope is required'),
    lifetime: z.string().optional(),
    delegates: z.array(z.string()).max(0, 'delegation chains are not supported').optional(),
  })
  .strict();
const IdTokenSchema = z
  .object({
    audience: z.string().min(1).max(1024),
    includeEmail: z.boolean().optional(),
    organizationNumberIncluded: z.boolean().optional(),
    delegates: z.array(z.string()).max(0, 'delegation chains are not supported').optional(),
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

export function serviceAccountRoutes(deps: IamDeps): ApiRoute[] {
  const { serviceAccounts, projects, audit } = deps;

  /**
   * Authorizes, then finds the account. A missing account, or one named under a project it is not in, is
   * checked against the name as given, so it looks denied to a caller without permission, exactly like an
   * existing account the caller may not touch.
   */
  const findAccount = async (caller: Caller | undefined, permission: string, name: string): Promise<ServiceAccount> => {
    const { project, key } = accountKey(name);
    const found = /^\d+$/.test(key) ? await serviceAccounts.getByUniqueId(key) : await serviceAccounts.get(key);
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
        await audit.record({
          project: project.projectNumber,
          method: `${IAM_ADMIN}.CreateServiceAccount`,
          resource: `projects/${project.projectId}/serviceAccounts/${account.email}`,
          caller: req.caller,
          outcome: 'ALLOWED',
        });
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
      path: '/v1/{name=projects/*/serviceAccounts/*}',
      handler: async (req) =>
        toServiceAccountJson(await findAccount(req.caller, 'iam.serviceAccounts.get', req.params.name as string)),
    },
    {
      method: 'POST',
      path: '/v1/{name=projects/*/serviceAccounts/*}/keys',
      handler: async (req) => {
        const body = parseWith(KeySchema, req.body === '' ? {} : req.body);
        if (body.keyAlgorithm && !['KEY_ALG_RSA_2048', 'KEY_ALG_UNSPECIFIED'].includes(body.keyAlgorithm)) {
          throw new CoreError(
            'ERR_INVALID_ARGUMENT',
            `Invalid value at 'key_algorithm': only KEY_ALG_RSA_2048 is offered.`,
          );
        }
        const account = await findAccount(req.caller, 'iam.serviceAccountKeys.create', req.params.name as string);
        const key = await serviceAccounts.createKey(account, `${deps.settings.baseUrl}/token`);
        await audit.record({
          project: account.projectNumber,
          method: `${IAM_ADMIN}.CreateServiceAccountKey`,
          resource: `projects/${account.projectId}/serviceAccounts/${account.email}/keys/${key.keyId}`,
          caller: req.caller,
          outcome: 'ALLOWED',
        });
        return toKeyJson(account, key);
      },
    },
    {
      method: 'GET',
      path: '/v1/{name=projects/*/serviceAccounts/*}/keys',
      handler: async (req) => {
        const account = await findAccount(req.caller, 'iam.serviceAccountKeys.list', req.params.name as string);
        const keys = await serviceAccounts.listKeys(account.email);
        return {
          keys: keys.map((k) => ({
            name: `projects/${account.projectId}/serviceAccounts/${account.email}/keys/${k.keyId}`,
            validAfterTime: toRfc3339(k.createTime),
            keyAlgorithm: 'KEY_ALG_RSA_2048',
            keyType: 'USER_MANAGED',
          })),
        };
      },
    },
    ...iamPolicyRoutes(deps.serviceContext, {
      resource: 'projects/*/serviceAccounts/*',
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
      path: '/v1/{name=projects/*/serviceAccounts/*}:generateAccessToken',
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
        if (account.disabled)
          throw new IamError('ERR_IAM_SERVICE_ACCOUNT_DISABLED', `Service account ${account.email} is disabled.`);
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
        return { accessToken: issued.accessToken, expireTime: toRfc3339(issued.expiresAt) };
      },
    },
    {
      method: 'POST',
      path: '/v1/{name=projects/*/serviceAccounts/*}:generateIdToken',
      handler: async (req) => {
        const body = parseWith(IdTokenSchema, req.body);
        const account = await findAccount(req.caller, 'iam.serviceAccounts.getOpenIdToken', req.params.name as string);
        if (account.disabled)
          throw new IamError('ERR_IAM_SERVICE_ACCOUNT_DISABLED', `Service account ${account.email} is disabled.`);
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
