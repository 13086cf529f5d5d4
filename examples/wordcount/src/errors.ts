// The word-count example's error catalogue.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const WORDCOUNT_ERRORS = {
  ERR_WORDCOUNT_BAD_CONFIG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The workload’s launch configuration (collaborators, endpoints, state) is missing or malformed.',
  },
  ERR_WORDCOUNT_UNKNOWN_COLLABORATOR: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description: 'A contribution names a collaborator outside the configured set; it is dead-lettered, never trusted.',
  },
  ERR_WORDCOUNT_BAD_MESSAGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A contribution lacks its attributes or its body is not a valid envelope.',
  },
  ERR_WORDCOUNT_DECRYPT_FAILED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A contribution or a data key did not decrypt or authenticate under the collaborator’s key.',
  },
  ERR_WORDCOUNT_STATE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The sealed state file could not be opened: it was altered, or the sealing key is not released.',
  },
  ERR_WORDCOUNT_CLIENT: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A collaborator client check failed (attestation token, TLS binding, result decryption).',
  },
} as const satisfies ErrorCatalog<string>;

export type WordcountErrorCode = keyof typeof WORDCOUNT_ERRORS;

export class WordcountError extends SealroomError<WordcountErrorCode> {
  constructor(code: WordcountErrorCode, message: string, options?: SealroomErrorOptions) {
    super(WORDCOUNT_ERRORS, code, message, options);
  }
}
