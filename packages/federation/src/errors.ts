// Error catalogue of @sealroom/federation, and the OAuth 2.0 error each STS refusal is reported as.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const FEDERATION_ERRORS = {
  ERR_FEDERATION_REQUEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The token exchange request lacks a field or has an unsupported grant, token type or option.',
  },
  ERR_FEDERATION_TARGET: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The audience names no active workload identity pool provider (missing, disabled or deleted).',
  },
  ERR_FEDERATION_TOKEN_MALFORMED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The subject token is not a compact JWT with a JSON header and payload.',
  },
  ERR_FEDERATION_TOKEN_ALGORITHM: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The subject token is not signed with RS256 or ES256.',
  },
  ERR_FEDERATION_TOKEN_KID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The subject token has no `kid`, or the issuer's JWKS has no key with that `kid`.",
  },
  ERR_FEDERATION_TOKEN_ISSUER: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The subject token's `iss` is not the provider's issuer URI.",
  },
  ERR_FEDERATION_DISCOVERY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The issuer serves no usable OpenID discovery document or JWKS, or the outbound policy refuses its address; the STS caller sees a generic text, the pool owner's audit log the reason.",
  },
  ERR_FEDERATION_ISSUER_UNAVAILABLE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      "The issuer's discovery document or JWKS could not be fetched in time (name, connection, timeout, server error); the STS caller sees a generic text, the pool owner's audit log the reason.",
  },
  ERR_FEDERATION_TOKEN_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The subject token's signature does not verify with the issuer's key.",
  },
  ERR_FEDERATION_TOKEN_TIME: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The subject token is expired, not yet valid, lacks iat/exp, or lives 48 hours or more (exp - iat).',
  },
  ERR_FEDERATION_TOKEN_AUDIENCE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The subject token's `aud` is not an allowed audience of the provider.",
  },
  ERR_FEDERATION_TOKEN_CLAIMS: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The subject token lacks a required claim (`sub`).',
  },
  ERR_FEDERATION_MAPPING: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The attribute mapping failed on the token or produced a value outside the WIF limits.',
  },
  ERR_FEDERATION_CONDITION: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description: 'The attribute condition is false or failed to evaluate on the token.',
  },
  ERR_FEDERATION_COST_LIMIT: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description:
      "The provider's attribute mapping or condition was aborted at the CEL runtime cost limit on this token; the exchange is denied.",
  },
  ERR_FEDERATION_PROVIDER_CONFIG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A pool or provider field is invalid (issuer URI, audiences, JWKS, mapping, condition, limits).',
  },
} as const satisfies ErrorCatalog<string>;

export type FederationErrorCode = keyof typeof FEDERATION_ERRORS;

export interface FederationErrorOptions extends SealroomErrorOptions {
  /** For the pool owner's audit log only, never the caller: e.g. the issuer URL fetched and why it failed. */
  readonly auditDetail?: Readonly<Record<string, string>>;
}

export class FederationError extends SealroomError<FederationErrorCode> {
  readonly auditDetail: Readonly<Record<string, string>> | undefined;

  constructor(code: FederationErrorCode, message: string, options: FederationErrorOptions = {}) {
    super(FEDERATION_ERRORS, code, message, options);
    this.auditDetail = options.auditDetail;
  }
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'invalid_target' | 'unauthorized_client';

/** RFC 6749 §5.2 / RFC 8693 §2.2.2 error for each refusal, as Google's STS reports it. */
export const OAUTH_ERROR_OF: Readonly<Record<FederationErrorCode, OAuthErrorCode>> = {
  ERR_FEDERATION_REQUEST: 'invalid_request',
  ERR_FEDERATION_TARGET: 'invalid_target',
  ERR_FEDERATION_TOKEN_MALFORMED: 'invalid_grant',
  ERR_FEDERATION_TOKEN_ALGORITHM: 'invalid_grant',
  ERR_FEDERATION_TOKEN_KID: 'invalid_grant',
  ERR_FEDERATION_TOKEN_ISSUER: 'invalid_grant',
  ERR_FEDERATION_DISCOVERY: 'invalid_grant',
  ERR_FEDERATION_ISSUER_UNAVAILABLE: 'invalid_grant',
  ERR_FEDERATION_TOKEN_SIGNATURE: 'invalid_grant',
  ERR_FEDERATION_TOKEN_TIME: 'invalid_grant',
  ERR_FEDERATION_TOKEN_AUDIENCE: 'invalid_grant',
  ERR_FEDERATION_TOKEN_CLAIMS: 'invalid_grant',
  ERR_FEDERATION_MAPPING: 'invalid_grant',
  ERR_FEDERATION_CONDITION: 'unauthorized_client',
  ERR_FEDERATION_COST_LIMIT: 'unauthorized_client',
  ERR_FEDERATION_PROVIDER_CONFIG: 'invalid_request',
};
