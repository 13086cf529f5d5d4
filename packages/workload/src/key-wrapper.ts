// Wraps and unwraps data keys with a KMS key through the official client, and caches unwrapped keys.
import { createHash } from 'node:crypto';
import { crc32c } from '@sealroom/core';
import { WorkloadError } from './errors.ts';

/** The two methods of `KeyManagementServiceClient` the wrapper calls (structural, so fakes fit in tests). */
export interface KmsCryptoClient {
  encrypt(request: {
    name: string;
    plaintext: Uint8Array;
    additionalAuthenticatedData?: Uint8Array;
    plaintextCrc32c?: { value: number };
  }): Promise<[{ ciphertext?: Uint8Array | string | null; verifiedPlaintextCrc32c?: boolean | null }, ...unknown[]]>;
  decrypt(request: {
    name: string;
    ciphertext: Uint8Array;
    additionalAuthenticatedData?: Uint8Array;
    ciphertextCrc32c?: { value: number };
  }): Promise<[{ plaintext?: Uint8Array | string | null; plaintextCrc32c?: { value?: unknown } | null }, ...unknown[]]>;
}

export interface KeyWrapper {
  wrap(dataKey: Uint8Array, aad?: Uint8Array): Promise<Buffer>;
  unwrap(wrapped: Uint8Array, aad?: Uint8Array): Promise<Buffer>;
}

/**
 * A KMS symmetric key used as key-encryption key; CRC32Cs are sent and checked both ways. The client is
 * the unmodified `@google-cloud/kms` client, authenticated as the workload's federated identity.
 *
 * @example
 * ```ts
 * const authClient = createExternalAccountClient(buildExternalAccountCredentials({ audience, tokenUrl }));
 * const kms = new KeyManagementServiceClient(kmsClientOptions({ endpoint: { restUrl: api }, authClient }) as never);
 * const key = createKmsKeyWrapper(kms as never, 'projects/collab1/locations/global/keyRings/kr1/cryptoKeys/key1');
 * const dataKey = createDataKey();
 * const wrapped = await key.wrap(dataKey); // store beside the data; only the attested workload can unwrap it
 * const sealed = encryptWithDataKey(dataKey, plaintext, aad);
 * const opened = decryptWithDataKey(await key.unwrap(wrapped), sealed, aad);
 * ```
 */
export function createKmsKeyWrapper(client: KmsCryptoClient, keyName: string): KeyWrapper {
  return {
    async wrap(dataKey, aad) {
      const [response] = await client.encrypt({
        name: keyName,
        plaintext: dataKey,
        plaintextCrc32c: { value: crc32c(dataKey) },
        ...(aad === undefined ? {} : { additionalAuthenticatedData: aad }),
      });
      if (response.verifiedPlaintextCrc32c === false) {
        throw new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', 'KMS did not verify the plaintext checksum');
      }
      return toBuffer(response.ciphertext);
    },
    async unwrap(wrapped, aad) {
      const [response] = await client.decrypt({
        name: keyName,
        ciphertext: wrapped,
        ciphertextCrc32c: { value: crc32c(wrapped) },
        ...(aad === undefined ? {} : { additionalAuthenticatedData: aad }),
      });
      const plaintext = toBuffer(response.plaintext);
      const expected = response.plaintextCrc32c?.value;
      if (expected !== undefined && expected !== null && Number(expected) !== crc32c(plaintext)) {
        throw new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', 'the plaintext checksum from KMS does not match');
      }
      return plaintext;
    },
  };
}

export interface DataKeyCacheOptions {
  readonly unwrap: (wrapped: Uint8Array) => Promise<Buffer>;
  /** Oldest entries are dropped beyond this many keys. */
  readonly maxEntries?: number;
}

export interface DataKeyCache {
  /** The unwrapped key; concurrent callers for one wrapped key share one KMS call. */
  get(wrapped: Uint8Array): Promise<Buffer>;
  readonly size: number;
}

/** Unwrap once per batch: keyed by the SHA-256 of the wrapped key; failures are not cached. */
export function createDataKeyCache(options: DataKeyCacheOptions): DataKeyCache {
  const maxEntries = options.maxEntries ?? 1024;
  const entries = new Map<string, Promise<Buffer>>();
  return {
    get(wrapped) {
      const id = createHash('sha256').update(wrapped).digest('base64');
      const hit = entries.get(id);
      if (hit) return hit;
      const pending = options.unwrap(wrapped);
      entries.set(id, pending);
      pending.catch(() => entries.delete(id));
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      return pending;
    },
    get size() {
      return entries.size;
    },
  };
}

function toBuffer(value: Uint8Array | string | null | undefined): Buffer {
  if (value === null || value === undefined) {
    throw new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', 'KMS returned no bytes');
  }
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}
