// One google.iam.v1.IAMPolicy gRPC service for every resource: it dispatches to the REST policy routes of
// whichever service owns the resource, so authorization, etags and audit have a single implementation.
import { type Caller, invalidArgument } from '@sealroom/core';
import { ApiReply, type ApiRequest, type ApiRoute } from '../api.ts';
import type { GrpcServiceBinding, GrpcUnaryHandler } from '../grpc-types.ts';
import { compileTemplate } from '../path-template.ts';

type Message = Record<string, unknown>;

const POLICY_VERB = /:(getIamPolicy|setIamPolicy|testIamPermissions)$/;

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const bytes = (value: unknown): Buffer =>
  value === undefined || value === null
    ? Buffer.alloc(0)
    : typeof value === 'string'
      ? Buffer.from(value, 'base64')
      : Buffer.from(value as Uint8Array);

/** The POST policy routes among `routes` (every service mounts them through iamPolicyRoutes). */
export function policyRoutesOf(routes: readonly ApiRoute[]): ApiRoute[] {
  return routes.filter((r) => r.method === 'POST' && POLICY_VERB.test(r.path));
}

/**
 * Builds the IAMPolicy binding over `routes`' policy routes; `includeDirs` must hold
 * `google/iam/v1/iam_policy.proto` (google-gax ships it). The etag travels as bytes in gRPC and as
 * base64 in REST.
 */
export function iamPolicyBinding(routes: readonly ApiRoute[], includeDirs: readonly string[]): GrpcServiceBinding {
  const compiled = policyRoutesOf(routes).map((route) => ({ route, template: compileTemplate(route.path) }));
  const call = async (verb: string, resource: string, body: unknown, caller: Caller | undefined): Promise<Message> => {
    const match = compiled.find((c) => c.template.match(`/v1/${resource}:${verb}`));
    if (!match) throw invalidArgument(`Resource '${resource.slice(0, 300)}' has no IAM policy on this server.`);
    const params = match.template.match(`/v1/${resource}:${verb}`) ?? {};
    const request = {
      params,
      query: {},
      queryAll: {},
      headers: {},
      body,
      rawBody: undefined,
      caller,
    } as unknown as ApiRequest;
    const result = await match.route.handler(request);
    return (result instanceof ApiReply ? result.body : result) as Message;
  };
  const toPolicyMessage = (json: Message) => ({ ...json, etag: Buffer.from(str(json.etag), 'base64') });
  const unary: Record<string, GrpcUnaryHandler> = {
    GetIamPolicy: async (m, { caller }) => toPolicyMessage(await call('getIamPolicy', str(m.resource), {}, caller)),
    SetIamPolicy: async (m, { caller }) => {
      const policy = (m.policy ?? {}) as Message;
      const etag = policy.etag === undefined ? '' : bytes(policy.etag).toString('base64');
      const body = {
        policy: {
          ...(policy.version === undefined ? {} : { version: policy.version }),
          bindings: policy.bindings ?? [],
          ...(etag ? { etag } : {}),
        },
      };
      return toPolicyMessage(await call('setIamPolicy', str(m.resource), body, caller));
    },
    TestIamPermissions: async (m, { caller }) =>
      call('testIamPermissions', str(m.resource), { permissions: m.permissions ?? [] }, caller),
  };
  return { protoFiles: ['google/iam/v1/iam_policy.proto'], includeDirs, service: 'google.iam.v1.IAMPolicy', unary };
}
