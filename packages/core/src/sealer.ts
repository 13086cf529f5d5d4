// Sealing at rest: key material and secrets are stored only as AES-256-GCM envelopes under a root key.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { pooledRandomBytes } from './random.ts';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CoreError } from './errors.ts';

/** Seals and opens byte strings; `context` binds a blob to its purpose and owner (it is the GCM AAD). */
export interface Sealer {
  /** Identifies the root key without revealing it: hex SHA-256 of a label and the key. */
  readonly rootKeyId: string;
  seal(plaintext: Uint8Array, context: string): Buffer;
  open(sealed: Uint8Array, context: string): Buffer;
  /** HMAC-SHA256 of `data` under a subkey of the root key derived for `label` (tamper evidence). */
  mac(data: Uint8Array, label: string): Buffer;
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ROOT_KEY_BYTES = 32;

/** A sealer over a raw 32-byte root key (tests, and the file-backed root key below). */
export function createSealer(rootKey: Uint8Array): Sealer {
  if (rootKey.byteLength !== ROOT_KEY_BYTES) {
    throw new CoreError('ERR_CONFIG', `The root key must be ${ROOT_KEY_BYTES} bytes.`);
  }
  const raw = Buffer.from(rootKey);
  const rootKeyId = createHash('sha256').update('sealroom-root-key-id\0').update(raw).digest('hex');
  // Key objects, imported once: handing raw bytes to every cipher or HMAC re-imports them each call.
  const key = createSecretKey(raw);
  raw.fill(0);
  const macKeys = new Map<string, KeyObject>();
  return {
    rootKeyId,
    mac(data, label) {
      let macKey = macKeys.get(label);
      if (!macKey) {
        macKey = createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `sealroom-mac\0${label}`, 32)));
        macKeys.set(label, macKey);
      }
      return createHmac('sha256', macKey).update(data).digest();
    },
    seal(plaintext, context) {
      const iv = pooledRandomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
    },
    open(sealed, context) {
      const blob = Buffer.from(sealed);
      if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== VERSION) {
        throw new CoreError('ERR_SEALED_DATA', 'Sealed data is malformed.');
      }
      const iv = blob.subarray(1, 1 + IV_BYTES);
      const tag = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch (cause) {
        throw new CoreError('ERR_SEALED_DATA', 'Sealed data could not be opened (wrong root key or altered bytes).', {
          cause,
        });
      }
    },
  };
}

/**
 * Loads the root key from `path`, creating it (0600, in a 0700 directory) when absent. Refuses a key
 * file that others can read.
 *
 * @example
 * ```ts
 * const sealer = loadOrCreateRootKey('.sealroom/root.key');
 * // The context binds a sealed value to its place: opened under another context, it fails.
 * const sealed = sealer.seal(keyMaterial, `sealroom/kms/material\0${versionName}`);
 * const material = sealer.open(sealed, `sealroom/kms/material\0${versionName}`);
 * ```
 */
export function loadOrCreateRootKey(path: string): Sealer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(ROOT_KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CoreError(
      'ERR_CONFIG',
      `The root key file must not be readable by group or others (mode ${mode.toString(8)}).`,
    );
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  return createSealer(key);
}
