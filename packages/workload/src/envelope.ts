// Envelope encryption: AES-256-GCM data keys, wrapped once per batch by a KMS key, AAD binding each message.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { WorkloadError } from './errors.ts';

export const DATA_KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** A fresh random AES-256 data key. */
export function createDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/**
 * AAD for one contribution: message id and collaborator, each length-prefixed so that no two
 * (id, collaborator) pairs share an encoding.
 */
export function contributionAad(messageId: string, collaborator: string): Buffer {
  const id = Buffer.from(messageId, 'utf8');
  const who = Buffer.from(collaborator, 'utf8');
  const out = Buffer.alloc(8 + id.length + who.length);
  out.writeUInt32BE(id.length, 0);
  id.copy(out, 4);
  out.writeUInt32BE(who.length, 4 + id.length);
  who.copy(out, 8 + id.length);
  return out;
}

/** `iv ‖ ciphertext ‖ tag` under the data key. */
export function encryptWithDataKey(dataKey: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  checkKey(dataKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Opens `iv ‖ ciphertext ‖ tag`; throws ERR_WORKLOAD_ENVELOPE_INVALID on any mismatch. */
export function decryptWithDataKey(dataKey: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  checkKey(dataKey);
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', 'the ciphertext is shorter than IV and tag');
  }
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', 'the ciphertext does not authenticate', { cause });
  }
}

function checkKey(dataKey: Uint8Array): void {
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', `a data key has ${DATA_KEY_BYTES} bytes`);
  }
}
