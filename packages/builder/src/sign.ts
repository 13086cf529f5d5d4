// Signing an image digest the cosign way, and verifying signatures against trusted keys with k-of-n.
import { computeDigest, type Descriptor } from '@sealroom/formats';
import { BuilderError } from './errors.ts';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SignatureLayer,
  toSignatureLayer,
} from './cosign-manifest.ts';
import { algorithmsForKey, decodePublicKeyPem, decodeStdBase64, type PublicKeyInfo } from './keys.ts';
import type { Signer } from './signer.ts';
import {
  buildSimpleSigningPayload,
  parseSimpleSigningPayload,
  SIGALG_ANNOTATION,
  toCsOptional,
  verifyRawSignature,
} from './simple-signing.ts';

export interface SignImageOptions {
  /** The repository without tag or digest (`docker-reference`; verifiers ignore it). */
  readonly dockerReference: string;
  readonly imageDigest: string;
  readonly signer: Signer;
  /** Extra `-a key=value` annotations for `optional`. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** One `.sig` layer: payload with `optional.{pub,sigalg}` (so Confidential Space accepts it) and its signature. */
export async function signImage(options: SignImageOptions): Promise<SignatureLayer> {
  const payload = buildSimpleSigningPayload({
    dockerReference: options.dockerReference,
    manifestDigest: options.imageDigest,
    optional: { ...options.annotations, ...toCsOptional(options.signer.publicKeyPem, options.signer.algorithm) },
  });
  const signature = await options.signer.sign(payload);
  return toSignatureLayer(payload, SIMPLE_SIGNING_MEDIA_TYPE, { [SIGNATURE_ANNOTATION]: signature.toString('base64') });
}

export interface TrustedKey {
  readonly info: PublicKeyInfo;
}

export function toTrustedKey(pem: string | Buffer): TrustedKey {
  return { info: decodePublicKeyPem(pem) };
}

export interface SignatureCheck {
  readonly layerDigest: string;
  readonly keyId?: string;
  readonly ok: boolean;
  readonly reason?: string;
}

export interface ImageVerification {
  readonly digest: string;
  /** key_ids of trusted keys with at least one valid signature, sorted. */
  readonly signedBy: readonly string[];
  readonly threshold: number;
  readonly checks: readonly SignatureCheck[];
}

export interface VerifyImageOptions {
  readonly imageDigest: string;
  readonly layers: readonly { readonly descriptor: Descriptor; readonly payload: Uint8Array }[];
  readonly keys: readonly TrustedKey[];
  /** How many distinct trusted keys must have signed; defaults to all of them. */
  readonly threshold?: number;
}

/**
 * `cosign verify --key` per trusted key, extended to k-of-n: a layer counts for a key when its blob
 * hashes to the descriptor, its payload binds `imageDigest`, and its signature verifies with that key.
 */
export function verifyImageSignatures(options: VerifyImageOptions): ImageVerification {
  const threshold = options.threshold ?? options.keys.length;
  if (threshold < 1 || threshold > options.keys.length) {
    throw new BuilderError(
      'ERR_BUILDER_CONFIG',
      `Threshold ${threshold} must be between 1 and the ${options.keys.length} trusted keys.`,
    );
  }
  const signedBy = new Set<string>();
  const checks: SignatureCheck[] = [];
  for (const layer of options.layers) {
    const check = checkLayer(layer, options.imageDigest, options.keys);
    checks.push(check);
    if (check.ok && check.keyId) signedBy.add(check.keyId);
  }
  const result = { digest: options.imageDigest, signedBy: [...signedBy].sort(), threshold, checks };
  if (signedBy.size < threshold) {
    const reasons = [...new Set(checks.filter((c) => !c.ok).map((c) => c.reason))].join('; ');
    throw new BuilderError(
      'ERR_BUILDER_THRESHOLD_NOT_MET',
      `${signedBy.size} of the required ${threshold} trusted keys signed ${options.imageDigest}` +
        (reasons ? ` (${reasons})` : '') +
        '.',
    );
  }
  return result;
}

function checkLayer(
  layer: { readonly descriptor: Descriptor; readonly payload: Uint8Array },
  imageDigest: string,
  keys: readonly TrustedKey[],
): SignatureCheck {
  const layerDigest = layer.descriptor.digest;
  if (computeDigest(layer.payload) !== layerDigest)
    return { layerDigest, ok: false, reason: 'payload does not match its layer digest' };
  let parsed: ReturnType<typeof parseSimpleSigningPayload>;
  try {
    parsed = parseSimpleSigningPayload(layer.payload);
  } catch (error) {
    return { layerDigest, ok: false, reason: (error as Error).message };
  }
  if (parsed.manifestDigest !== imageDigest)
    return {
      layerDigest,
      ok: false,
      reason: `signature is over another digest (${parsed.manifestDigest.slice(0, 19)}…)`,
    };
  const annotation = layer.descriptor.annotations?.[SIGNATURE_ANNOTATION];
  let signature: Buffer;
  try {
    signature = decodeStdBase64(annotation ?? '', 'signature annotation');
  } catch (error) {
    return { layerDigest, ok: false, reason: (error as Error).message };
  }
  if (signature.length === 0) return { layerDigest, ok: false, reason: 'signature annotation is empty' };
  const declared = parsed.optional?.[SIGALG_ANNOTATION];
  for (const key of keys) {
    const algorithms = algorithmsForKey(key.info.key).filter((a) => typeof declared !== 'string' || a === declared);
    if (algorithms.some((a) => verifyRawSignature(key.info, a, layer.payload, signature))) {
      return { layerDigest, keyId: key.info.keyId, ok: true };
    }
  }
  return { layerDigest, ok: false, reason: 'signature does not verify with any trusted key' };
}
