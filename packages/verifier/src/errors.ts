// Error catalogue of @sealroom/verifier: every refusal names the check that failed, never the evidence.
import { SealroomError } from '@sealroom/core';
import type { ErrorCatalog, SealroomErrorOptions } from '@sealroom/core';

export const VERIFIER_ERRORS = {
  ERR_VERIFIER_CHALLENGE_NOT_FOUND: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'The challenge does not exist in this project and location; create one first.',
  },
  ERR_VERIFIER_CHALLENGE_USED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The challenge was already used; each challenge verifies one attestation. Create a new one.',
  },
  ERR_VERIFIER_CHALLENGE_EXPIRED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The challenge expired before the attestation arrived. Create a new one.',
  },
  ERR_VERIFIER_MALFORMED_EVIDENCE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A quote, signature, key, certificate or event log in the evidence cannot be parsed.',
  },
  ERR_VERIFIER_IMAGE_CONFIG_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The image config sent with the evidence does not hash to the measured image ID (or none was measured), so its labels cannot be trusted.',
  },
  ERR_VERIFIER_OUTPUT_POLICY_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The measured image config carries a sealroom.output_policy label that does not parse; no token is issued.',
  },
  ERR_VERIFIER_UNSUPPORTED_EVIDENCE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The evidence kind or algorithm is not supported (TDX/SEV-SNP evidence, SHA-1-only quotes, unknown curves).',
  },
  ERR_VERIFIER_QUOTE_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A quote signature does not verify with the attestation key.',
  },
  ERR_VERIFIER_NONCE_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "A quote was not made over this challenge's nonce (replayed or foreign evidence).",
  },
  ERR_VERIFIER_PCR_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: "The PCR values sent do not match a quote's PCR digest or selection.",
  },
  ERR_VERIFIER_EVENT_LOG_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'Replaying the TCG event log or the canonical event log does not give the quoted PCRs.',
  },
  ERR_VERIFIER_EVENT_LOG_UNBOUND: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The TCG event log shares no quoted PCR bank stronger than SHA-1 with the quotes; nothing in it (boot state, kernel command line) can be believed.',
  },
  ERR_VERIFIER_BOOT_STATE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The TCG event log breaks a boot-state rule (separators, Secure Boot variables and authorities, EFI boot applications, GRUB commands), so what booted cannot be told.',
  },
  ERR_VERIFIER_CEL_REJECTED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The canonical event log breaks a parsing rule (unknown type, duplicate, event after the separator, bad env name).',
  },
  ERR_VERIFIER_CEL_INDEX_TYPE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A canonical event log record names another register than the launch register of the evidence: PCR 13 for TPM evidence, RTMR 3 (CC MR 4) for TDX.',
  },
  ERR_VERIFIER_MISSING_LAUNCH_EVENTS: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The evidence has no canonical event log with the container launch events.',
  },
  ERR_VERIFIER_UNTRUSTED_PLATFORM: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The attestation key certificate does not chain to a platform root this verifier trusts.',
  },
  ERR_VERIFIER_PLATFORM_POLICY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "A hardware report breaks the deployment's platform policy: debug allowed, a less privileged VMPL, a product, TCB or TCB status below the minimum, or other host data.",
  },
  ERR_VERIFIER_EVIDENCE_FILE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A file given to the offline verifier is none of the evidence or collateral it reads (SEV-SNP report, TDX quote, certificates, CRL, Intel TCB info or QE identity, TPM attestation, canonical event log).',
  },
  ERR_VERIFIER_EVIDENCE_INCOMPLETE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The evidence files hold no report, quote or attestation, more than one, or lack a part it needs (the VCEK or VLEK of a SEV-SNP report, the nonce of a TPM quote).',
  },
  ERR_VERIFIER_COLLATERAL_FILE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A file to import into the collateral cache is not collateral (certificates, CRLs, Intel TCB info or QE identity), or a cached blob no longer matches its digest.',
  },
  ERR_VERIFIER_COLLATERAL_FETCH: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'Collateral could not be fetched: the host is not one of the vendors’ (AMD KDS, Intel PCS), it could not be reached, it answered other than 200, or it left out the issuer-chain header; nothing was stored.',
  },
  ERR_VERIFIER_AK_MISMATCH: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The attestation key public area differs from the key in its certificate.',
  },
  ERR_VERIFIER_AK_ATTRIBUTES: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The attestation key public area does not describe a restricted signing key fixed to its TPM (attributes, symmetric part, scheme, key size).',
  },
  ERR_VERIFIER_NO_INSTANCE_IDENTITY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The attestation key certificate carries no production instance identity.',
  },
  ERR_VERIFIER_UNKNOWN_IMAGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "The measured kernel command line is not in the verifier's image database, or contradicts its hardened flag.",
  },
  ERR_VERIFIER_SECURE_BOOT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'Secure Boot was off at boot, or its db (certificates and hashes) is not the one the image database entry for the measured kernel command line expects.',
  },
  ERR_VERIFIER_BOOT_APPLICATIONS: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The measured EFI boot applications (PCR 4, in boot order) are not the ones the image database entry expects, or ExitBootServices was not measured.',
  },
  ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A debug image cannot carry support attributes such as STABLE; only hardened images do.',
  },
  ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A service-account ID token is invalid: bad signature, other issuer, audience other than the challenge, expired, or no verified email.',
  },
  ERR_VERIFIER_IMAGE_SIGNATURE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A container image signature was not verified (bad payload, other image digest, unknown algorithm, bad signature); reported in partialErrors and left out of the token.',
  },
  ERR_VERIFIER_TOKEN_OPTIONS: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The token options break a limit: audience over 512 bytes, more than 6 nonces, a nonce outside 8-88 bytes.',
  },
} as const satisfies ErrorCatalog<string>;

export type VerifierErrorCode = keyof typeof VERIFIER_ERRORS;

export class VerifierError extends SealroomError<VerifierErrorCode> {
  constructor(code: VerifierErrorCode, message: string, options?: SealroomErrorOptions) {
    super(VERIFIER_ERRORS, code, message, options);
  }
}
