// Quote verification: signature by the AK, nonce in extraData, PCR values hashed to pcrDigest.
import { timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { parseQuoteInfo } from './attest.ts';
import type { QuoteInfo } from './attest.ts';
import { digest, hashInfo } from './constants.ts';
import { parseTpmSignature, verifyTpmSignature } from './signature.ts';

/** One bank's quote as evidence carries it: the raw structures and the PCR values they claim. */
export interface TpmQuote {
  /** TPM_ALG_ID of the PCR bank. */
  readonly hashAlgo: number;
  /** PCR index → value. */
  readonly pcrValues: ReadonlyMap<number, Uint8Array>;
  /** TPMS_ATTEST bytes. */
  readonly rawQuote: Uint8Array;
  /** TPMT_SIGNATURE bytes. */
  readonly rawSignature: Uint8Array;
}

export interface VerifyQuoteOptions {
  readonly akPublicKey: KeyObject;
  readonly nonce: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies one quote and returns its parsed TPMS_ATTEST. The selection must be exactly this bank and
 * exactly the PCRs sent; pcrDigest is hashed with the signing hash, not the bank hash (go-tpm-tools
 * `server/verify.go`; the GCE vectors prove it for the SHA-1 and SHA-384 banks).
 */
export function verifyQuote(quote: TpmQuote, options: VerifyQuoteOptions): QuoteInfo {
  const bank = hashInfo(quote.hashAlgo);
  const signature = parseTpmSignature(quote.rawSignature);
  if (!verifyTpmSignature(options.akPublicKey, quote.rawQuote, signature)) {
    throw new AttestError(
      'ERR_ATTEST_QUOTE_SIGNATURE',
      `The ${bank.name} quote signature does not verify with the AK.`,
    );
  }
  const info = parseQuoteInfo(quote.rawQuote);
  if (!sameBytes(info.extraData, options.nonce)) {
    throw new AttestError('ERR_ATTEST_NONCE_MISMATCH', `The ${bank.name} quote was not made over the expected nonce.`);
  }
  const [selection, ...rest] = info.pcrSelections;
  if (selection === undefined || rest.length > 0 || selection.hashAlg !== quote.hashAlgo) {
    throw new AttestError('ERR_ATTEST_PCR_DIGEST_MISMATCH', `The ${bank.name} quote does not select exactly its bank.`);
  }
  const sent = [...quote.pcrValues.keys()].sort((a, b) => a - b);
  if (sent.length !== selection.pcrs.length || sent.some((pcr, i) => pcr !== selection.pcrs[i])) {
    throw new AttestError(
      'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      `The ${bank.name} PCR values sent differ from the quoted selection.`,
    );
  }
  const values = selection.pcrs.map((pcr) => {
    const value = quote.pcrValues.get(pcr)!;
    if (value.length !== bank.size) {
      throw new AttestError(
        'ERR_ATTEST_PCR_DIGEST_MISMATCH',
        `PCR ${pcr} of the ${bank.name} bank has the wrong length.`,
      );
    }
    return value;
  });
  if (!sameBytes(digest(signature.hashAlg, ...values), info.pcrDigest)) {
    throw new AttestError(
      'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      `The ${bank.name} PCR values do not match the quoted digest.`,
    );
  }
  return info;
}
