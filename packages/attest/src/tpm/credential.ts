// TPM2_MakeCredential done outside the TPM (TPM 2.0 Part 1 §24, Part 3 §12.6): a secret only the TPM holding the
// EK can recover, and only for the object whose name the credential names (ActivateCredential).
import {
  createCipheriv,
  createECDH,
  createHmac,
  constants as cryptoConstants,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { AttestError } from '../errors.ts';
import { ByteWriter } from './bytes.ts';
import { TPM_ALG, TPM_ECC_CURVE, digest, hashInfo } from './constants.ts';
import { type TpmPublic, toPublicKey } from './public.ts';

const ECDH_CURVES: Readonly<Record<number, string>> = {
  [TPM_ECC_CURVE.NIST_P256]: 'prime256v1',
  [TPM_ECC_CURVE.NIST_P384]: 'secp384r1',
};

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** A label as KDFa and KDFe take it: its bytes and a terminating zero (Part 1 §11.4.10). */
function label(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.of(0)]);
}

/** KDFa (Part 1 §11.4.10.2): HMAC-based counter-mode KDF of SP 800-108. */
export function kdfa(
  hashAlg: number,
  key: Uint8Array,
  use: string,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
): Buffer {
  const { name, size } = hashInfo(hashAlg);
  const bytes = Math.ceil(bits / 8);
  const out: Buffer[] = [];
  for (let i = 1; out.length * size < bytes; i++) {
    out.push(
      createHmac(name, key)
        .update(u32(i))
        .update(label(use))
        .update(contextU)
        .update(contextV)
        .update(u32(bits))
        .digest(),
    );
  }
  return Buffer.concat(out).subarray(0, bytes);
}

/** KDFe (Part 1 §11.4.10.3): the hash-based KDF of SP 800-56A over an ECDH shared secret. */
export function kdfe(
  hashAlg: number,
  z: Uint8Array,
  use: string,
  partyU: Uint8Array,
  partyV: Uint8Array,
  bits: number,
): Buffer {
  const { size } = hashInfo(hashAlg);
  const bytes = Math.ceil(bits / 8);
  const out: Buffer[] = [];
  for (let i = 1; out.length * size < bytes; i++) out.push(digest(hashAlg, u32(i), z, label(use), partyU, partyV));
  return Buffer.concat(out).subarray(0, bytes);
}

export interface MadeCredential {
  /** TPM2B_ID_OBJECT: integrity HMAC and the encrypted credential. */
  readonly credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET: the seed, encrypted to the EK (RSA-OAEP) or an ECDH point. */
  readonly secret: Buffer;
}

function refuse(message: string): never {
  throw new AttestError('ERR_ATTEST_UNSUPPORTED_ALGORITHM', `MakeCredential: ${message}.`);
}

/** The seed and its encryption to the EK: RSA-OAEP with label "IDENTITY", or ECDH then KDFe (Part 1 Annex B, C). */
function encryptSeed(ek: TpmPublic): { seed: Buffer; secret: Buffer } {
  const { size } = hashInfo(ek.nameAlg);
  if (ek.type === TPM_ALG.RSA) {
    const seed = randomBytes(size);
    const secret = publicEncrypt(
      {
        key: toPublicKey(ek),
        padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: hashInfo(ek.nameAlg).name,
        oaepLabel: label('IDENTITY'),
      },
      seed,
    );
    return { seed, secret };
  }
  const curve = ECDH_CURVES[ek.curveId] ?? refuse('the EK curve is not P-256 or P-384');
  const ecdh = createECDH(curve);
  ecdh.generateKeys();
  const ekPoint = Buffer.concat([Buffer.of(4), ek.x, ek.y]);
  const z = ecdh.computeSecret(ekPoint);
  const ephemeral = ecdh.getPublicKey();
  const coordinate = (ephemeral.length - 1) / 2;
  const x = ephemeral.subarray(1, 1 + coordinate);
  const y = ephemeral.subarray(1 + coordinate);
  const seed = kdfe(ek.nameAlg, z, 'IDENTITY', x, ek.x, size * 8);
  return { seed, secret: new ByteWriter().sized(x).sized(y).finish() };
}

/**
 * Makes a credential for the object named `objectName` (nameAlg ‖ digest) protected by the EK `ek`: the
 * TPM recovers `credential` in ActivateCredential only if it holds the EK's private key and the object.
 */
export function makeCredential(ek: TpmPublic, objectName: Uint8Array, credential: Uint8Array): MadeCredential {
  if (ek.symmetric.alg !== TPM_ALG.AES || ek.symmetric.mode !== TPM_ALG.CFB || ek.symmetric.keyBits === undefined) {
    refuse('the EK is not a storage key with AES-CFB');
  }
  if (credential.length > hashInfo(ek.nameAlg).size) refuse('the credential is longer than a digest');
  const { seed, secret } = encryptSeed(ek);
  const keyBits = ek.symmetric.keyBits;
  const symKey = kdfa(ek.nameAlg, seed, 'STORAGE', objectName, new Uint8Array(0), keyBits);
  const cipher = createCipheriv(`aes-${keyBits}-cfb`, symKey, Buffer.alloc(16));
  const plain = new ByteWriter().sized(credential).finish();
  const encIdentity = Buffer.concat([cipher.update(plain), cipher.final()]);
  const hmacKey = kdfa(
    ek.nameAlg,
    seed,
    'INTEGRITY',
    new Uint8Array(0),
    new Uint8Array(0),
    hashInfo(ek.nameAlg).size * 8,
  );
  const integrity = createHmac(hashInfo(ek.nameAlg).name, hmacKey).update(encIdentity).update(objectName).digest();
  const idObject = new ByteWriter().sized(integrity).bytes(encIdentity).finish();
  return { credentialBlob: idObject, secret };
}
