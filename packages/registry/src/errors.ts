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
  ERR_REGISTRY_NAME_UNKNOWN: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'The repository (project/repository) of an image name does not exist (OCI NAME_UNKNOWN).',
  },
  ERR_REGISTRY_BLOB_UNKNOWN: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'The blob is not in this image repository (OCI BLOB_UNKNOWN).',
  },
  ERR_REGISTRY_MANIFEST_UNKNOWN: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'No manifest has that tag or digest in this image repository (OCI MANIFEST_UNKNOWN).',
  },
  ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A pushed manifest references a blob or manifest that was not pushed first; nothing was stored.',
  },
  ERR_REGISTRY_UPLOAD_UNKNOWN: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'The blob upload session does not exist, belongs to another image, or was already completed.',
  },
  ERR_REGISTRY_UPLOAD_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A chunk does not continue the upload where it stopped (Content-Range), or the request is malformed.',
  },
  ERR_REGISTRY_SIZE_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'Content is larger than the registry accepts, or its length does not match what was declared.',
  },
  ERR_REGISTRY_UNSUPPORTED_MEDIA_TYPE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A manifest was pushed with a Content-Type that is not a manifest type or differs from its mediaType field.',
  },
} as const satisfies ErrorCatalog<string>;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

export class RegistryError extends SealroomError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string, options?: SealroomErrorOptions) {
    super(REGISTRY_ERRORS, code, message, options);
  }
}
