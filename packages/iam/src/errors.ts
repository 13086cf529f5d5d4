// Error codes of the iam package (members, roles, policies, credentials, audit).
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const IAM_ERRORS = {
  ERR_IAM_INVALID_MEMBER: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A policy member is not one of the accepted forms (user:, serviceAccount:, group:, principal://, principalSet://, …).',
  },
  ERR_IAM_UNKNOWN_ROLE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A policy binding names a role that is not in the role catalogue.',
  },
  ERR_IAM_INVALID_POLICY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A policy is malformed: bad version, conditions without version 3, too many members, bad etag.',
  },
  ERR_IAM_STALE_ETAG: {
    status: 'ABORTED',
    retryable: true,
    description: 'setIamPolicy carried an etag that no longer matches; re-read the policy and retry.',
  },
  ERR_IAM_DEV_LOGIN_DISABLED: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description: 'Dev login was attempted on a server not started with --dev.',
  },
  ERR_IAM_INVALID_GRANT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The OAuth token endpoint refused a grant: unknown, revoked or expired refresh token, or a bad JWT assertion.',
  },
  ERR_IAM_UNSUPPORTED_GRANT_TYPE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The token endpoint was asked for a grant_type other than refresh_token or the JWT-bearer grant.',
  },
  ERR_IAM_INVALID_TOKEN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The revocation endpoint was given no token, or one that is unknown, expired or already revoked.',
  },
  ERR_IAM_SERVICE_ACCOUNT_DISABLED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The service account is disabled or deleted and cannot receive credentials.',
  },
  ERR_IAM_USER_DISABLED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The user was disabled by a deployment administrator and cannot receive credentials.',
  },
  ERR_IAM_AUDIT_CHAIN_BROKEN: {
    status: 'DATA_LOSS',
    retryable: false,
    description: 'An audit log entry was altered, removed or reordered; the hash chain no longer verifies.',
  },
} as const satisfies ErrorCatalog<string>;

export type IamErrorCode = keyof typeof IAM_ERRORS;

export class IamError extends SealroomError<IamErrorCode> {
  constructor(code: IamErrorCode, message: string, options?: SealroomErrorOptions) {
    super(IAM_ERRORS, code, message, options);
  }
}
