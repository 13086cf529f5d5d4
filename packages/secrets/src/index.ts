// Public surface of @sealroom/secrets: the `secrets` service module and its error catalogue (the rest is internal).
export { SECRETS_ERRORS, SecretsError } from './errors.ts';
export type { SecretsErrorCode } from './errors.ts';
export { createSecretsService } from './module.ts';
