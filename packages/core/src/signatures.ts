// Signature checks that hand node:crypto the key object itself. Node 24 tells a key object from a plain object
// (`{ key, dsaEncoding }`, `{ key, padding }`) by native brand checks that throw, and catches what they throw:
// two TypeErrors, each with a stack trace, per call — here 35–70 µs, more than an RSA-2048 verification itself.
// ECDSA with the key alone reads DER, so a fixed-size r‖s signature is re-encoded first; RSA with the key alone
// is PKCS #1 v1.5, as RS256 and RSASSA are.
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { CoreError } from './errors.ts';

/** Bytes of r and of s in an IEEE P1363 signature, per named curve (Node's and OpenSSL's names). */
const CURVE_BYTES: Readonly<Record<string, number>> = {
  prime256v1: 32,
  'P-256': 32,
  secp384r1: 48,
  'P-384': 48,
  secp521r1: 66,
  'P-521': 66,
};

/** A key's curve size, read once per key object (its details are made anew on every read). */
const curveBytes = new WeakMap<KeyObject, number | undefined>();

function curveBytesOf(key: KeyObject): number | undefined {
  if (curveBytes.has(key)) return curveBytes.get(key);
  const namedCurve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const size = namedCurve === undefined ? undefined : CURVE_BYTES[namedCurve];
  curveBytes.set(key, size);
  return size;
}

/** A DER INTEGER of the unsigned big-endian `value`: leading zeros dropped, a zero put back before a high bit. */
function derInteger(value: Uint8Array): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const body = value.subarray(start);
  const pad = (body[0] as number) & 0x80 ? 1 : 0;
  const out = Buffer.allocUnsafe(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  if (pad) out[2] = 0;
  out.set(body, 2 + pad);
  return out;
}

/** `r‖s` (IEEE P1363, both halves of the curve's size) as the DER ECDSA-Sig-Value OpenSSL reads. */
export function ecdsaP1363ToDer(signature: Uint8Array): Buffer {
  const half = signature.length / 2;
  const r = derInteger(signature.subarray(0, half));
  const s = derInteger(signature.subarray(half));
  const length = r.length + s.length;
  // At most 2 × (2 + 1 + 66) = 138 bytes of integers (P-521): one length byte, or 0x81 and one.
  const header = length < 0x80 ? Buffer.from([0x30, length]) : Buffer.from([0x30, 0x81, length]);
  return Buffer.concat([header, r, s]);
}

/**
 * Verifies an ECDSA signature in IEEE P1363 form (`r‖s`, each exactly the curve's size: JOSE's ES256, TPM
 * quotes, SEV-SNP and TDX reports). False for a key that is not EC, a signature of another length, or a bad one.
 */
export function verifyEcdsaP1363(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  const size = curveBytesOf(key);
  if (size === undefined || signature.length !== 2 * size) return false;
  return verify(hash, data, key, ecdsaP1363ToDer(signature));
}

/** Verifies an ECDSA signature in DER form (cosign, simple signing). False for a key that is not EC. */
export function verifyEcdsaDer(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  if (key.asymmetricKeyType !== 'ec') return false;
  return verify(hash, data, key, signature);
}

/** Verifies an RSASSA-PKCS1-v1_5 signature (RS256, TPM RSASSA). False for a key that is not RSA. */
export function verifyRsaPkcs1(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  if (key.asymmetricKeyType !== 'rsa') return false;
  return verify(hash, data, key, signature);
}

/** RSA keys' modulus sizes in bits, read once per key object (0 for a key that is not a public RSA key). */
const rsaBits = new WeakMap<KeyObject, number>();

function rsaBitsOf(key: KeyObject): number {
  let bits = rsaBits.get(key);
  if (bits === undefined) {
    bits =
      key.type === 'public' && key.asymmetricKeyType === 'rsa' ? (key.asymmetricKeyDetails?.modulusLength ?? 0) : 0;
    rsaBits.set(key, bits);
  }
  return bits;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies a compact JWS's RS256 signature: `signature` (its third segment, base64url) over `signingInput`
 * (`header.payload`, as sent), by a public RSA key of 2048 bits or more — what jose's compactVerify checks,
 * without its WebCrypto round trip (~140 µs against ~30 µs). False for a segment that is not base64url or a key
 * that is not such a key. The caller has checked the header's `alg`.
 */
export function verifyRs256(signingInput: string, signature: string, key: KeyObject): boolean {
  if (rsaBitsOf(key) < 2048 || !BASE64URL.test(signature)) return false;
  return verify('sha256', Buffer.from(signingInput), key, Buffer.from(signature, 'base64url'));
}

/** Public keys parsed from PEM, the most recently used kept. */
const PEM_KEYS_KEPT = 1024;
const pemKeys = new Map<string, KeyObject>();

/**
 * The public key of a PEM text (SPKI or a certificate), parsed once while it stays among the most recently used
 * (parsing costs ~17 µs; a service-account key verifies every self-signed JWT its account sends). Throws as
 * `createPublicKey` does; a failure is not kept. Whether the key may still be used is the caller's to ask first.
 */
export function publicKeyFromPem(pem: string): KeyObject {
  let key = pemKeys.get(pem);
  if (key !== undefined) {
    pemKeys.delete(pem);
  } else {
    key = createPublicKey(pem);
    if (pemKeys.size >= PEM_KEYS_KEPT) pemKeys.delete(pemKeys.keys().next().value as string);
  }
  pemKeys.set(pem, key);
  return key;
}

const signOnThreadPool = promisify(sign);

/**
 * An RS256 compact JWS (RFC 7515 §7.1) of `header` (its `alg` set to RS256) and `claims`, signed by an RSA
 * private key on libuv's thread pool: an RSA-2048 signature is ~300 µs of CPU that would otherwise hold the event
 * loop (jose's SignJWT, through WebCrypto, also signs off the loop but costs ~40 µs more of it per token).
 */
export async function signRs256Jwt(header: object, claims: object, privateKey: KeyObject): Promise<string> {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new CoreError('ERR_INTERNAL', 'RS256 needs an RSA private key.');
  }
  const input = `${Buffer.from(JSON.stringify({ ...header, alg: 'RS256' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = await signOnThreadPool('sha256', Buffer.from(input), privateKey);
  return `${input}.${signature.toString('base64url')}`;
}
