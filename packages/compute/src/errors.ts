// The compute error catalogue: instance lifecycle, image families, service accounts, operator access.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const COMPUTE_ERRORS = {
  ERR_COMPUTE_INSTANCE_EXISTS: {
    status: 'ALREADY_EXISTS',
    retryable: false,
    description: 'An instance with this name already exists in the zone; pick another name or delete it first.',
  },
  ERR_COMPUTE_INSTANCE_NOT_FOUND: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'No instance with this name in this project and zone (answered only to callers allowed to see it).',
  },
  ERR_COMPUTE_INSTANCE_STATE: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description:
      'The instance is not in a state that allows the operation (e.g. start while RUNNING); wait or stop it.',
  },
  ERR_COMPUTE_IMAGE_FAMILY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The boot image is not a Confidential Space family: use confidential-space or confidential-space-debug.',
  },
  ERR_COMPUTE_SERVICE_ACCOUNT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The instance needs exactly one existing, enabled service account (serviceAccounts[0].email).',
  },
  ERR_COMPUTE_NO_OPERATOR_ACCESS: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A hardened (confidential-space) instance offers the operator no shell; only debug instances accept exec.',
  },
  ERR_COMPUTE_EXEC_UNAVAILABLE: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description: 'The debug instance has no running container to exec into (not started yet, ended, or not runc).',
  },
  ERR_COMPUTE_NO_TOKEN: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description:
      'The instance holds no attestation token now: it has not attested yet, the verifier refused it, or it is stopped.',
  },
  ERR_COMPUTE_BAD_REQUEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The instance resource is malformed (name, zone, metadata items or labels).',
  },
} as const satisfies ErrorCatalog<string>;

export type ComputeErrorCode = keyof typeof COMPUTE_ERRORS;

export class ComputeError extends SealroomError<ComputeErrorCode> {
  constructor(code: ComputeErrorCode, message: string, options?: SealroomErrorOptions) {
    super(COMPUTE_ERRORS, code, message, options);
  }
}
