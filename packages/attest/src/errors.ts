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
  ERR_ATTEST_SNP_MALFORMED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An AMD SEV-SNP attestation report is not 1184 bytes, names another signature algorithm than ECDSA P-384, or has non-zero bytes after its signature.',
  },
  ERR_ATTEST_SNP_VERSION: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An AMD SEV-SNP attestation report has a version whose layout Sealroom does not know (it reads 2 to 5).',
  },
  ERR_ATTEST_SNP_SIGNER: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The SEV-SNP report's signer_info names no VCEK or VLEK, or the certificate sent is not of the kind it names (a VLEK for a VCEK report, or the reverse).",
  },
  ERR_ATTEST_SNP_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The SEV-SNP report signature does not verify with the VCEK or VLEK sent with it.',
  },
  ERR_ATTEST_SNP_CHAIN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The VCEK or VLEK does not chain through the ASK or ASVK to a pinned AMD root (ARK) at the verification time: a signature, a validity window, a certificate name or the root fingerprint is wrong.',
  },
  ERR_ATTEST_SNP_REVOKED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "A certificate of the SEV-SNP chain is listed in the AMD root's certificate revocation list.",
  },
  ERR_ATTEST_SNP_TCB_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The SEV-SNP report's reported_tcb differs from the TCB in the VCEK or VLEK extensions, or its chip_id from the VCEK hwID.",
  },
  ERR_ATTEST_SNP_PRODUCT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The SEV-SNP report's processor (its CPUID family and model, or its certificate's product name) is not the product of the AMD root it chains to, or not one the deployment allows.",
  },
  ERR_ATTEST_SNP_POLICY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The SEV-SNP guest policy is refused: debugging allowed while the deployment does not allow debug, migration agent allowed, or the must-be-one bit clear.',
  },
  ERR_ATTEST_SNP_VMPL: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The SEV-SNP report was requested from a less privileged VMPL than the deployment requires.',
  },
  ERR_ATTEST_SNP_TCB_POLICY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The SEV-SNP reported TCB is below the deployment's minimum TCB in at least one component.",
  },
  ERR_ATTEST_REPORT_DATA: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The report_data of a hardware report (SEV-SNP REPORT_DATA, TDX REPORTDATA) is not the one Sealroom derives from the challenge, so the report may be replayed.',
  },
  ERR_ATTEST_HOST_DATA: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The SEV-SNP report's host_data is not the value the deployment requires.",
  },
  ERR_ATTEST_MEASUREMENT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A hardware launch measurement (SEV-SNP MEASUREMENT, TDX MRTD or RTMR 0-2) is not in the image database the verifier was given.',
  },
  ERR_ATTEST_MALFORMED_CRL: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A certificate revocation list is not a valid DER CertificateList.',
  },
  ERR_ATTEST_TDX_MALFORMED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An Intel TDX quote is truncated, oversized, or its signature data, certification data or nested lengths do not add up.',
  },
  ERR_ATTEST_TDX_VERSION: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An Intel TDX quote has a version, body type, TEE type or attestation key type Sealroom does not read (it reads quote v4 and v5, TDX 1.0 and 1.5 bodies, ECDSA P-256 keys).',
  },
  ERR_ATTEST_TDX_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The TDX quote signature does not verify with the attestation key the quote carries.',
  },
  ERR_ATTEST_TDX_QE_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The TDX quoting enclave's report is not signed by the PCK certificate of the quote.",
  },
  ERR_ATTEST_TDX_QE_BINDING: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The TDX quoting enclave's REPORTDATA is not SHA-256(attestation key ‖ authentication data) followed by zeros, so the attestation key is not the enclave's.",
  },
  ERR_ATTEST_TDX_CHAIN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The PCK certificate chain of a TDX quote (or the issuer chain of its collateral) does not lead to a pinned or trusted Intel SGX Root CA at the verification time.',
  },
  ERR_ATTEST_TDX_REVOKED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The PCK certificate or its CA is listed in an Intel CRL.',
  },
  ERR_ATTEST_TDX_COLLATERAL: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "Intel collateral (TCB info, QE identity) does not parse, is not signed by Intel's TCB signing key, or is for another platform (FMSPC, PCE ID) or TEE.",
  },
  ERR_ATTEST_TDX_COLLATERAL_EXPIRED: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description:
      'The Intel TCB info or QE identity was past its nextUpdate at the verification time; import fresh collateral, or allow stale collateral (reported as a claim).',
  },
  ERR_ATTEST_TDX_TCB_UNMATCHED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "No TCB level of the Intel TCB info is met by the PCK's SGX TCB and the quote's TEE TCB SVN.",
  },
  ERR_ATTEST_TDX_TCB_STATUS: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The TCB status of the platform or of the quoting enclave (OutOfDate, SWHardeningNeeded, Revoked…) is not one the deployment accepts.',
  },
  ERR_ATTEST_TDX_QE_IDENTITY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The TDX quoting enclave is not the one Intel's QE identity describes (MRSIGNER, product ID, attributes, MISCSELECT, SVN).",
  },
  ERR_ATTEST_TDX_DEBUG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The TD's attributes allow debugging and the deployment does not allow debug.",
  },
  ERR_ATTEST_TSM: {
    status: 'FAILED_PRECONDITION',
    retryable: true,
    description:
      'configfs-tsm (`/sys/kernel/config/tsm/report`) cannot give a report: it is missing (Linux before 6.7, no guest driver; Sealroom does not use the `/dev/sev-guest` or `/dev/tdx_guest` ioctls, which Node cannot issue), not writable, or the kernel refused the request.',
  },
  ERR_ATTEST_TSM_PROVIDER: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'configfs-tsm reports another TEE than the platform asked for (its `provider` is not `sev_guest` for sev-snp or `tdx_guest` for tdx).',
  },
  ERR_ATTEST_TSM_GENERATION: {
    status: 'ABORTED',
    retryable: true,
    description:
      "The configfs-tsm report entry's generation moved other than by the launcher's own writes: another writer raced the request, so the report may carry its data; request again.",
  },
  ERR_ATTEST_SNP_CERT_TABLE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The SEV-SNP certificate table (configfs-tsm auxblob) is malformed: an entry points outside it, it has no terminating entry, or it is too large.',
  },
  ERR_ATTEST_RTMR: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A TDX RTMR cannot be read or extended through the measurement sysfs (`/sys/devices/virtual/misc/tdx_guest/measurements`, Linux 6.16 or newer).',
  },
  ERR_ATTEST_AK_ENROLMENT: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'The platform CA did not certify an attestation key: its TPM could not activate the credential wrapped for that AK under its endorsement key (TPM2_ActivateCredential), so the AK was not shown to be resident in the TPM holding that EK.',
  },
  ERR_ATTEST_PLATFORM: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The platform cannot perform the requested operation (unknown PCR bank or index, not booted).',
  },
  ERR_ATTEST_TPM_DEVICE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The TPM (a device such as /dev/tpmrm0 or a simulator socket) cannot be reached, answered a command with an error response code, or sent a malformed response.',
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
