// Firewall rules of a project's default network: IAM checks, storage, and re-applying the rules to the
// project's running instances whenever one is created or deleted.
import { type Caller, newNumericId, permissionDenied } from '@sealroom/core';
import { createServiceAccess } from '@sealroom/iam';
import type { FirewallRule } from '@sealroom/launcher';
import type { ServiceContext } from '@sealroom/transport';
import { ComputeError } from './errors.ts';
import { type Firewall, type FirewallInput, toFirewallRule } from './firewall.ts';
import type { FirewallStore } from './firewall-store.ts';
import type { HostAgent } from './host-agent.ts';
import type { InstanceStore } from './store.ts';

export interface FirewallService {
  create(caller: Caller | undefined, project: string, input: FirewallInput): Promise<Firewall>;
  get(caller: Caller | undefined, project: string, name: string): Promise<Firewall>;
  list(caller: Caller | undefined, project: string): Promise<Firewall[]>;
  delete(caller: Caller | undefined, project: string, name: string): Promise<Firewall>;
  /** The project's rules as the host enforces them (for a boot). */
  rulesOf(projectNumber: string): Promise<FirewallRule[]>;
}

export function firewallResource(project: string, name: string): string {
  return `projects/${project}/global/firewalls/${name}`;
}

export function createFirewallService(options: {
  readonly context: ServiceContext;
  readonly store: FirewallStore;
  readonly instances: InstanceStore;
  readonly agent: HostAgent;
}): FirewallService {
  const { context, store, agent } = options;
  const access = createServiceAccess({ authorizer: context.authorizer, audit: context.audit, clock: context.clock });
  const rulesOf = async (projectNumber: string) => (await store.list(projectNumber)).map(toFirewallRule);

  /** A rule change takes effect on running instances at once, as a VPC firewall change does. */
  const reapply = async (projectNumber: string) => {
    if (!agent.setFirewall) return;
    const rules = await rulesOf(projectNumber);
    for (const instance of await options.instances.listProject(projectNumber))
      if (agent.isRunning(instance.id))
        await agent
          .setFirewall(instance.id, rules)
          .catch((error: unknown) =>
            context.logger.error({ instanceId: instance.id, error }, 'firewall update failed'),
          );
  };

  const find = async (caller: Caller | undefined, permission: string, project: string, name: string) => {
    const resource = firewallResource(project, name);
    // Firewall rules have no IAM policy of their own in Compute Engine: the project's decides.
    await access.require({ caller, permission, resource: `projects/${project}` });
    const ref = await context.projects.resolve(project);
    const firewall = ref ? await store.get(ref.projectNumber, name) : undefined;
    if (!firewall) throw new ComputeError('ERR_COMPUTE_FIREWALL_NOT_FOUND', `The resource '${resource}' was not found`);
    return firewall;
  };

  const record = (caller: Caller | undefined, firewall: Firewall, method: string) =>
    access.record(
      {
        caller,
        project: firewall.projectNumber,
        method: `v1.compute.firewalls.${method}`,
        resource: firewallResource(firewall.projectId, firewall.name),
      },
      { direction: firewall.direction, action: firewall.action, priority: firewall.priority },
    );

  return {
    async create(caller, project, input) {
      const resource = firewallResource(project, input.name);
      await access.require({ caller, permission: 'compute.firewalls.create', resource: `projects/${project}` });
      const ref = await context.projects.resolve(project);
      if (!ref) throw permissionDenied('compute.firewalls.create', resource);
      const firewall: Firewall = {
        ...input,
        id: newNumericId(19),
        projectId: ref.projectId,
        projectNumber: ref.projectNumber,
        createTime: context.clock.now(),
      };
      if (!(await store.insert(firewall)))
        throw new ComputeError('ERR_COMPUTE_FIREWALL_EXISTS', `The resource '${resource}' already exists`);
      await record(caller, firewall, 'insert');
      await reapply(ref.projectNumber);
      return firewall;
    },
    get: (caller, project, name) => find(caller, 'compute.firewalls.get', project, name),
    async list(caller, project) {
      await access.require({ caller, permission: 'compute.firewalls.list', resource: `projects/${project}` });
      const ref = await context.projects.resolve(project);
      return ref ? store.list(ref.projectNumber) : [];
    },
    async delete(caller, project, name) {
      const firewall = await find(caller, 'compute.firewalls.delete', project, name);
      await store.delete(firewall.id);
      await record(caller, firewall, 'delete');
      await reapply(firewall.projectNumber);
      return firewall;
    },
    rulesOf,
  };
}
