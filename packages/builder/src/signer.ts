// Signers: a private key file (PKCS#8 PEM) or any callback (e.g. a KMS asymmetricSign), one interface.
import { createPrivateKey, createPublicKey, type KeyObject, constants, sign } from 'node:crypto';
import { BuilderError } from './errors.ts';
import { algorithmsForKey, computeKeyId, type SignatureAlgorithm } from './keys.ts';

export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /** PKIX `PUBLIC KEY` PEM of the verifying key. */
  readonly publicKeyPem: string;
  readonly keyId: string;
  /** Signs the bytes with SHA-256 (ECDSA signatures ASN.1 DER, as CS/Tink require). */
  sign(data: Uint8Array): Promise<Buffer>;
}

/** Signs with a local private key. RSA defaults to PKCS#1 v1.5 (cosign's choice); PSS uses a 32-byte salt. */
export function createKeySigner(privateKey: KeyObject | string | Buffer, algorithm?: SignatureAlgorithm): Signer {
  let key: KeyObject;
  try {
    key =
      typeof privateKey === 'object' && 'type' in privateKey && !Buffer.isBuffer(privateKey)
        ? privateKey
        : createPrivateKey(privateKey);
  } catch (cause) {
    throw new BuilderError(
      'ERR_BUILDER_BAD_PUBLIC_KEY',
      'The signing key is not a PEM private key (PKCS#8 or SEC1/PKCS#1).',
      { cause },
    );
  }
  const publicKeyPem = createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
  const supported = algorithmsForKey(createPublicKey(key));
  const chosen = algorithm ?? supported[0];
  if (chosen === undefined || !supported.includes(chosen)) {
    throw new BuilderError(
      'ERR_BUILDER_UNSUPPORTED_ALGORITHM',
      'The signing key is neither P-256 nor RSA ≥ 2048 with e=65537, or does not fit the algorithm.',
    );
  }
  return createCallbackSigner(publicKeyPem, chosen, async (data) =>
    chosen === 'ECDSA_P256_SHA256'
      ? sign('sha256', data, { key, dsaEncoding: 'der' })
      : sign('sha256', data, {
          key,
          padding: chosen === 'RSASSA_PSS_SHA256' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
          ...(chosen === 'RSASSA_PSS_SHA256' ? { saltLength: 32 } : {}),
        }),
  );
}

/** Wraps any signing function (a KMS key's asymmetricSign, an HSM) as a Signer. */
export function createCallbackSigner(
  publicKeyPem: string,
  algorithm: SignatureAlgorithm,
  signFn: (data: Uint8Array) => Promise<Buffer>,
): Signer {
  return { algorithm, publicKeyPem, keyId: computeKeyId(publicKeyPem.trimEnd()), sign: signFn };
}
