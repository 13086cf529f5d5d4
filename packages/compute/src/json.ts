// Compute Engine's JSON shapes: Instance, Operation, SerialPortOutput (compute v1).
import { createHash } from 'node:crypto';
import { newNumericId, toRfc3339 } from '@sealroom/core';
import type { Instance } from './instance.types.ts';

export function zoneUrl(baseUrl: string, projectId: string, zone: string): string {
  return `${baseUrl}/compute/v1/projects/${projectId}/zones/${zone}`;
}

export function instanceUrl(baseUrl: string, instance: Pick<Instance, 'projectId' | 'zone' | 'name'>): string {
  return `${zoneUrl(baseUrl, instance.projectId, instance.zone)}/instances/${instance.name}`;
}

/** Compute Engine's optimistic-lock fingerprint: it changes whenever the value it covers changes. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest().subarray(0, 8).toString('base64');
}

/**
 * The instance's NIC as Compute Engine shows it: `networkIP` is its address on its link, `accessConfigs[0].natIP`
 * the host address its EXPOSEd ports are published on (each on the host port `confidentialSpace.network` lists).
 */
function networkInterfacesOf(baseUrl: string, instance: Instance): Record<string, unknown>[] | undefined {
  const net = instance.network;
  if (!net) return undefined;
  return [
    {
      kind: 'compute#networkInterface',
      name: 'nic0',
      network: `${baseUrl}/compute/v1/projects/${instance.projectId}/global/networks/default`,
      ...(net.networkIP ? { networkIP: net.networkIP } : {}),
      ...(net.natIP
        ? {
            accessConfigs: [
              { kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: 'External NAT', natIP: net.natIP },
            ],
          }
        : {}),
    },
  ];
}

export function toInstanceJson(baseUrl: string, instance: Instance): Record<string, unknown> {
  const nics = networkInterfacesOf(baseUrl, instance);
  return {
    kind: 'compute#instance',
    id: instance.id,
    creationTimestamp: toRfc3339(instance.createTime),
    name: instance.name,
    ...instance.recorded,
    ...(nics ? { networkInterfaces: nics } : {}),
    status: instance.status,
    ...(instance.statusMessage ? { statusMessage: instance.statusMessage } : {}),
    zone: zoneUrl(baseUrl, instance.projectId, instance.zone),
    metadata: {
      kind: 'compute#metadata',
      fingerprint: fingerprint(instance.metadata),
      ...(instance.metadata.length > 0 ? { items: instance.metadata } : {}),
    },
    serviceAccounts: [{ email: instance.serviceAccount.email, scopes: instance.serviceAccount.scopes }],
    selfLink: instanceUrl(baseUrl, instance),
    ...(Object.keys(instance.labels).length > 0 ? { labels: instance.labels } : {}),
    labelFingerprint: fingerprint(instance.labels),
    // Sealroom's additions: what the host agent did with the instance.
    confidentialSpace: {
      imageFamily: instance.imageFamily,
      bootCount: instance.bootCount,
      ...(instance.runtime ? { containerRuntime: instance.runtime } : {}),
      ...(instance.platform ? { platform: instance.platform } : {}),
      ...(instance.lastExitCode === undefined ? {} : { lastExitCode: instance.lastExitCode }),
      ...(instance.network
        ? {
            network: {
              isolation: instance.network.isolation,
              ...(instance.network.reason ? { reason: instance.network.reason } : {}),
              ...(instance.network.gatewayAddress ? { gatewayAddress: instance.network.gatewayAddress } : {}),
              publishedPorts: instance.network.publishedPorts.map((p) => ({
                protocol: p.protocol,
                port: p.containerPort,
                hostPort: p.hostPort,
              })),
            },
          }
        : {}),
    },
  };
}

/**
 * A DONE operation (Sealroom applies changes before answering) on `target`; `scope` is the zone URL of a
 * zonal operation or the project's global URL, under which the operation's selfLink lies.
 */
export function toDoneOperationJson(options: {
  readonly scope: { readonly zone: string } | { readonly global: string };
  readonly operationType: string;
  readonly targetLink: string;
  readonly targetId: string;
  readonly user: string;
  readonly nowMs: number;
}): Record<string, unknown> {
  const id = newNumericId(19);
  const name = `operation-${options.nowMs}-${id.slice(-8)}`;
  const time = toRfc3339(options.nowMs);
  const base = 'zone' in options.scope ? options.scope.zone : options.scope.global;
  return {
    kind: 'compute#operation',
    id,
    name,
    ...('zone' in options.scope ? { zone: options.scope.zone } : {}),
    operationType: options.operationType,
    targetLink: options.targetLink,
    targetId: options.targetId,
    status: 'DONE',
    user: options.user,
    progress: 100,
    insertTime: time,
    startTime: time,
    endTime: time,
    selfLink: `${base}/operations/${name}`,
  };
}

/** Sealroom applies changes before answering, so every operation it returns is DONE. */
export function toOperationJson(
  baseUrl: string,
  instance: Instance,
  operationType: 'insert' | 'delete' | 'start' | 'stop' | 'reset' | 'setMetadata',
  user: string,
  nowMs: number,
): Record<string, unknown> {
  return toDoneOperationJson({
    scope: { zone: zoneUrl(baseUrl, instance.projectId, instance.zone) },
    operationType,
    targetLink: instanceUrl(baseUrl, instance),
    targetId: instance.id,
    user,
    nowMs,
  });
}
