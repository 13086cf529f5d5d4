// Error catalogue of @sealroom/registry: OCI content, image layouts, references and the registry client.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const REGISTRY_ERRORS = {
  ERR_REGISTRY_BAD_DIGEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A digest is not `sha256:<64 lowercase hex>` (the only algorithm Sealroom accepts).',
  },
  ERR_REGISTRY_DIGEST_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'Content does not hash to the digest it was given or stored under; nothing was stored.',
  },
  ERR_REGISTRY_BAD_REFERENCE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An image reference or repository name is malformed (OCI distribution name/tag grammar).',
  },
  ERR_REGISTRY_BAD_MANIFEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A manifest or index is not valid JSON of the declared media type.',
  },
  ERR_REGISTRY_BAD_LAYOUT: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A directory is not an OCI image layout (`oci-layout` 1.0.0, `index.json`, `blobs/sha256`).',
  },
  ERR_REGISTRY_NOT_FOUND: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'A blob, manifest or tag does not exist in the layout or registry.',
  },
  ERR_REGISTRY_REMOTE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description: 'A remote registry answered with an unexpected status; the message has the status and OCI error code.',
  },
  ERR_REGISTRY_UNAUTHORIZED: {
    status: 'UNAUTHENTICATED',
    retryable: false,
    description: 'A remote registry refused the credentials, or the token-auth exchange failed.',
  },
} as const satisfies ErrorCatalog<string>;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

export class RegistryError extends SealroomError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string, options?: SealroomErrorOptions) {
    super(REGISTRY_ERRORS, code, message, options);
  }
}
