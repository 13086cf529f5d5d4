// REST routes of the resource manager (projects) and service usage (services enable).
import { type Caller, CoreError, newUuid, permissionDenied } from '@sealroom/core';
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import type { IamDeps } from './deps.ts';
import { iamPolicyRoutes } from './iam-policy-routes.ts';
import { type Project, toProjectJson } from './projects.ts';

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
  const { projects, audit, clock } = deps;
  const requireProject = async (caller: Caller | undefined, permission: string, idOrNumber: string) => {
    await deps.authorizer.authorize(caller, permission, `projects/${idOrNumber}`);
    const project = await projects.get(idOrNumber);
    if (!project) throw permissionDenied(permission, `projects/${idOrNumber}`);
    return project;
  };
  const enable = async (
    caller: Caller | undefined,
    idOrNumber: string,
    services: readonly string[],
    method: string,
  ) => {
    const project = await requireProject(caller, 'serviceusage.services.enable', idOrNumber);
    await projects.enableServices(project.projectNumber, services, clock.now());
    await audit.record({
      project: project.projectNumber,
      method: `google.api.serviceusage.v1.ServiceUsage.${method}`,
      resource: `projects/${project.projectId}`,
      caller,
      outcome: 'ALLOWED',
      details: { services },
    });
    return project;
  };
  const createOperation = (project: Project) => ({
    name: `operations/cp.${project.projectNumber}.${newUuid()}`,
    done: true,
    response: { '@type': 'type.googleapis.com/google.cloudresourcemanager.v1.Project', ...toProjectJson(project) },
  });
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
        // The project and its owner policy, in one transaction.
        const project = await projects.create(body.projectId, body.name ?? body.projectId, caller.principal, now);
        await audit.record({
          project: project.projectNumber,
          method: `${RESOURCE_MANAGER}.CreateProject`,
          resource: `projects/${project.projectId}`,
          caller,
          outcome: 'ALLOWED',
        });
        return createOperation(project);
      },
    },
    {
      // gcloud polls the creation's operation even when it is done. Projects are created before the answer, so
      // an operation's name carries the project's number and reading it reads the project.
      method: 'GET',
      path: '/v1/operations/{operation}',
      handler: async (req) => {
        const number = /^cp\.(\d{6,20})\.[0-9a-f-]{36}$/.exec(req.params.operation as string)?.[1];
        if (!number) throw new CoreError('ERR_NOT_FOUND', `Operation operations/${req.params.operation} not found.`);
        const project = await requireProject(req.caller, 'resourcemanager.projects.get', number);
        return { ...createOperation(project), name: `operations/${req.params.operation}` };
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
        await enable(req.caller, req.params.project as string, body.serviceIds, 'BatchEnableServices');
        return { name: `operations/acf.${newUuid()}`, done: true, response: {} };
      },
    },
    {
      // What `gcloud services enable S` calls for a single service.
      method: 'POST',
      path: '/v1/projects/{project}/services/{service}:enable',
      handler: async (req) => {
        const { serviceIds } = parseWith(BatchEnableSchema, { serviceIds: [req.params.service] });
        const project = await enable(req.caller, req.params.project as string, serviceIds, 'EnableService');
        return {
          name: `operations/acf.${newUuid()}`,
          done: true,
          response: {
            '@type': 'type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse',
            service: {
              name: `projects/${project.projectNumber}/services/${serviceIds[0]}`,
              parent: `projects/${project.projectNumber}`,
              config: { name: serviceIds[0] },
              state: 'ENABLED',
            },
          },
        };
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
            config: { name: s.service },
            state: 'ENABLED',
          })),
        };
      },
    },
  ];
}
