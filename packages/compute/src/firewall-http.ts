// Compute Engine v1 REST routes for firewall rules (`projects/P/global/firewalls`), in gcloud's shapes.
import { toRfc3339 } from '@sealroom/core';
import type { ApiRoute } from '@sealroom/transport';
import { type Firewall, parseFirewall } from './firewall.ts';
import type { FirewallService } from './firewall-service.ts';
import { toDoneOperationJson } from './json.ts';

const GLOBAL = '/compute/v1/projects/{project}/global';

function firewallUrl(baseUrl: string, firewall: Pick<Firewall, 'projectId' | 'name'>): string {
  return `${baseUrl}/compute/v1/projects/${firewall.projectId}/global/firewalls/${firewall.name}`;
}

export function toFirewallJson(baseUrl: string, firewall: Firewall): Record<string, unknown> {
  return {
    kind: 'compute#firewall',
    id: firewall.id,
    creationTimestamp: toRfc3339(firewall.createTime),
    name: firewall.name,
    description: firewall.description,
    network: `${baseUrl}/compute/v1/projects/${firewall.projectId}/global/networks/default`,
    priority: firewall.priority,
    ...(firewall.sourceRanges.length > 0 ? { sourceRanges: firewall.sourceRanges } : {}),
    ...(firewall.destinationRanges.length > 0 ? { destinationRanges: firewall.destinationRanges } : {}),
    ...(firewall.targetTags.length > 0 ? { targetTags: firewall.targetTags } : {}),
    ...(firewall.targetServiceAccounts.length > 0 ? { targetServiceAccounts: firewall.targetServiceAccounts } : {}),
    [firewall.action === 'allow' ? 'allowed' : 'denied']: firewall.entries,
    direction: firewall.direction,
    logConfig: { enable: firewall.logEnabled },
    disabled: firewall.disabled,
    selfLink: firewallUrl(baseUrl, firewall),
  };
}

/** Sealroom applies a change before answering: the global operation is DONE. */
function toGlobalOperationJson(
  baseUrl: string,
  firewall: Firewall,
  operationType: 'insert' | 'delete',
  user: string,
  nowMs: number,
): Record<string, unknown> {
  return toDoneOperationJson({
    scope: { global: `${baseUrl}/compute/v1/projects/${firewall.projectId}/global` },
    operationType,
    targetLink: firewallUrl(baseUrl, firewall),
    targetId: firewall.id,
    user,
    nowMs,
  });
}

export function firewallRoutes(firewalls: FirewallService, options: { now: () => number }): ApiRoute[] {
  const userOf = (principal: string | undefined) => principal?.replace(/^[a-zA-Z]+:/, '') ?? '';
  return [
    {
      method: 'POST',
      path: `${GLOBAL}/firewalls`,
      handler: async (req) => {
        const firewall = await firewalls.create(req.caller, req.params.project as string, parseFirewall(req.body));
        return toGlobalOperationJson(req.baseUrl, firewall, 'insert', userOf(req.caller?.principal), options.now());
      },
    },
    {
      method: 'GET',
      path: `${GLOBAL}/firewalls`,
      handler: async (req) => {
        const project = req.params.project as string;
        const items = await firewalls.list(req.caller, project);
        return {
          kind: 'compute#firewallList',
          id: `projects/${project}/global/firewalls`,
          ...(items.length > 0 ? { items: items.map((f) => toFirewallJson(req.baseUrl, f)) } : {}),
          selfLink: `${req.baseUrl}/compute/v1/projects/${project}/global/firewalls`,
        };
      },
    },
    {
      method: 'GET',
      path: `${GLOBAL}/firewalls/{firewall}`,
      handler: async (req) =>
        toFirewallJson(
          req.baseUrl,
          await firewalls.get(req.caller, req.params.project as string, req.params.firewall as string),
        ),
    },
    {
      method: 'DELETE',
      path: `${GLOBAL}/firewalls/{firewall}`,
      handler: async (req) => {
        const firewall = await firewalls.delete(
          req.caller,
          req.params.project as string,
          req.params.firewall as string,
        );
        return toGlobalOperationJson(req.baseUrl, firewall, 'delete', userOf(req.caller?.principal), options.now());
      },
    },
  ];
}
