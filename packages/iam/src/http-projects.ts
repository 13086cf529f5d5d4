// REST routes of the resource manager (projects) and service usage (services enable).
import { type Caller, CoreError, newUuid, permissionDenied } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import type { IamDeps } from './deps.ts';
import { iamPolicyRoutes } from './iam-policy-routes.ts';
import { toProjectJson } from './projects.ts';

const CreateProjectSchema = z
  .object({
    projectId: z.string(),
    name: z.string().max(30).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    parent: z.unknown().optional(),
  })
  .strict();
const BatchEnableSchema = z
  .object({
    serviceIds: z
      .array(z.string().regex(/^[a-z0-9.-]{1,100}$/))
      .min(1)
      .max(20),
  })
  .strict();
const RESOURCE_MANAGER = 'google.cloudresourcemanager.v1.Projects';

export function projectRoutes(deps: IamDeps): ApiRoute[] {
  const { projects, policies, audit, clock } = deps;
  const requireProject = async (caller: Caller | undefined, permission: string, idOrNumber: string) => {
    await deps.authorizer.authorize(caller, permission, `projects/${idOrNumber}`);
    const project = await projects.get(idOrNumber);
    if (!project) throw permissionDenied(permission, `projects/${idOrNumber}`);
    return project;
  };
  return [
    {
      method: 'POST',
      path: '/v1/projects',
      handler: async (req) => {
        const body = parseWith(CreateProjectSchema, req.body);
        const caller = req.caller as Caller;
        if (caller.kind !== 'user') {
          throw new CoreError('ERR_PERMISSION_DENIED', 'Only user accounts can create projects.');
        }
        const now = clock.now();
        const project = await projects.create(body.projectId, body.name ?? body.projectId, caller.principal, now);
        await policies.update(
          `projects/${project.projectNumber}`,
          () => [{ role: 'roles/owner', members: [caller.principal] }],
          now,
        );
        await audit.record({
          project: project.projectNumber,
          method: `${RESOURCE_MANAGER}.CreateProject`,
          resource: `projects/${project.projectId}`,
          caller,
          outcome: 'ALLOWED',
        });
        return {
          name: `operations/cp.${newUuid()}`,
          done: true,
          response: {
            '@type': 'type.googleapis.com/google.cloudresourcemanager.v1.Project',
            ...toProjectJson(project),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/projects',
      handler: async (req) => {
        const visible = [];
        for (const project of await projects.list()) {
          if (project.state !== 'ACTIVE') continue;
          if (
            await deps.authorizer.isAllowed(
              req.caller,
              'resourcemanager.projects.get',
              `projects/${project.projectNumber}`,
            )
          ) {
            visible.push(toProjectJson(project));
          }
        }
        return visible.length > 0 ? { projects: visible } : {};
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}',
      handler: async (req) =>
        toProjectJson(await requireProject(req.caller, 'resourcemanager.projects.get', req.params.project as string)),
    },
    ...iamPolicyRoutes(deps.serviceContext, {
      resource: 'projects/*',
      permissionPrefix: 'resourcemanager.projects',
      methodPrefix: RESOURCE_MANAGER,
      kind: 'Project',
      exists: async (name) => (await projects.resolve(name.split('/')[1] ?? '')) !== undefined,
    }),
    {
      method: 'POST',
      path: '/v1/projects/{project}/services:batchEnable',
      handler: async (req) => {
        const body = parseWith(BatchEnableSchema, req.body);
        const project = await requireProject(req.caller, 'serviceusage.services.enable', req.params.project as string);
        await projects.enableServices(project.projectNumber, body.serviceIds, clock.now());
        await audit.record({
          project: project.projectNumber,
          method: 'google.api.serviceusage.v1.ServiceUsage.BatchEnableServices',
          resource: `projects/${project.projectId}`,
          caller: req.caller,
          outcome: 'ALLOWED',
          details: { services: body.serviceIds },
        });
        return { name: `operations/acf.${newUuid()}`, done: true, response: {} };
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/services',
      handler: async (req) => {
        const project = await requireProject(req.caller, 'serviceusage.services.list', req.params.project as string);
        const services = await projects.listServices(project.projectNumber);
        return {
          services: services.map((s) => ({
            name: `projects/${project.projectNumber}/services/${s.service}`,
            parent: `projects/${project.projectNumber}`,
            state: 'ENABLED',
          })),
        };
      },
    },
  ];
}
