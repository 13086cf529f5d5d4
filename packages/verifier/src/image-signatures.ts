// Container image signatures (cosign simple signing) checked the way Confidential Space's verifier does
// (GoogleCloudPlatform/confidential-space `server/signedcontainer`; docs/supply-chain.md, "Signatures").
import { createHash, createPublicKey, constants, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { verifyEcdsaDer, verifyRsaPkcs1 } from '@sealroom/core';
import { VerifierError } from './errors.ts';

export const SIGNATURE_ALGORITHMS = ['ECDSA_P256_SHA256', 'RSASSA_PSS_SHA256', 'RSASSA_PKCS1V15_SHA256'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

export interface ImageSignatureInput {
  /** The exact payload bytes that were signed. */
  readonly payload: Uint8Array;
  /** The raw signature bytes. */
  readonly signature: Uint8Array;
}

/** One entry of the `submods.container.image_signatures[]` claim (docs/verifier.md, "The token"). */
export interface VerifiedImageSignature {
  readonly key_id: string;
  readonly signature: string;
  readonly signature_algorithm: SignatureAlgorithm;
}

export const MAX_IMAGE_SIGNATURES = 300;
const COSIGN_TYPE = 'cosign container image signature';
const RAW_STD_BASE64 = /^[A-Za-z0-9+/]*$/;

function refuse(message: string): never {
  throw new VerifierError('ERR_VERIFIER_IMAGE_SIGNATURE', message);
}

function parsePayload(payload: Uint8Array): { digest: string; pub: string; alg: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return refuse('The signature payload is not JSON.');
  }
  const doc = json as {
    critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } };
    optional?: Record<string, unknown> | null;
  };
  if (doc?.critical?.type !== COSIGN_TYPE) refuse('The signature payload is not a cosign container image signature.');
  const digest = doc.critical.image?.['docker-manifest-digest'];
  if (typeof digest !== 'string') refuse('The signature payload names no image digest.');
  const pub = doc.optional?.['dev.cosignproject.cosign/pub'];
  const alg = doc.optional?.['dev.cosignproject.cosign/sigalg'];
  if (typeof pub !== 'string' || typeof alg !== 'string')
    refuse('The signature payload names no public key or algorithm.');
  return { digest, pub, alg };
}

/** The public key of the payload: unpadded standard base64 of a PEM (Go RawStdEncoding; padding is refused). */
function parsePublicKey(pub: string): KeyObject {
  if (!RAW_STD_BASE64.test(pub) || pub.length % 4 === 1) refuse('The payload public key is not unpadded base64.');
  const pem = Buffer.from(pub, 'base64').toString('utf8');
  const match =
    /^-----BEGIN (RSA )?PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (RSA )?PUBLIC KEY-----\r?\n?$/.exec(pem);
  if (match === null) refuse('The payload public key is not one PEM public key.');
  try {
    return createPublicKey(pem);
  } catch {
    return refuse('The payload public key cannot be read.');
  }
}

/** key_id: hex SHA-256 of the key's DER SubjectPublicKeyInfo. */
export function keyIdOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function verifyRaw(alg: SignatureAlgorithm, key: KeyObject, payload: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (alg === 'ECDSA_P256_SHA256') {
      if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
      return verifyEcdsaDer('sha256', payload, key, signature);
    }
    if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
    if (alg === 'RSASSA_PSS_SHA256') {
      return verify(
        'sha256',
        payload,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        signature,
      );
    }
    return verifyRsaPkcs1('sha256', payload, key, signature);
  } catch {
    return false;
  }
}

/** Verifies one signature for the running image; throws ERR_VERIFIER_IMAGE_SIGNATURE with the reason. */
export function verifyImageSignature(input: ImageSignatureInput, imageDigest: string): VerifiedImageSignature {
  const { digest, pub, alg } = parsePayload(input.payload);
  const key = parsePublicKey(pub);
  if (!(SIGNATURE_ALGORITHMS as readonly string[]).includes(alg)) refuse('The payload names an unsupported algorithm.');
  if (digest !== imageDigest) refuse('The signature is for another image digest.');
  if (!verifyRaw(alg as SignatureAlgorithm, key, input.payload, input.signature)) refuse('Invalid signature.');
  return {
    key_id: keyIdOf(key),
    signature: Buffer.from(input.signature).toString('base64'),
    signature_algorithm: alg as SignatureAlgorithm,
  };
}

/** Verifies every signature; failures become partial errors, as the Confidential Space verifier reports them. */
export function verifyImageSignatures(
  inputs: readonly ImageSignatureInput[],
  imageDigest: string,
): { verified: VerifiedImageSignature[]; errors: VerifierError[] } {
  if (inputs.length > MAX_IMAGE_SIGNATURES) {
    throw new VerifierError('ERR_VERIFIER_IMAGE_SIGNATURE', `At most ${MAX_IMAGE_SIGNATURES} image signatures.`);
  }
  const verified: VerifiedImageSignature[] = [];
  const errors: VerifierError[] = [];
  for (const input of inputs) {
    try {
      verified.push(verifyImageSignature(input, imageDigest));
    } catch (error) {
      if (!(error instanceof VerifierError)) throw error;
      errors.push(error);
    }
  }
  return { verified, errors };
}
