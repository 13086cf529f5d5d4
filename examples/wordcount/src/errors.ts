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
  ERR_WORDCOUNT_USAGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A `sealroom-wordcount` command line it does not accept (an unknown or missing flag, a malformed value); it prints its usage and exits with code 2.',
  },
  ERR_WORDCOUNT_REQUEST_FAILED: {
    status: 'UNKNOWN',
    retryable: false,
    description:
      'A collaborator client’s call failed or was refused (a `sealroom` command, the Sealroom API, the workload’s ingress); the message gives the status.',
  },
  ERR_WORDCOUNT_NOT_SIGNED_IN: {
    status: 'UNAUTHENTICATED',
    retryable: false,
    description: 'The client has no access token: run `sealroom auth login EMAIL` or set `SEALROOM_ACCESS_TOKEN`.',
  },
  ERR_WORDCOUNT_NO_RESULT: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description: 'The workload has published no result yet, or no newer one within the wait; ask again later.',
  },
  ERR_WORDCOUNT_ABANDONED: {
    status: 'CANCELLED',
    retryable: true,
    description:
      'The contribution processor was abandoned (the workload is stopping) while a call waited; the message is delivered again later.',
  },
  ERR_WORDCOUNT_SCENARIO: {
    status: 'UNKNOWN',
    retryable: false,
    description: 'A step of the demo scenario failed or timed out; the message names the step and its output.',
  },
} as const satisfies ErrorCatalog<string>;

export type WordcountErrorCode = keyof typeof WORDCOUNT_ERRORS;

export class WordcountError extends SealroomError<WordcountErrorCode> {
  constructor(code: WordcountErrorCode, message: string, options?: SealroomErrorOptions) {
    super(WORDCOUNT_ERRORS, code, message, options);
  }
}
