// The workload SDK's error catalogue: token, teeserver, configuration and envelope failures.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const WORKLOAD_ERRORS = {
  ERR_WORKLOAD_TOKEN_UNAVAILABLE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The launcher’s attestation token file is missing, empty or not a JWT yet; the launcher writes it before the workload starts and refreshes it, so retry shortly.',
  },
  ERR_WORKLOAD_TEESERVER: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The teeserver socket could not be reached or answered with an error other than a refused request; check that the workload runs under the launcher.',
  },
  ERR_WORKLOAD_TOKEN_REQUEST_REFUSED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The teeserver refused a custom token request (audience ≤ 512 bytes, ≤ 6 nonces of 8–88 bytes, token_type OIDC or PKI); the message carries its reason.',
  },
  ERR_WORKLOAD_BAD_CONFIG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An SDK option (endpoint URL, audience, key name, CA) is malformed; fix the workload’s configuration.',
  },
  ERR_WORKLOAD_ENVELOPE_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An envelope-encrypted message failed to authenticate: the ciphertext was altered, the data key is wrong, or the message id or collaborator bound as AAD differs.',
  },
  ERR_WORKLOAD_PRIVACY_BUDGET: {
    status: 'RESOURCE_EXHAUSTED',
    retryable: false,
    description:
      'A release under differential privacy would exceed a collaborator’s (ε, δ) budget of the output policy, or the sealed ledger of spent budget is missing or malformed; nothing is released.',
  },
  ERR_WORKLOAD_DP_PARAMETER: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A differential-privacy parameter (ε, δ, a noise scale) is not a non-negative finite number, or a noise sampler was asked for an empty range; nothing is released.',
  },
  ERR_WORKLOAD_HTTP: {
    status: 'UNKNOWN',
    retryable: false,
    description:
      'A service the workload called over HTTP answered with an error status; its `httpStatus` decides whether `classifyFailure` retries the call (401, 408, 409, 429, 5xx) or not.',
  },
} as const satisfies ErrorCatalog<string>;

export type WorkloadErrorCode = keyof typeof WORKLOAD_ERRORS;

export class WorkloadError extends SealroomError<WorkloadErrorCode> {
  constructor(code: WorkloadErrorCode, message: string, options?: SealroomErrorOptions) {
    super(WORKLOAD_ERRORS, code, message, options);
  }
}

/** An HTTP answer with an error status, classified by that status (see `classifyFailure`). */
export function httpFailure(httpStatus: number, message: string): WorkloadError {
  return new WorkloadError('ERR_WORKLOAD_HTTP', message, { httpStatus });
}
