// Public keys as Confidential Space reads them: one PEM block, key_id = hex SHA-256 of the block's DER
// (Confidential Space's `ComputeKeyID`), `optional` pub values as unpadded standard base64 of the PEM text.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { BuilderError } from './errors.ts';

export type SignatureAlgorithm = 'ECDSA_P256_SHA256' | 'RSASSA_PSS_SHA256' | 'RSASSA_PKCS1V15_SHA256';
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = [
  'ECDSA_P256_SHA256',
  'RSASSA_PSS_SHA256',
  'RSASSA_PKCS1V15_SHA256',
];

export interface PublicKeyInfo {
  readonly pem: string;
  readonly der: Buffer;
  readonly blockType: 'PUBLIC KEY' | 'RSA PUBLIC KEY';
  readonly keyId: string;
  readonly key: KeyObject;
}

const PEM_BLOCK = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)\r?\n?-----END \1-----(\r?\n)?/;

/** Go `pem.Decode` semantics: text before the block is skipped; anything after it is an error (CS rejects it). */
export function decodePublicKeyPem(pem: string | Buffer): PublicKeyInfo {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const begin = text.indexOf('-----BEGIN ');
  const match = begin < 0 ? null : PEM_BLOCK.exec(text.slice(begin));
  if (!match || match[1] === undefined || match[2] === undefined) {
    throw new BuilderError('ERR_BUILDER_BAD_PUBLIC_KEY', 'could not decode public key bytes as PEM');
  }
  if (begin + match[0].length !== text.length) {
    throw new BuilderError('ERR_BUILDER_BAD_PUBLIC_KEY', 'unexpected trailing data in key file');
  }
  const blockType = match[1];
  if (blockType !== 'PUBLIC KEY' && blockType !== 'RSA PUBLIC KEY') {
    throw new BuilderError('ERR_BUILDER_BAD_PUBLIC_KEY', `unsupported PEM block type '${blockType}'`);
  }
  const der = Buffer.from(match[2].replace(/\s+/g, ''), 'base64');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: blockType === 'PUBLIC KEY' ? 'spki' : 'pkcs1' });
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_BAD_PUBLIC_KEY', 'could not parse the public key in the PEM block', { cause });
  }
  return { pem: text, der, blockType, keyId: createHash('sha256').update(der).digest('hex'), key };
}

export function computeKeyId(pem: string | Buffer): string {
  return decodePublicKeyPem(pem).keyId;
}

/** Go `base64.RawStdEncoding`: no padding allowed (Node's decoder would silently accept `=`). */
export function decodeRawStdBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) {
    throw new BuilderError('ERR_BUILDER_BAD_PUBLIC_KEY', 'failed to decode public key string as base64');
  }
  return Buffer.from(text, 'base64');
}

export function toRawStdBase64(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Go `base64.StdEncoding` (padded), as the signature annotation carries it. */
export function decodeStdBase64(text: string, what: string): Buffer {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new BuilderError('ERR_BUILDER_BAD_SIGNATURE', `${what} is not valid standard base64`);
  }
  return Buffer.from(text, 'base64');
}

/** The algorithms a key can verify: P-256 → ECDSA; RSA ≥ 2048 bits with e = 65537 → both RSA paddings (Tink's limits). */
export function algorithmsForKey(key: KeyObject): SignatureAlgorithm[] {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return ['ECDSA_P256_SHA256'];
  if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048 && details?.publicExponent === 65537n) {
    return ['RSASSA_PKCS1V15_SHA256', 'RSASSA_PSS_SHA256'];
  }
  return [];
}
