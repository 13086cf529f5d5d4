// Cryptographic use of keys: encrypt, decrypt, asymmetric sign and decrypt, public keys; each one audited.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { type Caller, crc32c, invalidArgument } from '@sealroom/core';
import type { KmsAdmin } from './admin.ts';
import { type KmsDeps, audited, guard, materialContext } from './context.ts';
import {
  CIPHERTEXT_OVERHEAD_BYTES,
  DIGEST_OF,
  decryptOaep,
  decryptSymmetric,
  encryptSymmetric,
  hashFor,
  publicPemOf,
  signDigest,
  versionIdOfCiphertext,
} from './crypto.ts';
import type { Algorithm, ProtectionLevel, Purpose } from './enums.ts';
import { KmsError } from './errors.ts';
import { CRYPTO_KEY, CRYPTO_KEY_VERSION } from './names.ts';
import type { CryptoKeyRecord, VersionRecord } from './store.ts';

const SYMMETRIC_KEY_CACHE_LIMIT = 10_000;

/** Cloud KMS's limit on plaintext and additional authenticated data. */
export const MAX_PLAINTEXT_BYTES = 65_536;

export interface EncryptInput {
  readonly plaintext: Buffer;
  readonly additionalAuthenticatedData: Buffer;
  readonly plaintextCrc32c: number | undefined;
  readonly additionalAuthenticatedDataCrc32c: number | undefined;
}

export interface EncryptResult {
  readonly name: string;
  readonly ciphertext: Buffer;
  readonly ciphertextCrc32c: number;
  readonly verifiedPlaintextCrc32c: boolean;
  readonly verifiedAdditionalAuthenticatedDataCrc32c: boolean;
  readonly protectionLevel: ProtectionLevel;
}

export interface DecryptInput {
  readonly ciphertext: Buffer;
  readonly additionalAuthenticatedData: Buffer;
  readonly ciphertextCrc32c: number | undefined;
  readonly additionalAuthenticatedDataCrc32c: number | undefined;
}

export interface DecryptResult {
  readonly plaintext: Buffer;
  readonly plaintextCrc32c: number;
  readonly usedPrimary: boolean;
  readonly protectionLevel: ProtectionLevel;
}

export interface SignInput {
  readonly digest: { readonly hash: 'sha256' | 'sha384' | 'sha512'; readonly bytes: Buffer } | undefined;
  readonly digestCrc32c: number | undefined;
  readonly data: Buffer | undefined;
  readonly dataCrc32c: number | undefined;
}

export interface SignResult {
  readonly name: string;
  readonly signature: Buffer;
  readonly signatureCrc32c: number;
  readonly verifiedDigestCrc32c: boolean;
  readonly verifiedDataCrc32c: boolean;
  readonly protectionLevel: ProtectionLevel;
}

export interface AsymmetricDecryptResult {
  readonly plaintext: Buffer;
  readonly plaintextCrc32c: number;
  readonly verifiedCiphertextCrc32c: boolean;
  readonly protectionLevel: ProtectionLevel;
}

export interface PublicKeyResult {
  readonly name: string;
  readonly pem: string;
  readonly pemCrc32c: number;
  readonly algorithm: Algorithm;
  readonly protectionLevel: ProtectionLevel;
}

/** Checks a client checksum the way Cloud KMS words a mismatch; returns whether one was verified. */
export function verifyChecksum(data: Uint8Array, expected: number | undefined, dataField: string): boolean {
  if (expected === undefined) return false;
  if (crc32c(data) !== expected) {
    throw new KmsError(
      'ERR_KMS_CHECKSUM_MISMATCH',
      `The checksum in field ${dataField}_crc32c did not match the data in field ${dataField}.`,
    );
  }
  return true;
}

function requirePurpose(key: CryptoKeyRecord, purpose: Purpose): void {
  if (key.purpose !== purpose) {
    throw new KmsError(
      'ERR_KMS_WRONG_PURPOSE',
      `${key.name} has purpose ${key.purpose}, but this operation requires ${purpose}.`,
    );
  }
}

function requireEnabled(version: VersionRecord): void {
  if (version.state !== 'ENABLED' || !version.sealedMaterial) {
    throw new KmsError(
      'ERR_KMS_VERSION_NOT_ENABLED',
      `${version.name} is not enabled, current state is: ${version.state}.`,
    );
  }
}

export function createOperations(deps: KmsDeps, admin: KmsAdmin) {
  const openMaterial = (version: VersionRecord): Buffer =>
    deps.sealer.open(version.sealedMaterial as Buffer, materialContext(version.name));

  // Opened symmetric keys by version, with the sealed blob each came from. Unsealing (and importing raw key
  // bytes) on every call cost more than the encryption itself; a version's state is still checked on every
  // call from its record, and every KMS change (a disable, a destroy) drops the opened keys from memory.
  const symmetricKeys = new Map<string, { sealed: Buffer; key: KeyObject }>();
  let seen = deps.store.changes?.generation;
  const symmetricKeyOf = (version: VersionRecord): KeyObject => {
    if (deps.store.changes?.generation !== seen || deps.store.changes === undefined) {
      symmetricKeys.clear();
      seen = deps.store.changes?.generation;
    }
    const sealed = version.sealedMaterial as Buffer;
    const cached = symmetricKeys.get(version.name);
    if (cached && (cached.sealed === sealed || cached.sealed.equals(sealed))) return cached.key;
    const key = createSecretKey(openMaterial(version));
    if (symmetricKeys.size >= SYMMETRIC_KEY_CACHE_LIMIT) symmetricKeys.clear();
    symmetricKeys.set(version.name, { sealed, key });
    return key;
  };

  /** The version a version-level method names, checked to be enabled and of the purpose. */
  async function usableVersion(name: string, purpose: Purpose): Promise<VersionRecord> {
    const version = await admin.loadVersion(name);
    const key = await admin.loadKey(version.parent);
    requirePurpose(key, purpose);
    requireEnabled(version);
    return version;
  }

  return {
    async encrypt(caller: Caller | undefined, name: string, input: EncryptInput): Promise<EncryptResult> {
      const isVersion = CRYPTO_KEY_VERSION.tryParse(name) !== undefined;
      const r = await guard<string>(
        deps,
        caller,
        isVersion ? CRYPTO_KEY_VERSION : CRYPTO_KEY,
        name,
        'cloudkms.cryptoKeyVersions.useToEncrypt',
        'Encrypt',
      );
      return audited(deps, caller, r, 'Encrypt', async () => {
        if (input.plaintext.length > MAX_PLAINTEXT_BYTES) {
          throw new KmsError(
            'ERR_KMS_PLAINTEXT_TOO_LARGE',
            `The plaintext must be at most ${MAX_PLAINTEXT_BYTES} bytes.`,
          );
        }
        if (input.additionalAuthenticatedData.length > MAX_PLAINTEXT_BYTES) {
          throw new KmsError(
            'ERR_KMS_PLAINTEXT_TOO_LARGE',
            `The additional authenticated data must be at most ${MAX_PLAINTEXT_BYTES} bytes.`,
          );
        }
        const verifiedPlaintextCrc32c = verifyChecksum(input.plaintext, input.plaintextCrc32c, 'plaintext');
        const verifiedAdditionalAuthenticatedDataCrc32c = verifyChecksum(
          input.additionalAuthenticatedData,
          input.additionalAuthenticatedDataCrc32c,
          'additional_authenticated_data',
        );
        let version: VersionRecord;
        if (isVersion) {
          version = await usableVersion(r.name, 'ENCRYPT_DECRYPT');
        } else {
          const key = await admin.loadKey(r.name);
          requirePurpose(key, 'ENCRYPT_DECRYPT');
          if (key.primaryVersionId === undefined) {
            throw new KmsError('ERR_KMS_VERSION_NOT_ENABLED', `${key.name} has no primary version.`);
          }
          version = await admin.loadVersion(`${key.name}/cryptoKeyVersions/${key.primaryVersionId}`);
          requireEnabled(version);
        }
        const ciphertext = encryptSymmetric(
          symmetricKeyOf(version),
          version.versionId,
          input.plaintext,
          input.additionalAuthenticatedData,
        );
        return {
          result: {
            name: version.name,
            ciphertext,
            ciphertextCrc32c: crc32c(ciphertext),
            verifiedPlaintextCrc32c,
            verifiedAdditionalAuthenticatedDataCrc32c,
            protectionLevel: version.protectionLevel,
          },
          details: { cryptoKeyVersion: version.name },
        };
      });
    },

    async decrypt(caller: Caller | undefined, name: string, input: DecryptInput): Promise<DecryptResult> {
      const r = await guard(deps, caller, CRYPTO_KEY, name, 'cloudkms.cryptoKeyVersions.useToDecrypt', 'Decrypt');
      return audited(deps, caller, r, 'Decrypt', async () => {
        verifyChecksum(input.ciphertext, input.ciphertextCrc32c, 'ciphertext');
        verifyChecksum(
          input.additionalAuthenticatedData,
          input.additionalAuthenticatedDataCrc32c,
          'additional_authenticated_data',
        );
        const key = await admin.loadKey(r.name);
        requirePurpose(key, 'ENCRYPT_DECRYPT');
        if (input.ciphertext.length > MAX_PLAINTEXT_BYTES + CIPHERTEXT_OVERHEAD_BYTES) {
          throw invalidArgument('The ciphertext is too large.');
        }
        const versionId = versionIdOfCiphertext(input.ciphertext);
        const version = await deps.store.getVersion(`${key.name}/cryptoKeyVersions/${versionId}`);
        if (!version) {
          // A well-formed ciphertext of another key: the same answer as any other bad ciphertext.
          versionIdOfCiphertext(Buffer.alloc(0));
        }
        const found = version as VersionRecord;
        requireEnabled(found);
        const plaintext = decryptSymmetric(symmetricKeyOf(found), input.ciphertext, input.additionalAuthenticatedData);
        return {
          result: {
            plaintext,
            plaintextCrc32c: crc32c(plaintext),
            usedPrimary: key.primaryVersionId === found.versionId,
            protectionLevel: found.protectionLevel,
          },
          details: { cryptoKeyVersion: found.name },
        };
      });
    },

    async asymmetricSign(caller: Caller | undefined, name: string, input: SignInput): Promise<SignResult> {
      const r = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.useToSign',
        'AsymmetricSign',
      );
      return audited(deps, caller, r, 'AsymmetricSign', async () => {
        const version = await usableVersion(r.name, 'ASYMMETRIC_SIGN');
        const hash = DIGEST_OF[version.algorithm];
        let digest: Buffer;
        let verifiedDigestCrc32c = false;
        let verifiedDataCrc32c = false;
        if (input.digest && input.data) {
          throw invalidArgument('Only one of digest and data may be given.');
        }
        if (input.digest) {
          verifiedDigestCrc32c = verifyChecksum(input.digest.bytes, input.digestCrc32c, 'digest');
          const expectedLength = hash === 'sha384' ? 48 : 32;
          if (input.digest.hash !== hash || input.digest.bytes.length !== expectedLength) {
            throw new KmsError(
              'ERR_KMS_BAD_DIGEST',
              `The digest must be a ${hash?.toUpperCase()} digest of ${expectedLength} bytes for algorithm ${version.algorithm}.`,
            );
          }
          digest = input.digest.bytes;
        } else if (input.data) {
          verifiedDataCrc32c = verifyChecksum(input.data, input.dataCrc32c, 'data');
          if (input.data.length > MAX_PLAINTEXT_BYTES) {
            throw new KmsError('ERR_KMS_PLAINTEXT_TOO_LARGE', `The data must be at most ${MAX_PLAINTEXT_BYTES} bytes.`);
          }
          digest = hashFor(version.algorithm, input.data);
        } else {
          throw new KmsError('ERR_KMS_BAD_DIGEST', 'The field digest is required.');
        }
        const signature = signDigest(version.algorithm, openMaterial(version), digest);
        return {
          result: {
            name: version.name,
            signature,
            signatureCrc32c: crc32c(signature),
            verifiedDigestCrc32c,
            verifiedDataCrc32c,
            protectionLevel: version.protectionLevel,
          },
          details: { cryptoKeyVersion: version.name },
        };
      });
    },

    async asymmetricDecrypt(
      caller: Caller | undefined,
      name: string,
      input: { ciphertext: Buffer; ciphertextCrc32c: number | undefined },
    ): Promise<AsymmetricDecryptResult> {
      const r = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.useToDecrypt',
        'AsymmetricDecrypt',
      );
      return audited(deps, caller, r, 'AsymmetricDecrypt', async () => {
        const verifiedCiphertextCrc32c = verifyChecksum(input.ciphertext, input.ciphertextCrc32c, 'ciphertext');
        const version = await usableVersion(r.name, 'ASYMMETRIC_DECRYPT');
        const plaintext = decryptOaep(openMaterial(version), input.ciphertext);
        return {
          result: {
            plaintext,
            plaintextCrc32c: crc32c(plaintext),
            verifiedCiphertextCrc32c,
            protectionLevel: version.protectionLevel,
          },
          details: { cryptoKeyVersion: version.name },
        };
      });
    },

    async getPublicKey(caller: Caller | undefined, name: string): Promise<PublicKeyResult> {
      const r = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.viewPublicKey',
        'GetPublicKey',
      );
      return audited(deps, caller, r, 'GetPublicKey', async () => {
        const version = await admin.loadVersion(r.name);
        const key = await admin.loadKey(version.parent);
        if (key.purpose === 'ENCRYPT_DECRYPT') {
          throw new KmsError(
            'ERR_KMS_WRONG_PURPOSE',
            `${key.name} has purpose ENCRYPT_DECRYPT, which has no public key.`,
          );
        }
        requireEnabled(version);
        const pem = version.publicPem ?? publicPemOf(openMaterial(version));
        return {
          result: {
            name: version.name,
            pem,
            pemCrc32c: crc32c(Buffer.from(pem, 'utf8')),
            algorithm: version.algorithm,
            protectionLevel: version.protectionLevel,
          },
          details: { cryptoKeyVersion: version.name },
        };
      });
    },
  };
}

export type KmsOperations = ReturnType<typeof createOperations>;
