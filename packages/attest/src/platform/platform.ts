// The evidence-provider interface every platform implements (soft, and later vtpm, sev-snp, tdx).
import type { TpmEvidence } from '../tpm/evidence.ts';

/** `hwmodel` claim values (CONTRACTS.md "The token"). */
export type HwModel =
  | 'SOFTWARE'
  | 'GCP_SHIELDED_VM'
  | 'GCP_AMD_SEV'
  | 'GCP_AMD_SEV_ES'
  | 'GCP_INTEL_TDX'
  | 'AMD_SEV_SNP'
  | 'INTEL_TDX';

/** Evidence for one challenge, tagged by kind so TDX/SEV-SNP shapes can be added without breaking callers. */
export type PlatformEvidence = { readonly kind: 'tpm'; readonly tpm: TpmEvidence };

/**
 * What the launcher needs from the machine it runs on: measure launch events into the COS register and
 * answer a challenge with evidence. The launcher and the verifier never depend on a concrete platform.
 */
export interface Platform {
  readonly kind: 'soft' | 'vtpm' | 'sev-snp' | 'tdx';
  /** What the hardware is; the soft platform says `SOFTWARE` so its evidence cannot pass as hardware. */
  readonly hwmodel: HwModel;
  /** Extends one COS event (a content TLV from `encodeCosContent`) into the COS register of every bank and logs it. */
  measureEvent(content: Uint8Array): Promise<void>;
  /** The canonical event log so far. */
  canonicalEventLog(): Uint8Array;
  /** Evidence bound to `nonce` (the challenge's tpmNonce). */
  attest(nonce: Uint8Array): Promise<PlatformEvidence>;
}
