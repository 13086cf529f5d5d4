// An in-process TPM 2.0: SHA-256 and SHA-384 PCR banks, a fresh attestation key, extend and quote.
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { encodeQuoteInfo } from '../tpm/attest.ts';
import { TPM_ALG, digest, hashInfo } from '../tpm/constants.ts';
import { encodeTpmPublic, fromPublicKey, tpmName } from '../tpm/public.ts';
import type { TpmQuote } from '../tpm/quote.ts';
import { encodeTpmSignature, signTpm } from '../tpm/signature.ts';

export const SOFT_TPM_BANKS = [TPM_ALG.SHA256, TPM_ALG.SHA384] as const;
export const PCR_COUNT = 24;
/** firmwareVersion the soft TPM reports in every quote ("SEALRM" + 1.0). */
const SOFT_FIRMWARE_VERSION = 0x5345414c524d0100n;

export type AkAlgorithm = 'ecc-p256' | 'rsa-2048';

export interface SoftTpmOptions {
  readonly akAlgorithm?: AkAlgorithm;
  /** Milliseconds since "boot", for TPMS_CLOCK_INFO.clock. */
  readonly clockMs?: () => number;
}

export class SoftTpm {
  readonly akPublicKey: KeyObject;
  /** TPMT_PUBLIC of the AK. */
  readonly akPublicArea: Buffer;
  readonly #akPrivateKey: KeyObject;
  readonly #banks = new Map<number, Buffer[]>();
  readonly #clockMs: () => number;

  constructor(options: SoftTpmOptions = {}) {
    const pair =
      (options.akAlgorithm ?? 'ecc-p256') === 'ecc-p256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.akPublicKey = pair.publicKey;
    this.#akPrivateKey = pair.privateKey;
    this.akPublicArea = encodeTpmPublic(fromPublicKey(pair.publicKey));
    for (const alg of SOFT_TPM_BANKS) {
      this.#banks.set(
        alg,
        Array.from({ length: PCR_COUNT }, () => Buffer.alloc(hashInfo(alg).size)),
      );
    }
    const start = Date.now();
    this.#clockMs = options.clockMs ?? (() => Date.now() - start);
  }

  #bank(alg: number): Buffer[] {
    const bank = this.#banks.get(alg);
    if (bank === undefined)
      throw new AttestError('ERR_ATTEST_PLATFORM', `The soft TPM has no bank 0x${alg.toString(16)}.`);
    return bank;
  }

  /** TPM2_PCR_Extend of one bank: PCR = H(PCR || digest). */
  extend(pcr: number, alg: number, value: Uint8Array): void {
    const bank = this.#bank(alg);
    if (!Number.isInteger(pcr) || pcr < 0 || pcr >= PCR_COUNT) {
      throw new AttestError('ERR_ATTEST_PLATFORM', `PCR ${pcr} does not exist.`);
    }
    if (value.length !== hashInfo(alg).size) throw new AttestError('ERR_ATTEST_PLATFORM', 'Digest of the wrong size.');
    bank[pcr] = digest(alg, bank[pcr]!, value);
  }

  read(alg: number): readonly Buffer[] {
    return [...this.#bank(alg)];
  }

  /** TPM2_Quote over all PCRs of one bank, qualifyingData = nonce, signed with SHA-256. */
  quote(alg: number, nonce: Uint8Array): TpmQuote {
    if (nonce.length > 64) throw new AttestError('ERR_ATTEST_PLATFORM', 'The qualifying data exceeds 64 bytes.');
    const values = this.read(alg);
    const pcrs = values.map((_, i) => i);
    const rawQuote = encodeQuoteInfo({
      qualifiedSigner: tpmName(this.akPublicArea, TPM_ALG.SHA256),
      extraData: nonce,
      clockInfo: {
        clock: BigInt(Math.max(0, Math.floor(this.#clockMs()))),
        resetCount: 0,
        restartCount: 0,
        safe: true,
      },
      firmwareVersion: SOFT_FIRMWARE_VERSION,
      pcrSelections: [{ hashAlg: alg, pcrs, sizeOfSelect: PCR_COUNT / 8 }],
      pcrDigest: digest(TPM_ALG.SHA256, ...values),
    });
    const rawSignature = encodeTpmSignature(signTpm(this.#akPrivateKey, TPM_ALG.SHA256, rawQuote));
    return { hashAlgo: alg, pcrValues: new Map(values.map((v, i) => [i, v])), rawQuote, rawSignature };
  }
}
