// C2SP tlog-cosignature v1: timestamped Ed25519 cosignatures of checkpoints (signature type 0x04).
import { verify } from 'node:crypto';
import { TransparencyError } from './errors.ts';
import {
  type Ed25519NoteKey,
  type NoteSigner,
  type NoteVerifier,
  SIG_TYPE_COSIGNATURE_V1,
  ed25519PublicKeyObject,
  noteKeyId,
  parseSignerKey,
  parseVerifierKeyParts,
} from './note.ts';

const TIMESTAMP_BYTES = 8;
const ED25519_SIGNATURE_BYTES = 64;

/** The signed message: `cosignature/v1`, `time T`, then the whole checkpoint text. */
export function cosignedMessage(timestampSeconds: number, checkpointText: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`cosignature/v1\ntime ${timestampSeconds}\n`, 'utf8'), checkpointText]);
}

/** A witness: its Ed25519 note key, signing as a cosigner with key ID type 0x04. */
export interface Cosigner extends NoteSigner {
  /** `<name>+<keyid>+base64(0x04 || public key)`, what verifiers of its cosignatures configure. */
  readonly verifierKey: string;
}

/** A cosigner from a note signer key string; `now` gives the POSIX seconds each cosignature carries. */
export function createCosigner(signerKey: string | Ed25519NoteKey, now: () => number = Date.now): Cosigner {
  const key = typeof signerKey === 'string' ? parseSignerKey(signerKey) : signerKey;
  const keyId = noteKeyId(key.name, SIG_TYPE_COSIGNATURE_V1, key.publicKey);
  const material = Buffer.concat([Buffer.of(SIG_TYPE_COSIGNATURE_V1), key.publicKey]).toString('base64');
  return {
    name: key.name,
    keyId,
    verifierKey: `${key.name}+${keyId.toString(16).padStart(8, '0')}+${material}`,
    sign(text) {
      const seconds = Math.floor(now() / 1000);
      const stamp = Buffer.alloc(TIMESTAMP_BYTES);
      stamp.writeBigUInt64BE(BigInt(seconds));
      // The note key signs raw bytes: here the cosigned message rather than the checkpoint text itself.
      return Buffer.concat([stamp, key.sign(cosignedMessage(seconds, text))]);
    },
  };
}

/** A verifier of one witness's cosignatures, from its type 0x04 verifier key. */
export interface CosignatureVerifier extends NoteVerifier {
  /** The time of the last cosignature this verifier accepted, in POSIX seconds. */
  timestampOf(signature: Buffer): number;
}

export function parseCosignatureVerifierKey(text: string): CosignatureVerifier {
  const parts = parseVerifierKeyParts(text);
  if (parts.type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_KEY', 'Expected a cosignature/v1 (type 0x04) witness key.');
  }
  const key = ed25519PublicKeyObject(parts.publicKey);
  const timestampOf = (signature: Buffer) => Number(signature.readBigUInt64BE(0));
  return {
    name: parts.name,
    keyId: parts.keyId,
    timestampOf,
    verify(text, signature) {
      if (signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) return false;
      const seconds = signature.readBigUInt64BE(0);
      if (seconds > 2n ** 63n - 1n) return false;
      return verify(null, cosignedMessage(Number(seconds), text), key, signature.subarray(TIMESTAMP_BYTES));
    },
  };
}
