// getIamPolicy / setIamPolicy / testIamPermissions routes for any resource type, shared by every service.
import type { Caller } from '@sealroom/core';
import { CoreError, type ServiceContextLike, notFound, permissionDenied } from './iam-policy-deps.ts';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import { checkPolicyConditions, type Policy, parsePolicyInput } from './policy.ts';
import { createSqlPolicyStore } from './policy-store.ts';
import { canonicalResource } from './resource-canonical.ts';

export interface IamPolicyRouteOptions {
  /** Resource pattern inside the path template, e.g. `projects/*\/locations/*\/keyRings/*`. */
  readonly resource: string;
  /** Permission prefix, e.g. `cloudkms.keyRings` (→ `.getIamPolicy`, `.setIamPolicy`). */
  readonly permissionPrefix: string;
  /** Audit method prefix, e.g. `google.cloud.kms.v1.KeyManagementService`. */
  readonly methodPrefix: string;
  /** Whether the resource exists; asked only after the caller passed authorization. */
  readonly exists: (name: string) => Promise<boolean>;
  /** Display name of the resource type in NOT_FOUND messages (`CryptoKey`). */
  readonly kind: string;
  /** URL version prefix, `v1` by default. */
  readonly version?: string;
  /**
   * The name the resource's policy is kept and checked under, when a resource has several names (a service
   * account by unique id or by email). Asked before authorization: it returns the name unchanged for
   * anything it does not know, so that denied and missing still look alike.
   */
  readonly canonicalName?: (name: string) => Promise<string>;
}

const GetSchema = z
  .object({
    options: z
      .object({ requestedPolicyVersion: z.union([z.number(), z.string()]).optional() })
      .strict()
      .optional(),
  })
  .strict();
const SetSchema = z.object({ policy: z.unknown(), updateMask: z.string().optional() }).strict();
const TestSchema = z.object({ permissions: z.array(z.string().max(256)).max(100).default([]) }).strict();

/** The JSON form of a policy, as Google returns it (no `bindings` key when empty). */
export function toPolicyJson(policy: Policy): Record<string, unknown> {
  return {
    version: policy.version,
    etag: policy.etag,
    ...(policy.bindings.length > 0 ? { bindings: policy.bindings } : {}),
  };
}

export function iamPolicyRoutes(ctx: ServiceContextLike, options: IamPolicyRouteOptions): ApiRoute[] {
  const store = createSqlPolicyStore(ctx.db);
  const version = options.version ?? 'v1';
  const base = `/${version}/{resource=${options.resource}}`;
  const project = (name: string) => name.split('/')[1] ?? '';

  const targetOf = (name: string) => (options.canonicalName ? options.canonicalName(name) : Promise.resolve(name));

  const load = async (name: string, verb: 'GetIamPolicy' | 'SetIamPolicy', caller: Caller | undefined) => {
    const permission = `${options.permissionPrefix}.${verb === 'GetIamPolicy' ? 'getIamPolicy' : 'setIamPolicy'}`;
    const target = await targetOf(name);
    if (!(await ctx.authorizer.isAllowed(caller, permission, target))) {
      await ctx.audit.record({
        project: project(target),
        method: `${options.methodPrefix}.${verb}`,
        resource: target,
        caller,
        outcome: 'DENIED',
        status: 'PERMISSION_DENIED',
      });
      throw permissionDenied(permission, name);
    }
    const canonical = await canonicalResource(ctx.projects, target);
    if (!canonical || !(await options.exists(target))) throw notFound(`${options.kind} ${name} not found.`);
    return { canonical, target };
  };

  const get = async (name: string, caller: Caller | undefined) => {
    const { canonical } = await load(name, 'GetIamPolicy', caller);
    return toPolicyJson(await store.get(canonical));
  };

  return [
    { method: 'GET', path: `${base}:getIamPolicy`, handler: (req) => get(req.params.resource as string, req.caller) },
    {
      method: 'POST',
      path: `${base}:getIamPolicy`,
      handler: async (req) => {
        parseWith(GetSchema, req.body === '' ? {} : req.body);
        return get(req.params.resource as string, req.caller);
      },
    },
    {
      method: 'POST',
      path: `${base}:setIamPolicy`,
      handler: async (req) => {
        const name = req.params.resource as string;
        const body = parseWith(SetSchema, req.body);
        const input = parsePolicyInput(body.policy, ctx.settings.universeDomain);
        if (
          body.updateMask !== undefined &&
          !body.updateMask
            .split(',')
            .every((f) => ['bindings', 'etag', 'version', 'policy.bindings', 'policy.etag'].includes(f.trim()))
        ) {
          throw new CoreError(
            'ERR_INVALID_ARGUMENT',
            `Invalid value at 'update_mask': only bindings, etag and version can be set.`,
          );
        }
        const { canonical, target } = await load(name, 'SetIamPolicy', req.caller);
        checkPolicyConditions(input);
        const stored = await store.set(
          canonical,
          { version: input.version, bindings: input.bindings },
          input.etag,
          ctx.clock.now(),
        );
        await ctx.audit.record({
          project: project(target),
          method: `${options.methodPrefix}.SetIamPolicy`,
          resource: target,
          caller: req.caller,
          outcome: 'ALLOWED',
          details: { bindings: stored.bindings.map((b) => ({ role: b.role, members: b.members })) },
        });
        return toPolicyJson(stored);
      },
    },
    {
      method: 'POST',
      path: `${base}:testIamPermissions`,
      handler: async (req) => {
        const name = req.params.resource as string;
        const { permissions } = parseWith(TestSchema, req.body);
        const target = await targetOf(name);
        const granted: string[] = [];
        for (const permission of permissions) {
          if (await ctx.authorizer.isAllowed(req.caller, permission, target)) granted.push(permission);
        }
        return granted.length > 0 ? { permissions: granted } : {};
      },
    },
  ];
}
