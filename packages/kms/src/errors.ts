// The KMS error catalogue: codes for key state, ciphertext, algorithm and root-key failures.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const KMS_ERRORS = {
  ERR_KMS_BAD_CIPHERTEXT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'Decryption failed: the ciphertext was altered, belongs to another key, or the additional authenticated data differs.',
  },
  ERR_KMS_CHECKSUM_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A CRC32C checksum sent with the request does not match the data it covers; resend the data.',
  },
  ERR_KMS_PLAINTEXT_TOO_LARGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The plaintext (or additional authenticated data) is larger than 64 KiB.',
  },
  ERR_KMS_UNSUPPORTED_ALGORITHM: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The algorithm or purpose is unknown, or Sealroom does not offer it, or it does not fit the purpose.',
  },
  ERR_KMS_WRONG_PURPOSE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The key’s purpose does not allow this operation (e.g. encrypt with a signing key).',
  },
  ERR_KMS_VERSION_NOT_ENABLED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The key version is disabled, scheduled for destruction or destroyed; enable or restore it first.',
  },
  ERR_KMS_BAD_DIGEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The digest to sign is missing, of the wrong hash function, or of the wrong length for the algorithm.',
  },
  ERR_KMS_BAD_STATE_CHANGE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The requested version state change is not allowed from the current state.',
  },
} as const satisfies ErrorCatalog<string>;

export type KmsErrorCode = keyof typeof KMS_ERRORS;

export class KmsError extends SealroomError<KmsErrorCode> {
  constructor(code: KmsErrorCode, message: string, options?: SealroomErrorOptions) {
    super(KMS_ERRORS, code, message, options);
  }
}
