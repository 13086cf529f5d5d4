// REST (proto3 JSON) shapes of KMS resources: camelCase, RFC 3339 times, durations as "Ns", int64 as strings.
import { toBase64, toDuration, toRfc3339 } from '@sealroom/core';
import type {
  AsymmetricDecryptResult,
  DecryptResult,
  EncryptResult,
  PublicKeyResult,
  SignResult,
} from './operations.ts';
import type { CryptoKeyRecord, KeyRingRecord, VersionRecord } from './store.ts';

export function toKeyRingJson(ring: KeyRingRecord): Record<string, unknown> {
  return { name: ring.name, createTime: toRfc3339(ring.createTime) };
}

export function toVersionJson(version: VersionRecord): Record<string, unknown> {
  return {
    name: version.name,
    state: version.state,
    protectionLevel: version.protectionLevel,
    algorithm: version.algorithm,
    createTime: toRfc3339(version.createTime),
    generateTime: toRfc3339(version.createTime),
    ...(version.destroyTime === undefined ? {} : { destroyTime: toRfc3339(version.destroyTime) }),
    ...(version.destroyEventTime === undefined ? {} : { destroyEventTime: toRfc3339(version.destroyEventTime) }),
  };
}

export function toCryptoKeyJson(key: CryptoKeyRecord, primary: VersionRecord | undefined): Record<string, unknown> {
  return {
    name: key.name,
    ...(primary ? { primary: toVersionJson(primary) } : {}),
    purpose: key.purpose,
    createTime: toRfc3339(key.createTime),
    ...(key.nextRotationTime === undefined ? {} : { nextRotationTime: toRfc3339(key.nextRotationTime) }),
    ...(key.rotationPeriodMs === undefined ? {} : { rotationPeriod: toDuration(key.rotationPeriodMs) }),
    versionTemplate: { protectionLevel: key.protectionLevel, algorithm: key.algorithm },
    ...(Object.keys(key.labels).length > 0 ? { labels: key.labels } : {}),
    destroyScheduledDuration: toDuration(key.destroyScheduledMs),
  };
}

export function toEncryptJson(result: EncryptResult): Record<string, unknown> {
  return {
    name: result.name,
    ciphertext: toBase64(result.ciphertext),
    ciphertextCrc32c: String(result.ciphertextCrc32c),
    verifiedPlaintextCrc32c: result.verifiedPlaintextCrc32c,
    verifiedAdditionalAuthenticatedDataCrc32c: result.verifiedAdditionalAuthenticatedDataCrc32c,
    protectionLevel: result.protectionLevel,
  };
}

export function toDecryptJson(result: DecryptResult): Record<string, unknown> {
  return {
    plaintext: toBase64(result.plaintext),
    plaintextCrc32c: String(result.plaintextCrc32c),
    usedPrimary: result.usedPrimary,
    protectionLevel: result.protectionLevel,
  };
}

export function toSignJson(result: SignResult): Record<string, unknown> {
  return {
    signature: toBase64(result.signature),
    signatureCrc32c: String(result.signatureCrc32c),
    verifiedDigestCrc32c: result.verifiedDigestCrc32c,
    verifiedDataCrc32c: result.verifiedDataCrc32c,
    name: result.name,
    protectionLevel: result.protectionLevel,
  };
}

export function toAsymmetricDecryptJson(result: AsymmetricDecryptResult): Record<string, unknown> {
  return {
    plaintext: toBase64(result.plaintext),
    plaintextCrc32c: String(result.plaintextCrc32c),
    verifiedCiphertextCrc32c: result.verifiedCiphertextCrc32c,
    protectionLevel: result.protectionLevel,
  };
}

export function toPublicKeyJson(result: PublicKeyResult): Record<string, unknown> {
  const pem = Buffer.from(result.pem, 'utf8');
  return {
    pem: result.pem,
    algorithm: result.algorithm,
    pemCrc32c: String(result.pemCrc32c),
    name: result.name,
    protectionLevel: result.protectionLevel,
    publicKeyFormat: 'PEM',
    publicKey: { data: toBase64(pem), crc32cChecksum: String(result.pemCrc32c) },
  };
}
