// The launcher's error catalogue; each code also says which exit-code class it leads to (docs/launcher.md).
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const LAUNCHER_ERRORS = {
  ERR_LAUNCHER_METADATA_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An instance metadata key (tee-*) is missing, unknown or malformed; the launcher exits 1, even on debug images.',
  },
  ERR_LAUNCHER_POLICY_INVALID: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A tee.launch_policy.* label of the image does not parse; contact the image author. Exit 1 (hardened) or 4 (debug).',
  },
  ERR_LAUNCHER_OUTPUT_POLICY_INVALID: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'The image’s sealroom.output_policy label does not parse; contact the image author. Exit 1 (hardened) or 4 (debug).',
  },
  ERR_LAUNCHER_POLICY_VIOLATION: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description:
      "The metadata asks for something the image's launch policy does not allow. Exit 1 (hardened) or 4 (debug).",
  },
  ERR_LAUNCHER_IMAGE_INVALID: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The image cannot run as a workload (no ENTRYPOINT, bad layer, bad config). Exit 1 or 4.',
  },
  ERR_LAUNCHER_FIRST_TOKEN: {
    status: 'UNAVAILABLE',
    retryable: false,
    description: 'The first attestation token could not be obtained; the workload never starts. Exit 1 or 4.',
  },
  ERR_LAUNCHER_TOKEN_INVALID: {
    status: 'INTERNAL',
    retryable: true,
    description: 'The token source returned something that is not a JWT with an expiry in the future.',
  },
  ERR_LAUNCHER_TEESERVER: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The teeserver socket could not be created with mode 0777. Exit 1 or 4.',
  },
  ERR_LAUNCHER_TOKEN_REQUEST_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A POST /v1/token request on the teeserver socket is malformed, has unknown fields or breaks the limits (audience ≤ 512 bytes, ≤ 6 nonces of 8–88 bytes).',
  },
  ERR_LAUNCHER_VERIFIER_REFUSED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The verifier refused the attestation or the token options (bad evidence, audience, nonces, permission); the message carries its reason.',
  },
  ERR_LAUNCHER_VERIFIER_UNAVAILABLE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description: 'The verifier could not be reached or failed; the token refresher backs off and retries.',
  },
  ERR_LAUNCHER_METADATA_REQUEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The instance's metadata server refused a request (no Metadata-Flavor: Google or an X-Forwarded-For header: 403; a bad parameter: 400; an unknown path: 404). Fix the request.",
  },
  ERR_LAUNCHER_RUNTIME_START: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The container runtime failed to create or start the container. Hardened: exit 3 (reboot) under Always/OnFailure, 1 under Never.',
  },
  ERR_LAUNCHER_WORKLOAD_FAILED: {
    status: 'ABORTED',
    retryable: true,
    description:
      'The workload exited with a non-zero code. Hardened: exit 3 (reboot) under Always/OnFailure, 1 under Never.',
  },
  ERR_LAUNCHER_DISK: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      "The instance's ephemeral disk (dm-crypt or tmpfs, with its size limit) could not be set up. Hardened: exit 3 (reboot) under Always/OnFailure, 1 under Never.",
  },
  ERR_LAUNCHER_NO_RUNTIME: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'No container runtime is available (runc, bwrap, or plain processes when allowed).',
  },
  ERR_LAUNCHER_NETWORK: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The host could not set up or change the instance network (namespace, veth pair, nftables, published ports); the message names the failing step.',
  },
  ERR_LAUNCHER_METADATA_SERVER: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      '`sealroom launcher` could not read its instance from the metadata server (unreachable, an answer without Metadata-Flavor: Google, a status other than 200, bad JSON); check GCE_METADATA_HOST / --metadata-host. Exit 1.',
  },
  ERR_LAUNCHER_HOST_CHANNEL: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      "The launcher's report channel to its host agent failed or the host refused a request on it (an AK certificate, publishing the EXPOSEd ports); the launcher stops its workload. Exit 1.",
  },
  ERR_LAUNCHER_USAGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: '`sealroom launcher` was started with a bad flag value (see `sealroom launcher --help`).',
  },
  ERR_LAUNCHER_INTERNAL: {
    status: 'INTERNAL',
    retryable: false,
    description:
      'A launch failed with something other than an error (a defect); it counts as fatal: a hardened image stops.',
  },
} as const satisfies ErrorCatalog<string>;

export type LauncherErrorCode = keyof typeof LAUNCHER_ERRORS;

/**
 * How an error feeds `exitCodeFor` (docs/launcher.md): `metadata` is always 1; `retryable` and `workload`
 * reboot under Always/OnFailure on hardened images; `fatal` stops a hardened image.
 */
export type FailureClass = 'metadata' | 'fatal' | 'retryable' | 'workload';

export const FAILURE_CLASS_OF: Readonly<Record<LauncherErrorCode, FailureClass>> = {
  ERR_LAUNCHER_METADATA_INVALID: 'metadata',
  ERR_LAUNCHER_POLICY_INVALID: 'fatal',
  ERR_LAUNCHER_OUTPUT_POLICY_INVALID: 'fatal',
  ERR_LAUNCHER_POLICY_VIOLATION: 'fatal',
  ERR_LAUNCHER_IMAGE_INVALID: 'fatal',
  ERR_LAUNCHER_FIRST_TOKEN: 'fatal',
  ERR_LAUNCHER_TOKEN_INVALID: 'fatal',
  ERR_LAUNCHER_TEESERVER: 'fatal',
  ERR_LAUNCHER_TOKEN_REQUEST_INVALID: 'fatal',
  ERR_LAUNCHER_VERIFIER_REFUSED: 'fatal',
  ERR_LAUNCHER_VERIFIER_UNAVAILABLE: 'fatal',
  ERR_LAUNCHER_METADATA_REQUEST: 'fatal',
  ERR_LAUNCHER_RUNTIME_START: 'retryable',
  ERR_LAUNCHER_WORKLOAD_FAILED: 'workload',
  ERR_LAUNCHER_DISK: 'retryable',
  ERR_LAUNCHER_NO_RUNTIME: 'fatal',
  ERR_LAUNCHER_NETWORK: 'retryable',
  ERR_LAUNCHER_METADATA_SERVER: 'fatal',
  ERR_LAUNCHER_HOST_CHANNEL: 'fatal',
  ERR_LAUNCHER_USAGE: 'metadata',
  ERR_LAUNCHER_INTERNAL: 'fatal',
};

export class LauncherError extends SealroomError<LauncherErrorCode> {
  readonly failureClass: FailureClass;

  constructor(code: LauncherErrorCode, message: string, options?: SealroomErrorOptions) {
    super(LAUNCHER_ERRORS, code, message, options);
    this.failureClass = FAILURE_CLASS_OF[code];
  }
}

export function metadataError(message: string, cause?: unknown): LauncherError {
  return new LauncherError('ERR_LAUNCHER_METADATA_INVALID', message, cause === undefined ? {} : { cause });
}
