// Public surface of @sealroom/federation: the `sts` service (pools, providers, STS, policy explain).
export { FEDERATION_ERRORS, FederationError, OAUTH_ERROR_OF } from './errors.ts';
export type { FederationErrorCode, OAuthErrorCode } from './errors.ts';
export { createFederationService } from './service.ts';
export { createTokenExchange, parseExchangeRequest } from './exchange.ts';
export type { ExchangeRequest, ExchangeResult, TokenExchange } from './exchange.ts';
export { createIssuerKeys } from './issuer-keys.ts';
export type { IssuerKeys } from './issuer-keys.ts';
export { createPoolAdmin } from './pools.ts';
export type { PoolAdmin } from './pools.ts';
export { createSqlFederationStore } from './store.ts';
export type { FederationStore, OidcConfig, PoolRecord, ProviderRecord } from './store.ts';
export type { PolicyExplanation } from './explain.ts';
export { formatPoolName, formatProviderName, parseAudience, principalOf } from './names.ts';
