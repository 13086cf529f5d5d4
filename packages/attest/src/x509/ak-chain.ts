// The attestation key's certificate path, and DER failures reported as evidence errors (ERR_ATTEST_*).
import { FormatsError, verifyCertificateChain } from '@sealroom/formats';
import type { VerifiedChain, VerifyChainOptions } from '@sealroom/formats';
import { AttestError } from '../errors.ts';

/** Runs a DER reader over evidence bytes: malformed DER is an evidence error, ERR_ATTEST_MALFORMED_DER. */
export function readEvidenceDer<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof FormatsError && error.code === 'ERR_FORMATS_MALFORMED_DER') {
      throw new AttestError('ERR_ATTEST_MALFORMED_DER', error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * Validates the path AK certificate → intermediates → a trusted platform root at `at`;
 * throws ERR_ATTEST_CERT_CHAIN when there is none.
 */
export function verifyAkCertificateChain(
  akCertDer: Uint8Array,
  options: Omit<VerifyChainOptions, 'leafName'>,
): VerifiedChain {
  try {
    return verifyCertificateChain(akCertDer, { ...options, leafName: 'AK certificate' });
  } catch (error) {
    if (error instanceof FormatsError && error.code === 'ERR_FORMATS_CERT_CHAIN') {
      throw new AttestError('ERR_ATTEST_CERT_CHAIN', error.message.replace('trusted root', 'trusted platform root'), {
        cause: error,
      });
    }
    throw error;
  }
}
