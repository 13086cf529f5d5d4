// Secret Manager REST v1 routes: parse proto3 JSON, call the domain, answer Google's shapes.
import { fromBase64Lenient, invalidArgument, parseCrc32c } from '@sealroom/core';
import { iamPolicyRoutes } from '@sealroom/iam';
import { type ApiRoute, parseWith, type ServiceContext } from '@sealroom/transport';
import { z } from 'zod';
import { toAccessJson, toSecretJson, toSecretVersionJson } from './json.ts';
import { MAX_PAYLOAD_BYTES, type SecretManager } from './service.ts';

const SECRET = 'projects/*/secrets/*';
const VERSION = `${SECRET}/versions/*`;
/** A 64 KiB payload in base64 with room for the rest of the body. */
const ADD_VERSION_BODY_LIMIT_BYTES = 4 * MAX_PAYLOAD_BYTES;

const SecretBody = z.object({
  name: z.string().optional(),
  replication: z.record(z.string(), z.unknown()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  etag: z.string().optional(),
});
const AddVersionBody = z.object({
  payload: z.object({ data: z.string().optional(), dataCrc32c: z.union([z.string(), z.number()]).optional() }),
});
const StateBody = z.object({ etag: z.string().optional() });

function pageSizeOf(query: Readonly<Record<string, string>>): number | undefined {
  if (query.pageSize === undefined) return undefined;
  const size = Number(query.pageSize);
  if (!Number.isInteger(size) || size < 0) throw invalidArgument("Invalid value at 'page_size'.");
  return size;
}

function emptyOrObject(body: unknown): unknown {
  return body === '' || body === undefined ? {} : body;
}

export function secretsRoutes(sm: SecretManager, ctx: ServiceContext): ApiRoute[] {
  return [
    ...iamPolicyRoutes(ctx, {
      resource: SECRET,
      permissionPrefix: 'secretmanager.secrets',
      methodPrefix: 'google.cloud.secretmanager.v1.SecretManagerService',
      exists: (name) => sm.secretExists(name),
      kind: 'Secret',
    }),
    {
      method: 'POST',
      path: '/v1/{parent=projects/*}/secrets',
      handler: async (req) => {
        const body = parseWith(SecretBody, emptyOrObject(req.body));
        const id = req.query.secretId;
        if (!id) throw invalidArgument("The query parameter 'secretId' is required.");
        const secret = await sm.createSecret(req.caller, req.params.parent as string, id, {
          labels: body.labels ?? {},
          annotations: body.annotations ?? {},
        });
        return toSecretJson(secret);
      },
    },
    {
      method: 'GET',
      path: '/v1/{parent=projects/*}/secrets',
      handler: async (req) => {
        const page = await sm.listSecrets(
          req.caller,
          req.params.parent as string,
          pageSizeOf(req.query),
          req.query.pageToken,
        );
        return {
          ...(page.items.length > 0 ? { secrets: page.items.map(toSecretJson) } : {}),
          ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
          totalSize: page.totalSize,
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${SECRET}}`,
      handler: async (req) => toSecretJson(await sm.getSecret(req.caller, req.params.name as string)),
    },
    {
      method: 'PATCH',
      path: `/v1/{name=${SECRET}}`,
      handler: async (req) => {
        const body = parseWith(SecretBody, req.body);
        const mask = (req.query.updateMask ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
        const input = {
          ...(body.labels ? { labels: body.labels } : {}),
          ...(body.annotations ? { annotations: body.annotations } : {}),
        };
        return toSecretJson(await sm.updateSecret(req.caller, req.params.name as string, input, mask));
      },
    },
    {
      method: 'DELETE',
      path: `/v1/{name=${SECRET}}`,
      body: 'none',
      handler: async (req) => {
        await sm.deleteSecret(req.caller, req.params.name as string);
        return {};
      },
    },
    {
      method: 'POST',
      path: `/v1/{parent=${SECRET}}:addVersion`,
      bodyLimit: ADD_VERSION_BODY_LIMIT_BYTES,
      handler: async (req) => {
        const body = parseWith(AddVersionBody, req.body);
        const data =
          body.payload.data === undefined ? Buffer.alloc(0) : fromBase64Lenient(body.payload.data, 'payload.data');
        const version = await sm.addVersion(req.caller, req.params.parent as string, {
          data,
          dataCrc32c: parseCrc32c(body.payload.dataCrc32c, 'payload.data_crc32c'),
        });
        return toSecretVersionJson(version);
      },
    },
    {
      method: 'GET',
      path: `/v1/{parent=${SECRET}}/versions`,
      handler: async (req) => {
        const page = await sm.listVersions(
          req.caller,
          req.params.parent as string,
          pageSizeOf(req.query),
          req.query.pageToken,
        );
        return {
          ...(page.items.length > 0 ? { versions: page.items.map(toSecretVersionJson) } : {}),
          ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
          totalSize: page.totalSize,
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${VERSION}}`,
      handler: async (req) => toSecretVersionJson(await sm.getVersion(req.caller, req.params.name as string)),
    },
    {
      method: 'GET',
      path: `/v1/{name=${VERSION}}:access`,
      handler: async (req) => toAccessJson(await sm.accessVersion(req.caller, req.params.name as string)),
    },
    ...(
      [
        [
          'enable',
          (name: string, caller: Parameters<SecretManager['enableVersion']>[0]) => sm.enableVersion(caller, name),
        ],
        [
          'disable',
          (name: string, caller: Parameters<SecretManager['enableVersion']>[0]) => sm.disableVersion(caller, name),
        ],
        [
          'destroy',
          (name: string, caller: Parameters<SecretManager['enableVersion']>[0]) => sm.destroyVersion(caller, name),
        ],
      ] as const
    ).map(
      ([verb, run]): ApiRoute => ({
        method: 'POST',
        path: `/v1/{name=${VERSION}}:${verb}`,
        handler: async (req) => {
          parseWith(StateBody, emptyOrObject(req.body));
          return toSecretVersionJson(await run(req.params.name as string, req.caller));
        },
      }),
    ),
  ];
}
