// REST (proto3 JSON) shapes of Secret Manager resources.
import { toBase64, toRfc3339 } from '@sealroom/core';
import type { AccessResult } from './service.ts';
import type { SecretRecord, SecretVersionRecord } from './store.ts';

/** Secret Manager etags are quoted decimal strings that change with every update. */
function etagOf(time: number): string {
  return `"${time * 1000}"`;
}

export function toSecretJson(secret: SecretRecord): Record<string, unknown> {
  return {
    name: secret.name,
    replication: { automatic: {} },
    createTime: toRfc3339(secret.createTime),
    ...(Object.keys(secret.labels).length > 0 ? { labels: secret.labels } : {}),
    ...(Object.keys(secret.annotations).length > 0 ? { annotations: secret.annotations } : {}),
    etag: etagOf(secret.updateTime),
  };
}

export function toSecretVersionJson(version: SecretVersionRecord): Record<string, unknown> {
  return {
    name: version.name,
    createTime: toRfc3339(version.createTime),
    ...(version.destroyTime === undefined ? {} : { destroyTime: toRfc3339(version.destroyTime) }),
    state: version.state,
    replicationStatus: { automatic: {} },
    etag: etagOf(version.destroyTime ?? version.createTime),
    clientSpecifiedPayloadChecksum: version.clientSpecifiedPayloadChecksum,
  };
}

export function toAccessJson(result: AccessResult): Record<string, unknown> {
  return { name: result.name, payload: { data: toBase64(result.data), dataCrc32c: String(result.dataCrc32c) } };
}
