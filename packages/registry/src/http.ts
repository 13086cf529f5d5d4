// REST front end of the registry: the OCI distribution API under /v2 (errors as
// `{"errors":[{code,message}]}`, bearer challenge, token endpoint), plus the repository API of http-repositories.ts.
import type { Readable } from 'node:stream';
import { type Caller, CoreError, isSealroomError } from '@sealroom/core';
import {
  type ApiRequest,
  type ApiResponse,
  type ApiRoute,
  type ErrorMapper,
  reply,
  type ServiceContext,
} from '@sealroom/transport';
import { OCI_INDEX } from '@sealroom/formats';
import { RegistryError } from './errors.ts';
import { MAX_MANIFEST_BYTES, type Registry } from './service.ts';
import { artifactRegistryRoutes } from './http-repositories.ts';

const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;
const NAME = '{name=**}';

/** Sealroom code → OCI distribution error code and HTTP status (distribution-spec §Error Codes). */
const OCI_ERRORS: Readonly<Record<string, readonly [string, number]>> = {
  ERR_REGISTRY_BAD_DIGEST: ['DIGEST_INVALID', 400],
  ERR_REGISTRY_DIGEST_MISMATCH: ['DIGEST_INVALID', 400],
  ERR_FORMATS_BAD_DIGEST: ['DIGEST_INVALID', 400],
  ERR_FORMATS_DIGEST_MISMATCH: ['DIGEST_INVALID', 400],
  ERR_REGISTRY_BAD_REFERENCE: ['NAME_INVALID', 400],
  ERR_REGISTRY_BAD_MANIFEST: ['MANIFEST_INVALID', 400],
  ERR_REGISTRY_UNSUPPORTED_MEDIA_TYPE: ['MANIFEST_INVALID', 400],
  ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN: ['MANIFEST_BLOB_UNKNOWN', 400],
  ERR_REGISTRY_NAME_UNKNOWN: ['NAME_UNKNOWN', 404],
  ERR_REGISTRY_BLOB_UNKNOWN: ['BLOB_UNKNOWN', 404],
  ERR_REGISTRY_MANIFEST_UNKNOWN: ['MANIFEST_UNKNOWN', 404],
  ERR_REGISTRY_UPLOAD_UNKNOWN: ['BLOB_UPLOAD_UNKNOWN', 404],
  ERR_REGISTRY_UPLOAD_INVALID: ['BLOB_UPLOAD_INVALID', 416],
  ERR_REGISTRY_SIZE_INVALID: ['SIZE_INVALID', 400],
  ERR_UNAUTHENTICATED: ['UNAUTHORIZED', 401],
  ERR_PERMISSION_DENIED: ['DENIED', 403],
  ERR_INVALID_ARGUMENT: ['UNSUPPORTED', 400],
  ERR_NOT_FOUND: ['NAME_UNKNOWN', 404],
};

function challenge(baseUrl: string): string {
  return `Bearer realm="${baseUrl}/v2/token",service="sealroom"`;
}

/** `settings` is read at error time, so a server that learns its port after building routes still advertises it. */
export function ociErrorMapper(settings: { readonly baseUrl: string }): ErrorMapper {
  return (error) => {
    if (!isSealroomError(error)) return undefined;
    const mapped = OCI_ERRORS[error.code];
    if (!mapped) return undefined;
    const [code, status] = mapped;
    return {
      status,
      headers: {
        ...API_VERSION_HEADER,
        ...(status === 401 ? { 'www-authenticate': challenge(settings.baseUrl) } : {}),
      },
      body: { errors: [{ code, message: error.message }] },
    };
  };
}

function requireCaller(req: ApiRequest): Caller {
  if (!req.caller) throw new CoreError('ERR_UNAUTHENTICATED', 'authentication required');
  return req.caller;
}

const ok = (status: number, headers: Record<string, string | number>, body?: unknown): ApiResponse =>
  reply(body ?? '', status, { ...API_VERSION_HEADER, ...headers });

function parseRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!m) throw new RegistryError('ERR_REGISTRY_UPLOAD_INVALID', 'Content-Range must be `start-end`.');
  return { start: Number(m[1]), end: Number(m[2]) };
}

const uploadLocation = (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`;
const rangeHeader = (offset: number) => `0-${Math.max(0, offset - 1)}`;

function distributionRoutes(registry: Registry, ctx: ServiceContext): ApiRoute[] {
  const mapError = ociErrorMapper(ctx.settings);
  const route = (r: Omit<ApiRoute, 'mapError'>): ApiRoute => ({ auth: 'optional', mapError, ...r });
  const name = (req: ApiRequest) => req.params.name as string;
  return [
    route({
      method: 'GET',
      path: '/v2/',
      handler: async (req) => {
        requireCaller(req);
        return ok(200, { 'content-type': 'application/json' }, '{}');
      },
    }),
    route({
      method: 'GET',
      path: '/v2/token',
      auth: 'none',
      handler: async (req) => {
        const token = readTokenCredential(req.headers.authorization);
        if (!token)
          throw new CoreError(
            'ERR_UNAUTHENTICATED',
            'Send an access token as the Basic password (user oauth2accesstoken).',
          );
        const caller = await ctx.authenticator.authenticate(token);
        const expiresIn = Math.max(1, Math.floor((caller.expiresAt - ctx.clock.now()) / 1000));
        return ok(
          200,
          { 'content-type': 'application/json' },
          JSON.stringify({ token, access_token: token, expires_in: expiresIn }),
        );
      },
    }),
    route({
      method: 'POST',
      path: `/v2/${NAME}/blobs/uploads/`,
      body: 'stream',
      handler: async (req) => {
        const caller = requireCaller(req);
        const { digest, mount, from } = req.query;
        if (mount !== undefined && from !== undefined && (await registry.mountBlob(caller, name(req), mount, from))) {
          return ok(201, {
            location: `/v2/${name(req)}/blobs/${mount}`,
            'docker-content-digest': mount,
            'content-length': 0,
          });
        }
        const id = await registry.startUpload(caller, name(req));
        if (digest !== undefined) {
          await registry.completeUpload(caller, name(req), id, digest, req.raw);
          return ok(201, {
            location: `/v2/${name(req)}/blobs/${digest}`,
            'docker-content-digest': digest,
            'content-length': 0,
          });
        }
        req.raw.resume();
        return ok(202, {
          location: uploadLocation(name(req), id),
          range: '0-0',
          'docker-upload-uuid': id,
          'content-length': 0,
        });
      },
    }),
    route({
      method: 'PATCH',
      path: `/v2/${NAME}/blobs/uploads/{id}`,
      body: 'stream',
      handler: async (req) => {
        const range = parseRange(req.headers['content-range'] as string | undefined);
        const offset = await registry.uploadChunk(
          requireCaller(req),
          name(req),
          req.params.id as string,
          req.raw as Readable,
          range,
        );
        return ok(202, {
          location: uploadLocation(name(req), req.params.id as string),
          range: rangeHeader(offset),
          'docker-upload-uuid': req.params.id as string,
          'content-length': 0,
        });
      },
    }),
    route({
      method: 'PUT',
      path: `/v2/${NAME}/blobs/uploads/{id}`,
      body: 'stream',
      handler: async (req) => {
        const digest = req.query.digest;
        if (digest === undefined)
          throw new RegistryError('ERR_REGISTRY_BAD_DIGEST', 'The digest query parameter is required.');
        await registry.completeUpload(requireCaller(req), name(req), req.params.id as string, digest, req.raw);
        return ok(201, {
          location: `/v2/${name(req)}/blobs/${digest}`,
          'docker-content-digest': digest,
          'content-length': 0,
        });
      },
    }),
    route({
      method: 'GET',
      path: `/v2/${NAME}/blobs/uploads/{id}`,
      handler: async (req) => {
        const offset = await registry.uploadStatus(requireCaller(req), name(req), req.params.id as string);
        return ok(204, {
          location: uploadLocation(name(req), req.params.id as string),
          range: rangeHeader(offset),
          'docker-upload-uuid': req.params.id as string,
        });
      },
    }),
    route({
      method: 'DELETE',
      path: `/v2/${NAME}/blobs/uploads/{id}`,
      handler: async (req) => {
        await registry.cancelUpload(requireCaller(req), name(req), req.params.id as string);
        return ok(204, {});
      },
    }),
    route({
      method: 'GET',
      path: `/v2/${NAME}/blobs/{digest}`,
      handler: async (req) => {
        const digest = req.params.digest as string;
        const size = await registry.statBlob(requireCaller(req), name(req), digest);
        const body = req.raw.method === 'HEAD' ? '' : registry.readBlob(digest);
        return ok(
          200,
          {
            'content-type': 'application/octet-stream',
            'content-length': size,
            'docker-content-digest': digest,
            etag: `"${digest}"`,
          },
          body,
        );
      },
    }),
    route({
      method: 'DELETE',
      path: `/v2/${NAME}/blobs/{digest}`,
      handler: async (req) => {
        await registry.deleteBlob(requireCaller(req), name(req), req.params.digest as string);
        return ok(202, { 'content-length': 0 });
      },
    }),
    route({
      method: 'PUT',
      path: `/v2/${NAME}/manifests/{reference}`,
      body: 'raw',
      bodyLimit: MAX_MANIFEST_BYTES,
      handler: async (req) => {
        const result = await registry.putManifest(
          requireCaller(req),
          name(req),
          req.params.reference as string,
          req.headers['content-type'],
          req.rawBody ?? Buffer.alloc(0),
        );
        return ok(201, {
          location: `/v2/${name(req)}/manifests/${result.digest}`,
          'docker-content-digest': result.digest,
          'content-length': 0,
          ...(result.subject === undefined ? {} : { 'oci-subject': result.subject }),
        });
      },
    }),
    route({
      method: 'GET',
      path: `/v2/${NAME}/manifests/{reference}`,
      handler: async (req) => {
        const { record, bytes } = await registry.getManifest(
          requireCaller(req),
          name(req),
          req.params.reference as string,
        );
        return ok(
          200,
          {
            'content-type': record.mediaType,
            'content-length': bytes.length,
            'docker-content-digest': record.digest,
            etag: `"${record.digest}"`,
          },
          bytes,
        );
      },
    }),
    route({
      method: 'DELETE',
      path: `/v2/${NAME}/manifests/{reference}`,
      handler: async (req) => {
        await registry.deleteManifest(requireCaller(req), name(req), req.params.reference as string);
        return ok(202, { 'content-length': 0 });
      },
    }),
    route({
      method: 'GET',
      path: `/v2/${NAME}/tags/list`,
      handler: async (req) => {
        const n = req.query.n === undefined ? undefined : Number(req.query.n);
        if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0))
          throw new RegistryError('ERR_REGISTRY_BAD_REFERENCE', 'n must be a non-negative integer.');
        const { tags, more } = await registry.listTags(requireCaller(req), name(req), {
          ...(n === undefined ? {} : { n }),
          ...(req.query.last === undefined ? {} : { last: req.query.last }),
        });
        const last = tags[tags.length - 1];
        // distribution-spec §Listing Tags: a Link header points at the next page.
        const link =
          more && last !== undefined
            ? { link: `</v2/${name(req)}/tags/list?n=${n}&last=${encodeURIComponent(last)}>; rel="next"` }
            : {};
        return ok(200, { 'content-type': 'application/json', ...link }, JSON.stringify({ name: name(req), tags }));
      },
    }),
    route({
      method: 'GET',
      path: `/v2/${NAME}/referrers/{digest}`,
      handler: async (req) => {
        const artifactType = req.query.artifactType;
        const index = await registry.listReferrers(
          requireCaller(req),
          name(req),
          req.params.digest as string,
          artifactType,
        );
        return ok(
          200,
          {
            'content-type': OCI_INDEX,
            ...(artifactType === undefined ? {} : { 'oci-filters-applied': 'artifactType' }),
          },
          JSON.stringify(index),
        );
      },
    }),
  ];
}

/** Docker token auth: the Basic password (or a Bearer) is a Sealroom access token; it is returned as the registry token. */
function readTokenCredential(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer +(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
}

export function registryRoutes(registry: Registry, ctx: ServiceContext): ApiRoute[] {
  return [...artifactRegistryRoutes(registry, ctx), ...distributionRoutes(registry, ctx)];
}
