// Public surface of @sealroom/kms: the KMS domain, its store, and its error catalogue.
export { KMS_ERRORS, KmsError } from './errors.ts';
export type { KmsErrorCode } from './errors.ts';
export { createKeyManager } from './service.ts';
export type { KeyManager, KmsDeps } from './service.ts';
export { openSqlKmsStore } from './store.ts';
export type { CryptoKeyRecord, KeyRingRecord, KmsStore, VersionRecord } from './store.ts';
export { MAX_PLAINTEXT_BYTES } from './operations.ts';
export { createKmsService, MAINTENANCE_INTERVAL_MS } from './module.ts';
export { kmsPolicyRoutes, kmsRoutes } from './http.ts';
export { kmsGrpcBindings, kmsProtoDirs } from './grpc.ts';
