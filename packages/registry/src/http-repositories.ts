// Artifact Registry's repository API (REST v1): create, list, get, docker images, IAM policy methods.
import { toRfc3339 } from '@sealroom/core';
import { iamPolicyRoutes } from '@sealroom/iam';
import { type ApiRequest, type ApiRoute, parseWith, type ServiceContext } from '@sealroom/transport';
import { z } from 'zod';
import type { Registry } from './service.ts';
import type { RepositoryRecord } from './store.ts';

const LOC = 'projects/*/locations/*';
const REPO = `${LOC}/repositories/*`;
const AR_METHOD = 'google.devtools.artifactregistry.v1.ArtifactRegistry';

export function toRepositoryJson(r: RepositoryRecord): Record<string, unknown> {
  return {
    name: r.name,
    format: r.format,
    description: r.description,
    labels: r.labels,
    createTime: toRfc3339(r.createTime),
    updateTime: toRfc3339(r.createTime),
    mode: 'STANDARD_REPOSITORY',
  };
}

const RepositoryBody = z
  .object({
    name: z.string().optional(),
    format: z.string().optional(),
    description: z.string().max(2048).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    // gcloud sends MODE_UNSPECIFIED, which means a standard repository; virtual and remote ones are not served.
    mode: z.enum(['STANDARD_REPOSITORY', 'MODE_UNSPECIFIED']).optional(),
  })
  .strict();

export function artifactRegistryRoutes(registry: Registry, ctx: ServiceContext): ApiRoute[] {
  const parentOf = (req: ApiRequest) => {
    const [, projectId = '', , location = ''] = (req.params.parent as string).split('/');
    return { projectId, location };
  };
  return [
    {
      method: 'POST',
      path: `/v1/{parent=${LOC}}/repositories`,
      handler: async (req) => {
        const body = parseWith(RepositoryBody, req.body);
        const id = req.query.repositoryId ?? '';
        const repository = await registry.createRepository(req.caller, parentOf(req), id, {
          ...(body.format === undefined ? {} : { format: body.format }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.labels === undefined ? {} : { labels: body.labels }),
        });
        return {
          name: `${req.params.parent}/operations/${ctx.clock.now().toString(36)}-${id}`,
          done: true,
          response: {
            '@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.Repository',
            ...toRepositoryJson(repository),
          },
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{parent=${LOC}}/repositories`,
      handler: async (req) => {
        const list = await registry.listRepositories(req.caller, parentOf(req));
        return list.length === 0 ? {} : { repositories: list.map(toRepositoryJson) };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${REPO}}`,
      handler: async (req) => toRepositoryJson(await registry.getRepository(req.caller, req.params.name as string)),
    },
    {
      method: 'GET',
      path: `/v1/{parent=${REPO}}/dockerImages`,
      handler: async (req) => {
        const parent = req.params.parent as string;
        // Referrer artifacts (SBOMs, bundles) belong to their subject image; they are not listed as images.
        const images = (await registry.listImages(req.caller, parent)).filter((m) => m.subject === undefined);
        const host = new URL(req.baseUrl).host;
        return images.length === 0
          ? {}
          : {
              dockerImages: images.map((m) => ({
                name: `${parent}/dockerImages/${encodeURIComponent(m.image.split('/').slice(2).join('/'))}@${m.digest}`,
                uri: `${host}/${m.image}@${m.digest}`,
                tags: m.tags,
                imageSizeBytes: String(m.size),
                mediaType: m.mediaType,
                ...(m.artifactType === undefined ? {} : { artifactType: m.artifactType }),
                uploadTime: toRfc3339(m.createTime),
              })),
            };
      },
    },
    ...iamPolicyRoutes(ctx, {
      resource: REPO,
      permissionPrefix: 'artifactregistry.repositories',
      methodPrefix: AR_METHOD,
      kind: 'Repository',
      exists: (name) => registry.repositoryExists(name),
    }),
  ];
}
