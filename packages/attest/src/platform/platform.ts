// The evidence-provider interface every platform implements (soft, tpm, sev-snp, tdx).
import type { TpmEvidence } from '../tpm/evidence.ts';

/** `hwmodel` claim values (docs/verifier.md, "The token"). */
export type HwModel =
  | 'SOFTWARE'
  | 'GCP_SHIELDED_VM'
  | 'GCP_AMD_SEV'
  | 'GCP_AMD_SEV_ES'
  | 'GCP_INTEL_TDX'
  | 'AMD_SEV_SNP'
  | 'INTEL_TDX';

/** A SEV-SNP report as configfs-tsm gives it: the report and the host's certificate table (auxblob). */
export interface SevSnpReportEvidence {
  readonly report: Uint8Array;
  readonly auxBlob: Uint8Array;
}

/** A TDX quote with the firmware's event log (CCEL ACPI table and data) when the machine exposes them. */
export interface TdxQuoteEvidence {
  readonly tdQuote: Uint8Array;
  readonly ccelAcpiTable?: Uint8Array;
  readonly ccelData?: Uint8Array;
}

/**
 * Evidence for one challenge, tagged by kind. Hardware kinds carry the launcher's canonical event log (RTMR 3
 * on TDX; bound in report_data on SEV-SNP) and the instance identity certificate whose key report_data binds.
 */
/** TPM evidence (soft and tpm platforms). */
export type TpmPlatformEvidence = { readonly kind: 'tpm'; readonly tpm: TpmEvidence };

export type PlatformEvidence =
  | TpmPlatformEvidence
  | {
      readonly kind: 'sev-snp';
      readonly sevSnp: SevSnpReportEvidence;
      readonly identityCertificate: Uint8Array;
      readonly canonicalEventLog: Uint8Array;
    }
  | {
      readonly kind: 'tdx';
      readonly tdx: TdxQuoteEvidence;
      readonly identityCertificate: Uint8Array;
      readonly canonicalEventLog: Uint8Array;
    };

/**
 * What the launcher needs from the machine it runs on: measure launch events into the COS register and
 * answer a challenge with evidence. The launcher and the verifier never depend on a concrete platform.
 */
export interface Platform {
  readonly kind: 'soft' | 'tpm' | 'vtpm' | 'sev-snp' | 'tdx';
  /** What the hardware is; the soft platform says `SOFTWARE` so its evidence cannot pass as hardware. */
  readonly hwmodel: HwModel;
  /** Extends one COS event (a content TLV from `encodeCosContent`) into the COS register of every bank and logs it. */
  measureEvent(content: Uint8Array): Promise<void>;
  /** The canonical event log so far. */
  canonicalEventLog(): Uint8Array;
  /** Evidence bound to `nonce` (the challenge's tpmNonce). */
  attest(nonce: Uint8Array): Promise<PlatformEvidence>;
}
