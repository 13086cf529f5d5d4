// DSSE envelopes (secure-systems-lab/dsse protocol.md): sign and verify over PAE(type, body).
import { BuilderError } from './errors.ts';
import { algorithmsForKey, decodeStdBase64 } from './keys.ts';
import type { TrustedKey } from './sign.ts';
import type { Signer } from './signer.ts';
import { verifyRawSignature } from './simple-signing.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseEnvelope {
  readonly payloadType: string;
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths as ASCII decimal byte counts. */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/** cosign leaves `keyid` empty for key-based attestations; we do the same so its verifier agrees. */
export async function signDsse(
  payloadType: string,
  body: Uint8Array,
  signers: readonly Signer[],
): Promise<DsseEnvelope> {
  const pae = preAuthEncoding(payloadType, body);
  const signatures = [];
  for (const signer of signers) signatures.push({ keyid: '', sig: (await signer.sign(pae)).toString('base64') });
  return { payloadType, payload: Buffer.from(body).toString('base64'), signatures };
}

export function parseDsseEnvelope(bytes: Uint8Array): DsseEnvelope {
  let json: Partial<DsseEnvelope>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_BAD_ENVELOPE', 'DSSE envelope is not JSON', { cause });
  }
  if (typeof json.payloadType !== 'string' || typeof json.payload !== 'string' || !Array.isArray(json.signatures)) {
    throw new BuilderError('ERR_BUILDER_BAD_ENVELOPE', 'DSSE envelope lacks payloadType, payload or signatures');
  }
  return json as DsseEnvelope;
}

/** Returns the body and the key_ids of trusted keys whose signature verifies; throws if none does. */
export function verifyDsse(envelope: DsseEnvelope, keys: readonly TrustedKey[]): { body: Buffer; keyIds: string[] } {
  const body = decodeStdBase64(envelope.payload, 'DSSE payload');
  const pae = preAuthEncoding(envelope.payloadType, body);
  const keyIds = new Set<string>();
  for (const signature of envelope.signatures) {
    let sig: Buffer;
    try {
      sig = decodeStdBase64(signature.sig, 'DSSE signature');
    } catch {
      continue;
    }
    for (const key of keys) {
      if (algorithmsForKey(key.info.key).some((a) => verifyRawSignature(key.info, a, pae, sig)))
        keyIds.add(key.info.keyId);
    }
  }
  if (keyIds.size === 0)
    throw new BuilderError('ERR_BUILDER_BAD_ENVELOPE', 'no DSSE signature verifies with a trusted key');
  return { body, keyIds: [...keyIds].sort() };
}
