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

function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest().subarray(0, 8).toString('base64');
}

export function toInstanceJson(baseUrl: string, instance: Instance): Record<string, unknown> {
  return {
    kind: 'compute#instance',
    id: instance.id,
    creationTimestamp: toRfc3339(instance.createTime),
    name: instance.name,
    ...instance.recorded,
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
      ...(instance.lastExitCode === undefined ? {} : { lastExitCode: instance.lastExitCode }),
    },
  };
}

/** Sealroom applies changes before answering, so every operation it returns is DONE. */
export function toOperationJson(
  baseUrl: string,
  instance: Instance,
  operationType: 'insert' | 'delete' | 'start' | 'stop' | 'reset',
  user: string,
  nowMs: number,
): Record<string, unknown> {
  const id = newNumericId(19);
  const name = `operation-${nowMs}-${id.slice(-8)}`;
  const time = toRfc3339(nowMs);
  return {
    kind: 'compute#operation',
    id,
    name,
    zone: zoneUrl(baseUrl, instance.projectId, instance.zone),
    operationType,
    targetLink: instanceUrl(baseUrl, instance),
    targetId: instance.id,
    status: 'DONE',
    user,
    progress: 100,
    insertTime: time,
    startTime: time,
    endTime: time,
    selfLink: `${zoneUrl(baseUrl, instance.projectId, instance.zone)}/operations/${name}`,
  };
}
