// Error catalogue of @sealroom/builder: reproducible builds, signatures, attestations and verification.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const BUILDER_ERRORS = {
  ERR_BUILDER_CONFIG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The build config file (`sealroom.build.json`) or a build flag is invalid; the message names the key.',
  },
  ERR_BUILDER_BUNDLE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'esbuild could not bundle the workload source; the message lists the first errors.',
  },
  ERR_BUILDER_RUNTIME: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The Node runtime base (pinned node binary and its shared libraries) could not be resolved.',
  },
  ERR_BUILDER_TAR: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A layer entry cannot be written as a normalised tar entry (bad path, duplicate, too large).',
  },
  ERR_BUILDER_BAD_PAYLOAD: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A cosign simple-signing payload is not JSON or its `critical.type` is not a cosign container image signature.',
  },
  ERR_BUILDER_BAD_PUBLIC_KEY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A public key is not a single PEM `PUBLIC KEY` / `RSA PUBLIC KEY` block, or its `optional` base64 is invalid.',
  },
  ERR_BUILDER_UNSUPPORTED_ALGORITHM: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The signature algorithm is not ECDSA_P256_SHA256, RSASSA_PSS_SHA256 or RSASSA_PKCS1V15_SHA256, or does not fit the key.',
  },
  ERR_BUILDER_DIGEST_MISMATCH: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A signature or attestation names another image digest than the one being verified.',
  },
  ERR_BUILDER_BAD_SIGNATURE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A signature does not verify with the key it names (tampered payload, other key, wrong algorithm).',
  },
  ERR_BUILDER_THRESHOLD_NOT_MET: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'Fewer distinct trusted keys signed the image than the k-of-n threshold requires.',
  },
  ERR_BUILDER_BAD_ENVELOPE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A DSSE envelope or in-toto statement is malformed, unsigned or signed by no trusted key.',
  },
  ERR_BUILDER_DOCKERFILE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The Dockerfile cannot be built as written: a syntax error, or an instruction the engine rejects (unknown instruction, missing COPY source, bad argument); the message names the line.',
  },
  ERR_BUILDER_RUN_FAILED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A RUN step of the Dockerfile exited with an error; the message names the line, and says so when the step needed the network, which builds never have.',
  },
  ERR_BUILDER_BASE_IMAGE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'An image a FROM or COPY --from names is not in the base repository (import it with `sealroom artifacts docker images import`), or is not a linux/amd64 image; the message names the line.',
  },
  ERR_BUILDER_CONTEXT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The build context cannot be read as files, directories and symlinks (a device, a socket, an unreadable file, a symlink leaving the context).',
  },
  ERR_BUILDER_ENGINE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'The build engine (buildah) is missing, cannot run here (it needs root for chroot isolation and a private network namespace), failed, or exceeded the build time limit.',
  },
  ERR_BUILDER_IMPORT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An image to import cannot be read: unknown source transport, missing file or layout, no linux/amd64 image, a Debian package that is not installed or differs from its md5sums, or skopeo failed.',
  },
} as const satisfies ErrorCatalog<string>;

export type BuilderErrorCode = keyof typeof BUILDER_ERRORS;

export class BuilderError extends SealroomError<BuilderErrorCode> {
  constructor(code: BuilderErrorCode, message: string, options?: SealroomErrorOptions) {
    super(BUILDER_ERRORS, code, message, options);
  }
}
