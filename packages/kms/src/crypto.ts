// The cryptography of each algorithm: key generation, AES-256-GCM envelopes, signatures, RSA-OAEP.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  createECDH,
  privateDecrypt,
  privateEncrypt,
  randomBytes,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ecdsaP1363ToDer, generateRsaKeyPair, pooledRandomBytes } from '@sealroom/core';
import type { Algorithm } from './enums.ts';
import { KmsError } from './errors.ts';

/** Fresh key material: raw AES key bytes, or a PKCS#8 DER private key with its SPKI PEM. */
export interface GeneratedKey {
  readonly material: Buffer;
  readonly publicPem: string | undefined;
}

const generatePair = promisify(generateKeyPair);

/** Generated on the thread pool, as every key pair a request makes. */
export async function generateKeyMaterial(algorithm: Algorithm): Promise<GeneratedKey> {
  if (algorithm === 'GOOGLE_SYMMETRIC_ENCRYPTION') return { material: randomBytes(32), publicPem: undefined };
  const { privateKey, publicKey } =
    algorithm === 'EC_SIGN_P256_SHA256'
      ? await generatePair('ec', { namedCurve: 'P-256' })
      : algorithm === 'EC_SIGN_P384_SHA384'
        ? await generatePair('ec', { namedCurve: 'P-384' })
        : await generateRsaKeyPair();
  return {
    material: privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** Public key PEM of a stored private key (used when the PEM column is missing). */
export function publicPemOf(material: Buffer): string {
  return createPublicKey(privateKeyOf(material)).export({ format: 'pem', type: 'spki' }).toString();
}

function privateKeyOf(material: Buffer): KeyObject {
  return createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
}

// Ciphertext layout (all versions of a key share it; the header is authenticated as part of the AAD):
//   0      1 byte   format (1)
//   1..4   uint32   crypto key version id, big-endian — decrypt takes the key name, so this picks the version
//   5..16  12 bytes GCM IV
//   17..   body, then a 16-byte GCM tag
const FORMAT = 1;
const HEADER_BYTES = 5;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const CIPHERTEXT_OVERHEAD_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;

function gcmAad(header: Buffer, aad: Uint8Array): Buffer {
  return Buffer.concat([header, aad]);
}

export function encryptSymmetric(
  key: Buffer | KeyObject,
  versionId: number,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = FORMAT;
  header.writeUInt32BE(versionId, 1);
  const iv = pooledRandomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(gcmAad(header, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
}

function badCiphertext(cause?: unknown): KmsError {
  return new KmsError(
    'ERR_KMS_BAD_CIPHERTEXT',
    'Decryption failed: the ciphertext is invalid.',
    cause === undefined ? undefined : { cause },
  );
}

/** The version id a ciphertext names; throws the documented error when it has no valid header. */
export function versionIdOfCiphertext(ciphertext: Uint8Array): number {
  const buf = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  if (buf.length < CIPHERTEXT_OVERHEAD_BYTES || buf[0] !== FORMAT) throw badCiphertext();
  const id = buf.readUInt32BE(1);
  if (id === 0) throw badCiphertext();
  return id;
}

export function decryptSymmetric(key: Buffer | KeyObject, ciphertext: Uint8Array, aad: Uint8Array): Buffer {
  const buf = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  if (buf.length < CIPHERTEXT_OVERHEAD_BYTES) throw badCiphertext();
  const header = buf.subarray(0, HEADER_BYTES);
  const iv = buf.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const body = buf.subarray(HEADER_BYTES + IV_BYTES, buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(gcmAad(header, aad));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (cause) {
    throw badCiphertext(cause);
  }
}

/** The hash each signing algorithm signs a digest of. */
export const DIGEST_OF: Readonly<Partial<Record<Algorithm, 'sha256' | 'sha384'>>> = {
  EC_SIGN_P256_SHA256: 'sha256',
  EC_SIGN_P384_SHA384: 'sha384',
  RSA_SIGN_PSS_2048_SHA256: 'sha256',
  RSA_SIGN_PKCS1_2048_SHA256: 'sha256',
};

export function hashFor(algorithm: Algorithm, data: Uint8Array): Buffer {
  const hash = DIGEST_OF[algorithm];
  if (!hash) throw new KmsError('ERR_KMS_WRONG_PURPOSE', `Algorithm ${algorithm} does not sign.`);
  return createHash(hash).update(data).digest();
}

/**
 * Signs a precomputed digest, as Cloud KMS does (the caller hashes). ECDSA signatures are DER; RSA-PSS
 * uses MGF1 with the same hash and a salt as long as the digest; PKCS#1 v1.5 wraps a DigestInfo.
 */
export function signDigest(algorithm: Algorithm, material: Buffer, digest: Buffer): Buffer {
  const key = privateKeyOf(material);
  switch (algorithm) {
    case 'EC_SIGN_P256_SHA256':
      return signEcdsaDigest(key, 'prime256v1', P256_ORDER, digest);
    case 'EC_SIGN_P384_SHA384':
      return signEcdsaDigest(key, 'secp384r1', P384_ORDER, digest);
    case 'RSA_SIGN_PKCS1_2048_SHA256':
      // The key alone (PKCS #1 v1.5 is privateEncrypt's default): an options object costs two caught TypeErrors.
      return privateEncrypt(key, Buffer.concat([SHA256_DIGEST_INFO, digest]));
    case 'RSA_SIGN_PSS_2048_SHA256':
      return rsaPssSignDigest(key, digest);
    default:
      throw new KmsError('ERR_KMS_WRONG_PURPOSE', `Algorithm ${algorithm} does not sign.`);
  }
}

/** DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const P384_ORDER = BigInt(
  '0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
);

/**
 * ECDSA over a given digest (SEC 1 §4.1.3). node:crypto only signs messages it hashes itself, so the
 * nonce point k·G comes from OpenSSL's ECDH (a native scalar multiplication) and the rest is modular
 * arithmetic on the group order, blinded (below) because BigInt operations are not constant-time.
 */
function signEcdsaDigest(key: KeyObject, curve: string, order: bigint, digest: Buffer): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const d = toBigInt(Buffer.from(jwk.d as string, 'base64url'));
  const orderBytes = (order.toString(16).length + 1) >> 1;
  // Leftmost bits of the digest, as many as the order has (both curves here have byte-aligned orders).
  const z = toBigInt(digest.subarray(0, orderBytes));
  for (;;) {
    const k = (toBigInt(randomBytes(orderBytes + 8)) % (order - 1n)) + 1n;
    const ecdh = createECDH(curve);
    ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(orderBytes * 2, '0'), 'hex'));
    const point = ecdh.getPublicKey();
    const r = toBigInt(point.subarray(1, 1 + orderBytes)) % order;
    if (r === 0n) continue;
    // BigInt arithmetic is not constant-time, so the secret values are blinded by a fresh random b:
    // s = (k·b)⁻¹ · (b·z + r·(b·d)) = k⁻¹ · (z + r·d) mod n, and the inversion and products only ever
    // see values that are uniformly random and independent of k and d.
    const b = (toBigInt(randomBytes(orderBytes + 8)) % (order - 1n)) + 1n;
    const kb = (k * b) % order;
    const bd = (b * d) % order;
    const s = (modInverse(kb, order) * (((b * z) % order) + ((r * bd) % order))) % order;
    if (s === 0n) continue;
    // r‖s at the order's size, as the DER ECDSA-Sig-Value every verifier reads.
    const digits = orderBytes * 2;
    return ecdsaP1363ToDer(
      Buffer.from(r.toString(16).padStart(digits, '0') + s.toString(16).padStart(digits, '0'), 'hex'),
    );
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1-SHA-256 and a 32-byte salt, then the raw RSA operation. */
function rsaPssSignDigest(key: KeyObject, digest: Buffer): Buffer {
  const hLen = 32;
  const modBits = key.asymmetricKeyDetails?.modulusLength ?? 2048;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(hLen);
  const h = createHash('sha256')
    .update(Buffer.concat([Buffer.alloc(8), digest, salt]))
    .digest();
  const db = Buffer.concat([Buffer.alloc(emLen - hLen - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const em = Buffer.concat([db, h, Buffer.from([0xbc])]);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
}

function mgf1(seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  for (let counter = 0; total < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter, 0);
    const block = createHash('sha256').update(seed).update(c).digest();
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RSAES-OAEP with SHA-256 and MGF1-SHA-256, no label, as RSA_DECRYPT_OAEP_2048_SHA256 specifies. */
export function decryptOaep(material: Buffer, ciphertext: Uint8Array): Buffer {
  try {
    return privateDecrypt(
      { key: privateKeyOf(material), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      ciphertext,
    );
  } catch (cause) {
    throw badCiphertext(cause);
  }
}
