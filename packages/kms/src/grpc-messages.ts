// Domain records ↔ gRPC messages (proto-loader objects): Timestamps, Durations, Int64Value wrappers, Buffers.
import type { CryptoKeyInput } from './admin.ts';
import { parseAlgorithm, parseProtectionLevel, parsePurpose } from './enums.ts';
import type { CryptoKeyRecord, KeyRingRecord, VersionRecord } from './store.ts';

export type Message = Record<string, unknown>;

export function toTimestamp(ms: number): Message {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function toDurationMessage(ms: number): Message {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** Milliseconds of a Timestamp or Duration message; undefined when absent. */
export function fromTimeMessage(value: unknown): number | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { seconds, nanos } = value as { seconds?: string | number; nanos?: number };
  return Number(seconds ?? 0) * 1000 + Math.floor(Number(nanos ?? 0) / 1_000_000);
}

/** The value of a google.protobuf.Int64Value wrapper; undefined when absent. */
export function fromInt64Value(value: unknown): unknown {
  if (!value || typeof value !== 'object') return undefined;
  return (value as { value?: unknown }).value ?? '0';
}

export function int64Value(n: number): Message {
  return { value: String(n) };
}

export function bytesOf(value: unknown): Buffer {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return Buffer.from(value as Uint8Array);
}

export function toKeyRingMessage(ring: KeyRingRecord): Message {
  return { name: ring.name, createTime: toTimestamp(ring.createTime) };
}

export function toVersionMessage(version: VersionRecord): Message {
  return {
    name: version.name,
    state: version.state,
    protectionLevel: version.protectionLevel,
    algorithm: version.algorithm,
    createTime: toTimestamp(version.createTime),
    generateTime: toTimestamp(version.createTime),
    ...(version.destroyTime === undefined ? {} : { destroyTime: toTimestamp(version.destroyTime) }),
    ...(version.destroyEventTime === undefined ? {} : { destroyEventTime: toTimestamp(version.destroyEventTime) }),
  };
}

export function toCryptoKeyMessage(key: CryptoKeyRecord, primary: VersionRecord | undefined): Message {
  return {
    name: key.name,
    ...(primary ? { primary: toVersionMessage(primary) } : {}),
    purpose: key.purpose,
    createTime: toTimestamp(key.createTime),
    ...(key.nextRotationTime === undefined ? {} : { nextRotationTime: toTimestamp(key.nextRotationTime) }),
    ...(key.rotationPeriodMs === undefined ? {} : { rotationPeriod: toDurationMessage(key.rotationPeriodMs) }),
    versionTemplate: { protectionLevel: key.protectionLevel, algorithm: key.algorithm },
    labels: key.labels,
    destroyScheduledDuration: toDurationMessage(key.destroyScheduledMs),
  };
}

export function toCryptoKeyInput(message: Message | undefined): CryptoKeyInput {
  const m = message ?? {};
  const template = (m.versionTemplate ?? {}) as Message;
  return {
    purpose: parsePurpose(m.purpose, 'crypto_key.purpose'),
    algorithm: parseAlgorithm(template.algorithm, 'crypto_key.version_template.algorithm'),
    protectionLevel: parseProtectionLevel(template.protectionLevel, 'crypto_key.version_template.protection_level'),
    labels: (m.labels ?? {}) as Record<string, string>,
    rotationPeriodMs: fromTimeMessage(m.rotationPeriod),
    nextRotationTime: fromTimeMessage(m.nextRotationTime),
    destroyScheduledMs: fromTimeMessage(m.destroyScheduledDuration),
  };
}
