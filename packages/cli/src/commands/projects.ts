// `sealroom projects …` and `sealroom services enable`.
import type { CommandSpec } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding, getIamPolicy } from '../iam-helpers.ts';

export const projectCommands: CommandSpec[] = [
  {
    path: ['projects', 'create'],
    summary: 'Creates a project; you become its owner.',
    args: [{ name: 'PROJECT_ID', required: true }],
    flags: {
      name: { type: 'string', description: 'Display name.' },
      'set-as-default': { type: 'boolean', description: 'Set core/project to it.' },
    },
    async run(ctx) {
      const id = ctx.args.PROJECT_ID as string;
      const op = await ctx.api.request<{ response: Record<string, unknown> }>('POST', '/v1/projects', {
        body: { projectId: id, ...(ctx.flags.name ? { name: ctx.flags.name } : {}) },
      });
      ctx.err(`Create in progress for [${ctx.api.baseUrl}/v1/projects/${id}].`);
      if (ctx.flags['set-as-default']) {
        const current = ctx.config.read(ctx.config.currentName);
        ctx.config.write(ctx.config.currentName, { ...current, core: { ...current.core, project: id } });
      }
      const { '@type': _type, ...project } = op.response;
      return project;
    },
  },
  {
    path: ['projects', 'describe'],
    summary: 'Shows a project (by id or number).',
    args: [{ name: 'PROJECT', required: true }],
    run: (ctx) => ctx.api.request('GET', `/v1/projects/${encodeURIComponent(ctx.args.PROJECT as string)}`),
  },
  {
    path: ['projects', 'list'],
    summary: 'Lists the projects you can see.',
    defaultFormat: 'table(projectId, name, projectNumber)',
    async run(ctx) {
      return (await ctx.api.request<{ projects?: unknown[] }>('GET', '/v1/projects')).projects ?? [];
    },
  },
  {
    path: ['projects', 'get-iam-policy'],
    summary: "Shows a project's IAM policy.",
    args: [{ name: 'PROJECT', required: true }],
    run: (ctx) => getIamPolicy(ctx.api, `/v1/projects/${encodeURIComponent(ctx.args.PROJECT as string)}`),
  },
  {
    path: ['projects', 'add-iam-policy-binding'],
    summary: "Adds a binding to a project's IAM policy.",
    args: [{ name: 'PROJECT', required: true }],
    flags: BINDING_FLAGS,
    async run(ctx) {
      const policy = await changeIamPolicyBinding(
        ctx.api,
        `/v1/projects/${encodeURIComponent(ctx.args.PROJECT as string)}`,
        {
          member: ctx.flags.member as string,
          role: ctx.flags.role as string,
        },
      );
      ctx.err(`Updated IAM policy for project [${ctx.args.PROJECT}].`);
      return policy;
    },
  },
  {
    path: ['projects', 'remove-iam-policy-binding'],
    summary: "Removes a binding from a project's IAM policy.",
    args: [{ name: 'PROJECT', required: true }],
    flags: BINDING_FLAGS,
    async run(ctx) {
      return changeIamPolicyBinding(ctx.api, `/v1/projects/${encodeURIComponent(ctx.args.PROJECT as string)}`, {
        member: ctx.flags.member as string,
        role: ctx.flags.role as string,
        remove: true,
      });
    },
  },
  {
    path: ['services', 'enable'],
    summary: 'Enables services on the project (recorded; every service is available).',
    args: [{ name: 'SERVICE', required: true, variadic: true }],
    async run(ctx) {
      const services = ctx.args.SERVICE as string[];
      await ctx.api.request('POST', `/v1/projects/${encodeURIComponent(ctx.project())}/services:batchEnable`, {
        body: { serviceIds: services },
      });
      ctx.err(`Operation finished successfully.`);
      return undefined;
    },
  },
  {
    path: ['services', 'list'],
    summary: 'Lists the services enabled on the project.',
    defaultFormat: 'table(config.name:label=NAME, state)',
    async run(ctx) {
      return (
        (
          await ctx.api.request<{ services?: unknown[] }>(
            'GET',
            `/v1/projects/${encodeURIComponent(ctx.project())}/services`,
          )
        ).services ?? []
      );
    },
  },
];
