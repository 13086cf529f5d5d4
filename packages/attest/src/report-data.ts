// The one construction of the 64-byte report_data a hardware report carries (SEV-SNP REPORT_DATA, TDX REPORTDATA).
import { createHash, timingSafeEqual } from 'node:crypto';
import { AttestError } from './errors.ts';

/** Domain tag: a report made for Sealroom is never mistaken for one made for another protocol. */
export const REPORT_DATA_TAG = 'sealroom.report-data.v1';

export interface ReportDataInput {
  /** The verifier's challenge nonce, as bytes. */
  readonly nonce: Uint8Array;
  /** A key the report vouches for (the SPKI DER of a vTPM attestation key); empty or absent when none. */
  readonly boundKey?: Uint8Array;
  /**
   * SEV-SNP without a vTPM: the launch register the launcher keeps in software (the SHA-384 replay of its
   * canonical event log), since SEV-SNP has no runtime measurement register to extend. Absent elsewhere.
   */
  readonly launchRegister?: Uint8Array;
}

function lengthPrefixed(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * SHA-512(tag ‖ 0x00 ‖ u32be(len nonce) ‖ nonce ‖ u32be(len key) ‖ key [‖ u32be(len register) ‖ register]):
 * exactly 64 bytes, the size of the field on both platforms, and unambiguous because every variable part is
 * length-prefixed (the launch register is appended only when there is one).
 */
export function reportDataFor(input: ReportDataInput): Buffer {
  const hash = createHash('sha512')
    .update(REPORT_DATA_TAG)
    .update(Uint8Array.of(0))
    .update(lengthPrefixed(input.nonce))
    .update(lengthPrefixed(input.boundKey ?? new Uint8Array()));
  if (input.launchRegister !== undefined) hash.update(lengthPrefixed(input.launchRegister));
  return hash.digest();
}

/** What a report's report_data must equal: derived from a challenge, or given verbatim (foreign evidence). */
export type ExpectedReportData = { readonly challenge: ReportDataInput } | { readonly exact: Uint8Array };

export function expectedReportData(expected: ExpectedReportData): Buffer {
  if (!('exact' in expected)) return reportDataFor(expected.challenge);
  // A shorter value (e.g. a SHA-256 digest) is compared as the platforms store it: zero-padded to 64 bytes.
  const padded = Buffer.alloc(Math.max(64, expected.exact.length));
  padded.set(expected.exact);
  return padded;
}

/** Refuses a report whose report_data is not the expected one (constant-time comparison). */
export function checkReportData(actual: Uint8Array, expected: ExpectedReportData): void {
  const want = expectedReportData(expected);
  if (want.length !== actual.length || !timingSafeEqual(want, actual)) {
    throw new AttestError('ERR_ATTEST_REPORT_DATA', 'The report_data is not bound to this challenge.');
  }
}
