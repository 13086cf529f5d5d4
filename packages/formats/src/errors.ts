// Error catalogue of @sealroom/formats: malformed digests and the low-level formats every role shares.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const FORMATS_ERRORS = {
  ERR_FORMATS_BAD_DIGEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A digest is not `sha256:<64 lowercase hex>` (the only algorithm Sealroom accepts).',
  },
  ERR_FORMATS_DIGEST_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'Content does not hash to the digest it was given or stored under; nothing was stored.',
  },
  ERR_FORMATS_BAD_LAYOUT: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A directory is not an OCI image layout (`oci-layout` 1.0.0, `index.json`, `blobs/sha256`).',
  },
  ERR_FORMATS_NOT_IN_LAYOUT: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'A blob, or a manifest by that ref name or digest, is not in the OCI image layout.',
  },
  ERR_FORMATS_BAD_REF_NAME: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A ref name for an OCI image layout is not a valid tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).',
  },
  ERR_FORMATS_MALFORMED_TAR: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A tar archive (an image layer, an oci-archive) has a bad header checksum, a non-numeric field, a malformed pax record or an entry past its end.',
  },
  ERR_FORMATS_BAD_TAR_ENTRY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An entry to write into a tar archive has an invalid or duplicate path, a parent that is not a directory, an invalid owner or is too large for ustar.',
  },
  ERR_FORMATS_MALFORMED_DER: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A certificate, certificate extension or other DER structure is not valid DER.',
  },
  ERR_FORMATS_CERT_CHAIN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A certificate does not chain to a trusted root at the verification time, or is not X.509.',
  },
  ERR_FORMATS_ENCODE: {
    status: 'INTERNAL',
    retryable: false,
    description:
      'A value to encode does not fit its format (a negative DER INTEGER, a malformed IP address or DNS name); a defect of the caller.',
  },
} as const satisfies ErrorCatalog<string>;

export type FormatsErrorCode = keyof typeof FORMATS_ERRORS;

/** Raised by the shared format readers and writers; the packages that call them map it to their own codes where their API promises one. */
export class FormatsError extends SealroomError<FormatsErrorCode> {
  constructor(code: FormatsErrorCode, message: string, options?: SealroomErrorOptions) {
    super(FORMATS_ERRORS, code, message, options);
  }
}
