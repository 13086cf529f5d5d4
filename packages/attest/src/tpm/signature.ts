// TPMT_SIGNATURE (TPM 2.0 Part 2 §11.3.4): RSASSA, RSAPSS and ECDSA, parsed, produced and verified.
import { constants, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { verifyEcdsaP1363, verifyRsaPkcs1 } from '@sealroom/core';
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { TPM_ALG, hashInfo } from './constants.ts';

export type TpmSignature =
  | {
      readonly sigAlg: typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS;
      readonly hashAlg: number;
      readonly sig: Uint8Array;
    }
  | { readonly sigAlg: typeof TPM_ALG.ECDSA; readonly hashAlg: number; readonly r: Uint8Array; readonly s: Uint8Array };

/** RSA keys up to 8192 bits; ECC coordinates up to P-521. */
const MAX_RSA_SIG = 1024;
const MAX_ECC_PARAM = 66;

export function parseTpmSignature(bytes: Uint8Array): TpmSignature {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_TPM', 'TPMT_SIGNATURE');
  const sigAlg = reader.u16();
  let out: TpmSignature;
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) {
    const hashAlg = reader.u16();
    out = { sigAlg, hashAlg, sig: reader.sized(MAX_RSA_SIG) };
  } else if (sigAlg === TPM_ALG.ECDSA) {
    const hashAlg = reader.u16();
    const r = reader.sized(MAX_ECC_PARAM);
    const s = reader.sized(MAX_ECC_PARAM);
    out = { sigAlg, hashAlg, r, s };
  } else {
    throw new AttestError(
      'ERR_ATTEST_UNSUPPORTED_ALGORITHM',
      `TPMT_SIGNATURE: signature algorithm 0x${sigAlg.toString(16)} is not RSASSA, RSAPSS or ECDSA.`,
    );
  }
  reader.end();
  return out;
}

export function encodeTpmSignature(signature: TpmSignature): Buffer {
  const writer = new ByteWriter().u16(signature.sigAlg).u16(signature.hashAlg);
  if (signature.sigAlg === TPM_ALG.ECDSA) writer.sized(signature.r).sized(signature.s);
  else writer.sized(signature.sig);
  return writer.finish();
}

function leftPad(value: Uint8Array, size: number): Buffer {
  if (value.length > size) {
    throw new AttestError('ERR_ATTEST_MALFORMED_TPM', 'TPMT_SIGNATURE: ECDSA parameter longer than the curve size.');
  }
  const out = Buffer.alloc(size);
  out.set(value, size - value.length);
  return out;
}

function curveSize(key: KeyObject): number {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1' || curve === 'P-256') return 32;
  if (curve === 'secp384r1' || curve === 'P-384') return 48;
  if (curve === 'secp521r1' || curve === 'P-521') return 66;
  throw new AttestError('ERR_ATTEST_UNSUPPORTED_ALGORITHM', `Unsupported ECC curve ${String(curve)}.`);
}

/** Checks `signature` over `message` with `key`; the digest is the signature's own hash algorithm. */
export function verifyTpmSignature(key: KeyObject, message: Uint8Array, signature: TpmSignature): boolean {
  const hash = hashInfo(signature.hashAlg).name;
  const keyType = key.asymmetricKeyType;
  if (signature.sigAlg === TPM_ALG.ECDSA) {
    if (keyType !== 'ec') return false;
    const size = curveSize(key);
    const raw = Buffer.concat([leftPad(signature.r, size), leftPad(signature.s, size)]);
    return verifyEcdsaP1363(hash, message, key, raw);
  }
  if (keyType !== 'rsa') return false;
  if (signature.sigAlg === TPM_ALG.RSASSA) return verifyRsaPkcs1(hash, message, key, signature.sig);
  // TPM 2.0 Part 1 §B.7: the salt is as long as the digest, but verifiers accept any length (as go-tpm does).
  return verify(
    hash,
    message,
    { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
    signature.sig,
  );
}

/** Signs as a TPM would: ECDSA keys give r and s at full curve length, RSA keys RSASSA unless `pss`. */
export function signTpm(key: KeyObject, hashAlg: number, message: Uint8Array, pss = false): TpmSignature {
  const hash = hashInfo(hashAlg);
  if (key.asymmetricKeyType === 'ec') {
    const raw = sign(hash.name, message, { key, dsaEncoding: 'ieee-p1363' });
    const half = raw.length / 2;
    return { sigAlg: TPM_ALG.ECDSA, hashAlg, r: raw.subarray(0, half), s: raw.subarray(half) };
  }
  if (pss) {
    const sig = sign(hash.name, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hash.size });
    return { sigAlg: TPM_ALG.RSAPSS, hashAlg, sig };
  }
  return {
    sigAlg: TPM_ALG.RSASSA,
    hashAlg,
    sig: sign(hash.name, message, { key, padding: constants.RSA_PKCS1_PADDING }),
  };
}
