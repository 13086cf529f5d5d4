// REST routes of service-account keys: create, list, get, disable, enable, delete (each audited).
import { type Caller, CoreError } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import type { IamDeps } from './deps.ts';
import { type AccountFinder, createAccountFinder, IAM_ADMIN } from './http-service-accounts.ts';
import { type ServiceAccountKeyInfo, toKeyJson } from './service-account-keys.ts';
import type { ServiceAccount } from './service-accounts.ts';

const ACCOUNT = 'projects/*/serviceAccounts/*';
const KEY = `${ACCOUNT}/keys/*`;
const KEY_ID = /^[0-9a-f]{40}$/;

const CreateSchema = z.object({ privateKeyType: z.string().optional(), keyAlgorithm: z.string().optional() }).strict();
const EmptySchema = z.object({}).strict();
const ListQuery = z.enum(['USER_MANAGED', 'SYSTEM_MANAGED', 'KEY_TYPE_UNSPECIFIED']);

/** `projects/P/serviceAccounts/A/keys/K` → the account's name and the key id. */
function splitKeyName(name: string): { account: string; keyId: string } {
  const at = name.lastIndexOf('/keys/');
  return { account: name.slice(0, at), keyId: name.slice(at + '/keys/'.length) };
}

export function serviceAccountKeyRoutes(deps: IamDeps): ApiRoute[] {
  const { keys, audit } = deps;
  const findAccount: AccountFinder = createAccountFinder(deps);
  const record = (caller: Caller | undefined, account: ServiceAccount, keyId: string, method: string) =>
    audit.record({
      project: account.projectNumber,
      method: `${IAM_ADMIN}.${method}`,
      resource: `projects/${account.projectId}/serviceAccounts/${account.email}/keys/${keyId}`,
      caller,
      outcome: 'ALLOWED',
    });
  /** Authorizes on the account, then finds the key; a missing key is NOT_FOUND only to a permitted caller. */
  const findKey = async (
    caller: Caller | undefined,
    permission: string,
    name: string,
  ): Promise<{ account: ServiceAccount; key: ServiceAccountKeyInfo }> => {
    const { account: accountName, keyId } = splitKeyName(name);
    const account = await findAccount(caller, permission, accountName);
    const key = KEY_ID.test(keyId) ? await keys.get(account, keyId) : undefined;
    if (!key) throw new CoreError('ERR_NOT_FOUND', `Service account key ${name} not found.`);
    return { account, key };
  };
  const toggle = (verb: 'disable' | 'enable', method: string): ApiRoute => ({
    method: 'POST',
    path: `/v1/{name=${KEY}}:${verb}`,
    handler: async (req) => {
      parseWith(EmptySchema, req.body === '' || req.body === undefined ? {} : req.body);
      const { account, key } = await findKey(req.caller, `iam.serviceAccountKeys.${verb}`, req.params.name as string);
      await keys.setDisabled(account, key.keyId, verb === 'disable');
      await record(req.caller, account, key.keyId, method);
      return {};
    },
  });

  return [
    {
      method: 'POST',
      path: `/v1/{name=${ACCOUNT}}/keys`,
      handler: async (req) => {
        const body = parseWith(CreateSchema, req.body === '' ? {} : req.body);
        if (body.keyAlgorithm && !['KEY_ALG_RSA_2048', 'KEY_ALG_UNSPECIFIED'].includes(body.keyAlgorithm)) {
          throw new CoreError(
            'ERR_INVALID_ARGUMENT',
            `Invalid value at 'key_algorithm': only KEY_ALG_RSA_2048 is offered.`,
          );
        }
        const account = await findAccount(req.caller, 'iam.serviceAccountKeys.create', req.params.name as string);
        const material = await keys.create(account, `${deps.settings.baseUrl}/token`);
        await record(req.caller, account, material.keyId, 'CreateServiceAccountKey');
        return toKeyJson(
          account,
          { keyId: material.keyId, createTime: material.createTime, disabled: false },
          material,
        );
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${ACCOUNT}}/keys`,
      handler: async (req) => {
        const types = req.queryAll.keyTypes ?? [];
        if (!types.every((t) => ListQuery.safeParse(t).success)) {
          throw new CoreError('ERR_INVALID_ARGUMENT', "Invalid value at 'key_types'.");
        }
        const account = await findAccount(req.caller, 'iam.serviceAccountKeys.list', req.params.name as string);
        // Sealroom keeps no system-managed keys: asking only for those lists nothing.
        const onlySystem = types.length > 0 && !types.some((t) => t !== 'SYSTEM_MANAGED');
        const list = onlySystem ? [] : await keys.list(account);
        return { keys: list.map((k) => toKeyJson(account, k)) };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${KEY}}`,
      handler: async (req) => {
        const { account, key } = await findKey(req.caller, 'iam.serviceAccountKeys.get', req.params.name as string);
        return toKeyJson(account, key);
      },
    },
    toggle('disable', 'DisableServiceAccountKey'),
    toggle('enable', 'EnableServiceAccountKey'),
    {
      method: 'DELETE',
      path: `/v1/{name=${KEY}}`,
      body: 'none',
      handler: async (req) => {
        const { account, key } = await findKey(req.caller, 'iam.serviceAccountKeys.delete', req.params.name as string);
        await keys.delete(account, key.keyId);
        await record(req.caller, account, key.keyId, 'DeleteServiceAccountKey');
        return {};
      },
    },
  ];
}
