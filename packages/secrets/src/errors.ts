// The Secret Manager error catalogue: payload size and checksum, version state.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const SECRETS_ERRORS = {
  ERR_SECRETS_PAYLOAD_TOO_LARGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A secret payload is larger than 64 KiB.',
  },
  ERR_SECRETS_CHECKSUM_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The payload’s data_crc32c does not match its data; resend the payload.',
  },
  ERR_SECRETS_VERSION_STATE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The secret version is disabled or destroyed, or the state change is not allowed from its state.',
  },
} as const satisfies ErrorCatalog<string>;

export type SecretsErrorCode = keyof typeof SECRETS_ERRORS;

export class SecretsError extends SealroomError<SecretsErrorCode> {
  constructor(code: SecretsErrorCode, message: string, options?: SealroomErrorOptions) {
    super(SECRETS_ERRORS, code, message, options);
  }
}
