// Public surface of @sealroom/secrets: the Secret Manager domain, its store and its error catalogue.
export { SECRETS_ERRORS, SecretsError } from './errors.ts';
export type { SecretsErrorCode } from './errors.ts';
export { MAX_PAYLOAD_BYTES, createSecretManager } from './service.ts';
export type { SecretManager, SecretsDeps } from './service.ts';
export { openSqlSecretsStore } from './store.ts';
export type { SecretRecord, SecretVersionRecord, SecretsStore } from './store.ts';
export { createSecretsService } from './module.ts';
export { secretsRoutes } from './http.ts';
