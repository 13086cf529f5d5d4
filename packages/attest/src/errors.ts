// Error catalogue of @sealroom/attest: every way evidence can be malformed or fail a check.
import { SealroomError } from '@sealroom/core';
import type { ErrorCatalog, SealroomErrorOptions } from '@sealroom/core';

export const ATTEST_ERRORS = {
  ERR_ATTEST_MALFORMED_TPM: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A TPM 2.0 structure (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC, TPML_PCR_SELECTION) is truncated or invalid.',
  },
  ERR_ATTEST_UNSUPPORTED_ALGORITHM: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The evidence uses a TPM algorithm, curve or scheme that Sealroom does not accept.',
  },
  ERR_ATTEST_QUOTE_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A quote signature does not verify with the attestation key.',
  },
  ERR_ATTEST_NONCE_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "A quote's extraData is not the expected nonce.",
  },
  ERR_ATTEST_PCR_DIGEST_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The PCR values sent with a quote do not hash to the quote's pcrDigest, or the selection differs.",
  },
  ERR_ATTEST_MALFORMED_EVENT_LOG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The TCG crypto-agile event log is truncated or malformed.',
  },
  ERR_ATTEST_MALFORMED_CEL: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The canonical event log (TLV) is truncated or malformed.',
  },
  ERR_ATTEST_CEL_REJECTED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The canonical event log breaks a verifier parsing rule: unknown type, duplicate event, event after the separator, bad env name, wrong digest.',
  },
  ERR_ATTEST_CEL_INDEX_TYPE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A canonical event log record names another register than the launch register of its evidence: PCR 13 for TPM evidence, RTMR 3 (CC MR 4) for TDX.',
  },
  ERR_ATTEST_REPLAY_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'Replaying an event log does not give the quoted PCR value.',
  },
  ERR_ATTEST_EVENT_LOG_UNBOUND: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The TCG event log or the canonical event log shares no quoted PCR bank stronger than SHA-1 with the quotes, so nothing read from it can be trusted.',
  },
  ERR_ATTEST_BOOT_STATE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The bound TCG event log breaks a boot-state rule: a separator, Secure Boot variable or authority, EFI application event or GRUB command is misplaced, duplicated, of the wrong type or not bound by its digest.',
  },
  ERR_ATTEST_MALFORMED_DER: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A certificate or certificate extension is not valid DER.',
  },
  ERR_ATTEST_CERT_CHAIN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The attestation key certificate does not chain to a trusted platform root at the verification time.',
  },
  ERR_ATTEST_AK_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The attestation key's public area differs from the key in its certificate.",
  },
  ERR_ATTEST_AK_ATTRIBUTES: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The AK public area sent with the evidence does not describe an attestation key: a restricted signing key fixed to its TPM, with no symmetric part and a scheme the verifier checks.',
  },
  ERR_ATTEST_PLATFORM: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The platform cannot perform the requested operation (unknown PCR bank or index, not booted).',
  },
  ERR_ATTEST_ENCODE: {
    status: 'INTERNAL',
    retryable: false,
    description:
      'A structure to encode does not fit its format (a PCR beyond its selection, EFI signature list entries of different sizes, a negative DER INTEGER); a defect of the caller, never caused by evidence.',
  },
} as const satisfies ErrorCatalog<string>;

export type AttestErrorCode = keyof typeof ATTEST_ERRORS;

export class AttestError extends SealroomError<AttestErrorCode> {
  constructor(code: AttestErrorCode, message: string, options?: SealroomErrorOptions) {
    super(ATTEST_ERRORS, code, message, options);
  }
}
