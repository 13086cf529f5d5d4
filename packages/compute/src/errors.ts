// The compute error catalogue: instance lifecycle, image families, service accounts, operator access.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const COMPUTE_ERRORS = {
  ERR_COMPUTE_INSTANCE_EXISTS: {
    status: 'ALREADY_EXISTS',
    retryable: false,
    description: 'An instance with this name already exists in the zone; pick another name or delete it first.',
  },
  ERR_COMPUTE_FIREWALL_EXISTS: {
    status: 'ALREADY_EXISTS',
    retryable: false,
    description: 'A firewall rule with this name already exists in the project; pick another name or delete it first.',
  },
  ERR_COMPUTE_FIREWALL_NOT_FOUND: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'No firewall rule with this name in this project (answered only to callers allowed to see it).',
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
  ERR_COMPUTE_FINGERPRINT_MISMATCH: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description:
      'The metadata changed since the caller read its fingerprint (instances.setMetadata): read the instance again and reapply the change.',
  },
  ERR_COMPUTE_BAD_REQUEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The instance resource is malformed (name, zone, metadata items or labels).',
  },
  ERR_COMPUTE_HOST_CSR: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The host enrolment request carries no valid PKCS#10 request (EC P-256 key, ECDSA-SHA256 self-signature, a host name as common name).',
  },
  ERR_COMPUTE_HOST_TOKEN: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description:
      'The host enrolment token is unknown, already used or expired: tokens are single use; ask an administrator for a new one.',
  },
  ERR_COMPUTE_HOST_NAME: {
    status: 'ALREADY_EXISTS',
    retryable: false,
    description: 'A host with this name already serves another pool; join under another name.',
  },
  ERR_COMPUTE_HOST_DENIED: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description:
      'A host asked for something of an instance that is not placed on it (tokens, AK certificate), or sent a malformed call.',
  },
  ERR_COMPUTE_HOST_DISABLED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The deployment runs without the host channel (compute hostPort -1): remote hosts cannot join.',
  },
  ERR_COMPUTE_HOST_CHANNEL: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The channel between the control plane and a host failed (closed, a malformed frame, a call not answered in time); the host reconnects.',
  },
  ERR_COMPUTE_HOST_STATE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'The host state directory is missing or incomplete: run `sealroom host join` first (it writes host.json, the key and the certificate).',
  },
  ERR_COMPUTE_HOST_INSECURE_JOIN: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A host join over plain http sends the enrolment token in clear, where anyone on the path could redeem it: give an https control plane URL, or pass --insecure-enrolment on a network you trust (development).',
  },
} as const satisfies ErrorCatalog<string>;

export type ComputeErrorCode = keyof typeof COMPUTE_ERRORS;

export class ComputeError extends SealroomError<ComputeErrorCode> {
  constructor(code: ComputeErrorCode, message: string, options?: SealroomErrorOptions) {
    super(COMPUTE_ERRORS, code, message, options);
  }
}
