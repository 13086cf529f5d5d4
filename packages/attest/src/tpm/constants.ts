// TPM 2.0 constants (TPM 2.0 Part 2 §6) and the hash algorithms Sealroom accepts.
import { hash } from 'node:crypto';
import { AttestError } from '../errors.ts';

/** TPM_ALG_ID values used in evidence (Part 2 §6.3). */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  NULL: 0x0010,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECDAA: 0x001a,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

/** TPM_ECC_CURVE values (Part 2 §6.4). */
export const TPM_ECC_CURVE = { NIST_P256: 0x0003, NIST_P384: 0x0004, NIST_P521: 0x0005 } as const;

/** TPM_GENERATED_VALUE: the magic at the start of every TPMS_ATTEST (Part 2 §6.2). */
export const TPM_GENERATED_VALUE = 0xff544347;

/** TPM_ST_ATTEST_QUOTE (Part 2 §6.9). */
export const TPM_ST_ATTEST_QUOTE = 0x8018;

export interface HashInfo {
  readonly alg: number;
  /** Node's digest name. */
  readonly name: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  readonly size: number;
}

const HASHES: readonly HashInfo[] = [
  { alg: TPM_ALG.SHA1, name: 'sha1', size: 20 },
  { alg: TPM_ALG.SHA256, name: 'sha256', size: 32 },
  { alg: TPM_ALG.SHA384, name: 'sha384', size: 48 },
  { alg: TPM_ALG.SHA512, name: 'sha512', size: 64 },
];

export function findHash(alg: number): HashInfo | undefined {
  return HASHES.find((h) => h.alg === alg);
}

export function hashInfo(alg: number): HashInfo {
  const found = findHash(alg);
  if (found === undefined) {
    throw new AttestError('ERR_ATTEST_UNSUPPORTED_ALGORITHM', `Unsupported TPM hash algorithm 0x${alg.toString(16)}.`);
  }
  return found;
}

/** H(parts concatenated) with a bank's hash; one-shot `crypto.hash` (a replay computes thousands of small ones). */
export function digest(alg: number, ...parts: Uint8Array[]): Buffer {
  const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return hash(hashInfo(alg).name, data, 'buffer');
}
