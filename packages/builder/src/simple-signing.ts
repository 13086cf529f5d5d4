// cosign simple-signing payloads (sigstore `payload.go`) and the Confidential Space check of one
// `{payload, signature}` pair (`confidential-space:server/signedcontainer/verify.go`), in the same order.
import { constants, verify } from 'node:crypto';
import { verifyEcdsaDer, verifyRsaPkcs1 } from '@sealroom/core';
import { BuilderError } from './errors.ts';
import {
  decodePublicKeyPem,
  decodeRawStdBase64,
  decodeStdBase64,
  type PublicKeyInfo,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
  toRawStdBase64,
} from './keys.ts';

export const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';
export const PUB_ANNOTATION = 'dev.cosignproject.cosign/pub';
export const SIGALG_ANNOTATION = 'dev.cosignproject.cosign/sigalg';

export interface SimpleSigningPayload {
  readonly dockerReference: string;
  readonly manifestDigest: string;
  readonly type: string;
  readonly optional: Readonly<Record<string, unknown>> | null;
}

/** Go `json.Marshal` string escaping (it escapes `<`, `>`, `&`, U+2028 and U+2029), for byte-identical payloads. */
function toGoJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The payload cosign writes: keys in Go struct order, `optional` sorted (Go map order), `null` when empty.
 * With a public key, `optional` names it and the algorithm so Confidential Space can verify it.
 */
export function buildSimpleSigningPayload(options: {
  readonly dockerReference: string;
  readonly manifestDigest: string;
  readonly optional?: Readonly<Record<string, string>>;
}): Buffer {
  const optional = options.optional ?? {};
  const keys = Object.keys(optional).sort();
  const optionalJson =
    keys.length === 0
      ? 'null'
      : `{${keys.map((k) => `${toGoJsonString(k)}:${toGoJsonString(optional[k] as string)}`).join(',')}}`;
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${toGoJsonString(options.dockerReference)}},` +
      `"image":{"docker-manifest-digest":${toGoJsonString(options.manifestDigest)}},` +
      `"type":${toGoJsonString(COSIGN_PAYLOAD_TYPE)}},"optional":${optionalJson}}`,
  );
}

/** `optional` entries that make a payload verifiable by Confidential Space. */
export function toCsOptional(publicKeyPem: string, algorithm: SignatureAlgorithm): Record<string, string> {
  return { [PUB_ANNOTATION]: toRawStdBase64(publicKeyPem), [SIGALG_ANNOTATION]: algorithm };
}

export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  let json: {
    critical?: {
      identity?: { 'docker-reference'?: unknown };
      image?: { 'docker-manifest-digest'?: unknown };
      type?: unknown;
    };
    optional?: unknown;
  };
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_BAD_PAYLOAD', 'signature payload is not JSON', { cause });
  }
  if (typeof json !== 'object' || json === null || json.critical?.type !== COSIGN_PAYLOAD_TYPE) {
    throw new BuilderError('ERR_BUILDER_BAD_PAYLOAD', 'unknown critical type for Cosign signature payload');
  }
  const ref = json.critical.identity?.['docker-reference'];
  const digest = json.critical.image?.['docker-manifest-digest'];
  const optional = json.optional;
  return {
    dockerReference: typeof ref === 'string' ? ref : '',
    manifestDigest: typeof digest === 'string' ? digest : '',
    type: COSIGN_PAYLOAD_TYPE,
    optional:
      typeof optional === 'object' && optional !== null && !Array.isArray(optional)
        ? (optional as Record<string, unknown>)
        : null,
  };
}

/** Raw signature check over the exact payload bytes; PSS accepts any salt length (Tink's PSSSaltLengthAuto). */
export function verifyRawSignature(
  key: PublicKeyInfo,
  algorithm: SignatureAlgorithm,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  const type = key.key.asymmetricKeyType;
  try {
    if (algorithm === 'ECDSA_P256_SHA256') {
      if (type !== 'ec' || key.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
      return verifyEcdsaDer('sha256', payload, key.key, signature);
    }
    if (type !== 'rsa' || (key.key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
    if (algorithm === 'RSASSA_PKCS1V15_SHA256') {
      // CS builds the PKCS#1 v1.5 key with e fixed at 65537 (convert.go): any other exponent cannot verify.
      if (key.key.asymmetricKeyDetails?.publicExponent !== 65537n) return false;
      return verifyRsaPkcs1('sha256', payload, key.key, signature);
    }
    return verify(
      'sha256',
      payload,
      { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
      signature,
    );
  } catch {
    return false;
  }
}

export interface VerifiedSignature {
  readonly key_id: string;
  readonly signature: string;
  readonly signature_algorithm: SignatureAlgorithm;
}

/**
 * Confidential Space's `verifySignature`: parse and check type, key from `optional` pub, algorithm from
 * `optional` sigalg, digest binding, then the signature. Returns the claim `image_signatures[]` carries.
 */
export function verifyCsSignature(
  payload: Uint8Array,
  signatureBase64: string,
  imageDigest: string,
): VerifiedSignature {
  const parsed = parseSimpleSigningPayload(payload);
  const pub = parsed.optional?.[PUB_ANNOTATION];
  if (typeof pub !== 'string' || pub === '') {
    throw new BuilderError('ERR_BUILDER_BAD_PUBLIC_KEY', 'public key not found in the Optional field of payload');
  }
  const key = decodePublicKeyPem(decodeRawStdBase64(pub));
  const algorithm = parsed.optional?.[SIGALG_ANNOTATION];
  if (typeof algorithm !== 'string' || !SIGNATURE_ALGORITHMS.includes(algorithm as SignatureAlgorithm)) {
    throw new BuilderError(
      'ERR_BUILDER_UNSUPPORTED_ALGORITHM',
      'unsupported or missing signing algorithm in the Optional field of payload',
    );
  }
  if (parsed.manifestDigest !== imageDigest) {
    throw new BuilderError(
      'ERR_BUILDER_DIGEST_MISMATCH',
      'payload docker manifest digest does not match the running workload image digest',
    );
  }
  const signature = decodeStdBase64(signatureBase64, 'signature');
  if (!verifyRawSignature(key, algorithm as SignatureAlgorithm, payload, signature)) {
    throw new BuilderError(
      'ERR_BUILDER_BAD_SIGNATURE',
      `failed to verify signature: invalid signature (key_id ${key.keyId})`,
    );
  }
  return {
    key_id: key.keyId,
    signature: signature.toString('base64'),
    signature_algorithm: algorithm as SignatureAlgorithm,
  };
}
