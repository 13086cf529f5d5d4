// Appraisal: TPM evidence → who (instance), where (platform), what (image, container), with every refusal
// mapped to the verifier's own code.
import { AttestError, verifyTpmEvidence } from '@sealroom/attest';
import type { AttestErrorCode, AttestedCosState, HwModel, InstanceInfo, TpmEvidence } from '@sealroom/attest';
import { appraiseBoot } from './boot-appraisal.ts';
import type { BootSummary } from './boot-appraisal.ts';
import { VerifierError } from './errors.ts';
import type { VerifierErrorCode } from './errors.ts';
import type { HardwareClaims } from './hardware-claims.ts';
import type { ImageDatabase, ImageEntry } from './image-db.ts';

export interface TrustedRoot {
  readonly certificate: Uint8Array;
  readonly hwmodel: HwModel;
  /** The soft platform's CA in dev mode: unknown soft boot measurements get a dev image entry. */
  readonly dev?: boolean;
}

export interface AppraisalOptions {
  readonly roots: readonly TrustedRoot[];
  readonly intermediates: readonly Uint8Array[];
  readonly images: ImageDatabase;
  /** swversion for soft images not in the database, in dev mode only. */
  readonly devSwversion: string;
  readonly at: Date;
}

export interface Appraisal {
  readonly hwmodel: HwModel;
  readonly instance: InstanceInfo;
  readonly image: ImageEntry;
  /** What booted: the command line, Secure Boot's db, the boot applications (appraised against `image`). */
  readonly boot: BootSummary;
  readonly cosState?: AttestedCosState;
  /** DER SPKI of the vTPM's attestation key (TPM evidence): what a hardware report beside it must bind. */
  readonly akSpki?: Buffer;
  /** Claims of an appraised SEV-SNP report or TDX quote. */
  readonly hardware?: HardwareClaims;
}

/** Every attest code evidence can cause; an encoding defect (ERR_ATTEST_ENCODE) is none, so it stays internal. */
const CODE_OF: Readonly<Record<Exclude<AttestErrorCode, 'ERR_ATTEST_ENCODE'>, VerifierErrorCode>> = {
  ERR_ATTEST_MALFORMED_TPM: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_MALFORMED_EVENT_LOG: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_MALFORMED_CEL: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_MALFORMED_DER: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_UNSUPPORTED_ALGORITHM: 'ERR_VERIFIER_UNSUPPORTED_EVIDENCE',
  ERR_ATTEST_QUOTE_SIGNATURE: 'ERR_VERIFIER_QUOTE_SIGNATURE',
  ERR_ATTEST_NONCE_MISMATCH: 'ERR_VERIFIER_NONCE_MISMATCH',
  ERR_ATTEST_PCR_DIGEST_MISMATCH: 'ERR_VERIFIER_PCR_MISMATCH',
  ERR_ATTEST_REPLAY_MISMATCH: 'ERR_VERIFIER_EVENT_LOG_MISMATCH',
  ERR_ATTEST_EVENT_LOG_UNBOUND: 'ERR_VERIFIER_EVENT_LOG_UNBOUND',
  ERR_ATTEST_BOOT_STATE: 'ERR_VERIFIER_BOOT_STATE',
  ERR_ATTEST_CEL_REJECTED: 'ERR_VERIFIER_CEL_REJECTED',
  ERR_ATTEST_CEL_INDEX_TYPE: 'ERR_VERIFIER_CEL_INDEX_TYPE',
  ERR_ATTEST_CERT_CHAIN: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_AK_MISMATCH: 'ERR_VERIFIER_AK_MISMATCH',
  ERR_ATTEST_AK_ATTRIBUTES: 'ERR_VERIFIER_AK_ATTRIBUTES',
  ERR_ATTEST_PLATFORM: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_SNP_MALFORMED: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_SNP_VERSION: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_MALFORMED_CRL: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_SNP_SIGNER: 'ERR_VERIFIER_QUOTE_SIGNATURE',
  ERR_ATTEST_SNP_SIGNATURE: 'ERR_VERIFIER_QUOTE_SIGNATURE',
  ERR_ATTEST_SNP_CHAIN: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_SNP_REVOKED: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_SNP_TCB_MISMATCH: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_SNP_PRODUCT: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_SNP_POLICY: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_SNP_VMPL: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_SNP_TCB_POLICY: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_HOST_DATA: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_REPORT_DATA: 'ERR_VERIFIER_NONCE_MISMATCH',
  ERR_ATTEST_MEASUREMENT: 'ERR_VERIFIER_UNKNOWN_IMAGE',
  ERR_ATTEST_TDX_MALFORMED: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_TDX_VERSION: 'ERR_VERIFIER_UNSUPPORTED_EVIDENCE',
  ERR_ATTEST_TDX_SIGNATURE: 'ERR_VERIFIER_QUOTE_SIGNATURE',
  ERR_ATTEST_TDX_QE_SIGNATURE: 'ERR_VERIFIER_QUOTE_SIGNATURE',
  ERR_ATTEST_TDX_QE_BINDING: 'ERR_VERIFIER_QUOTE_SIGNATURE',
  ERR_ATTEST_TDX_CHAIN: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_TDX_REVOKED: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_TDX_COLLATERAL: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_TDX_COLLATERAL_EXPIRED: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_TDX_TCB_UNMATCHED: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_TDX_TCB_STATUS: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_TDX_QE_IDENTITY: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
  ERR_ATTEST_TDX_DEBUG: 'ERR_VERIFIER_PLATFORM_POLICY',
  ERR_ATTEST_TPM_DEVICE: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_TSM: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_TSM_PROVIDER: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_TSM_GENERATION: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_SNP_CERT_TABLE: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_RTMR: 'ERR_VERIFIER_MALFORMED_EVIDENCE',
  ERR_ATTEST_AK_ENROLMENT: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
};

/** Re-raises an attest error under the verifier's code; its message names the check, not the evidence. */
export function toVerifierError(error: unknown): unknown {
  if (error instanceof AttestError && error.code !== 'ERR_ATTEST_ENCODE')
    return new VerifierError(CODE_OF[error.code], error.message, { cause: error });
  return error;
}

export function appraiseTpmEvidence(evidence: TpmEvidence, nonce: Uint8Array, options: AppraisalOptions): Appraisal {
  let verified: ReturnType<typeof verifyTpmEvidence>;
  try {
    verified = verifyTpmEvidence(evidence, {
      nonce,
      trustedRoots: options.roots.map((r) => r.certificate),
      intermediates: options.intermediates,
      at: options.at,
    });
  } catch (error) {
    throw toVerifierError(error);
  }
  const root = options.roots.find((r) => Buffer.from(r.certificate).equals(Buffer.from(verified.root)))!;
  const instance = verified.instanceInfo;
  if (instance === undefined || !instance.isProduction) {
    throw new VerifierError(
      'ERR_VERIFIER_NO_INSTANCE_IDENTITY',
      'The AK certificate carries no production instance identity.',
    );
  }
  const { image, summary } = appraiseBoot(verified.bootState, {
    images: options.images,
    dev: root.dev === true,
    devSwversion: options.devSwversion,
  });
  const container = verified.cosState?.container;
  if (
    container === undefined ||
    container.imageReference === '' ||
    container.imageDigest === '' ||
    container.restartPolicy === ''
  ) {
    throw new VerifierError(
      'ERR_VERIFIER_MISSING_LAUNCH_EVENTS',
      'The canonical event log lacks the ImageRef, ImageDigest or RestartPolicy launch event.',
    );
  }
  let akSpki: Buffer | undefined;
  return {
    hwmodel: root.hwmodel,
    instance,
    image,
    boot: summary,
    ...(verified.cosState === undefined ? {} : { cosState: verified.cosState }),
    // Exported when read: only a hardware report bound to the AK needs it, and exporting costs as much as a quote.
    get akSpki() {
      akSpki ??= verified.akPublicKey.export({ type: 'spki', format: 'der' });
      return akSpki;
    },
  };
}
