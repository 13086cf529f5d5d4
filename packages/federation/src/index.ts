// Public surface of @sealroom/federation: the `sts` service module and its error catalogue (the rest is internal).
export { FEDERATION_ERRORS, FederationError } from './errors.ts';
export type { FederationErrorCode, OAuthErrorCode } from './errors.ts';
export { createFederationService } from './module.ts';
