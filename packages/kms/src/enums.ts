// KMS enums as google/cloud/kms/v1/resources.proto numbers them; requests may use names or numbers.
import { invalidArgument } from '@sealroom/core';
import { KmsError } from './errors.ts';

export type Purpose = 'ENCRYPT_DECRYPT' | 'ASYMMETRIC_SIGN' | 'ASYMMETRIC_DECRYPT';

export type Algorithm =
  | 'GOOGLE_SYMMETRIC_ENCRYPTION'
  | 'EC_SIGN_P256_SHA256'
  | 'EC_SIGN_P384_SHA384'
  | 'RSA_SIGN_PSS_2048_SHA256'
  | 'RSA_SIGN_PKCS1_2048_SHA256'
  | 'RSA_DECRYPT_OAEP_2048_SHA256';

export type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED' | 'DESTROY_SCHEDULED';

export type ProtectionLevel = 'SOFTWARE';

/** Every name the proto defines, so a known-but-unsupported value gets a clear "not offered" error. */
const PURPOSE_NUMBERS: Readonly<Record<string, number>> = {
  CRYPTO_KEY_PURPOSE_UNSPECIFIED: 0,
  ENCRYPT_DECRYPT: 1,
  ASYMMETRIC_SIGN: 5,
  ASYMMETRIC_DECRYPT: 6,
  RAW_ENCRYPT_DECRYPT: 7,
  MAC: 9,
  KEY_ENCAPSULATION: 10,
};

const ALGORITHM_NUMBERS: Readonly<Record<string, number>> = {
  CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED: 0,
  GOOGLE_SYMMETRIC_ENCRYPTION: 1,
  RSA_SIGN_PSS_2048_SHA256: 2,
  RSA_SIGN_PSS_3072_SHA256: 3,
  RSA_SIGN_PSS_4096_SHA256: 4,
  RSA_SIGN_PKCS1_2048_SHA256: 5,
  RSA_SIGN_PKCS1_3072_SHA256: 6,
  RSA_SIGN_PKCS1_4096_SHA256: 7,
  RSA_DECRYPT_OAEP_2048_SHA256: 8,
  RSA_DECRYPT_OAEP_3072_SHA256: 9,
  RSA_DECRYPT_OAEP_4096_SHA256: 10,
  EC_SIGN_P256_SHA256: 12,
  EC_SIGN_P384_SHA384: 13,
  RSA_SIGN_PSS_4096_SHA512: 15,
  RSA_SIGN_PKCS1_4096_SHA512: 16,
  RSA_DECRYPT_OAEP_4096_SHA512: 17,
  AES_128_GCM: 41,
  AES_256_GCM: 19,
  RSA_SIGN_RAW_PKCS1_2048: 28,
  EC_SIGN_SECP256K1_SHA256: 31,
  HMAC_SHA256: 32,
  EC_SIGN_ED25519: 40,
};

const STATE_NUMBERS: Readonly<Record<string, number>> = {
  CRYPTO_KEY_VERSION_STATE_UNSPECIFIED: 0,
  ENABLED: 1,
  DISABLED: 2,
  DESTROYED: 3,
  DESTROY_SCHEDULED: 4,
  PENDING_GENERATION: 5,
};

const PROTECTION_NUMBERS: Readonly<Record<string, number>> = {
  PROTECTION_LEVEL_UNSPECIFIED: 0,
  SOFTWARE: 1,
  HSM: 2,
  EXTERNAL: 3,
  EXTERNAL_VPC: 4,
};

const SUPPORTED_PURPOSES: ReadonlySet<string> = new Set<Purpose>([
  'ENCRYPT_DECRYPT',
  'ASYMMETRIC_SIGN',
  'ASYMMETRIC_DECRYPT',
]);

/** The purpose each supported algorithm serves. */
export const PURPOSE_OF: Readonly<Record<Algorithm, Purpose>> = {
  GOOGLE_SYMMETRIC_ENCRYPTION: 'ENCRYPT_DECRYPT',
  EC_SIGN_P256_SHA256: 'ASYMMETRIC_SIGN',
  EC_SIGN_P384_SHA384: 'ASYMMETRIC_SIGN',
  RSA_SIGN_PSS_2048_SHA256: 'ASYMMETRIC_SIGN',
  RSA_SIGN_PKCS1_2048_SHA256: 'ASYMMETRIC_SIGN',
  RSA_DECRYPT_OAEP_2048_SHA256: 'ASYMMETRIC_DECRYPT',
};

/** Reads an enum given as its name or its number; undefined when absent. */
function parseEnum(
  table: Readonly<Record<string, number>>,
  value: unknown,
  field: string,
  typeName: string,
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value in table) return value;
  const number =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  for (const [name, n] of Object.entries(table)) if (n === number) return name;
  throw invalidArgument(
    `Invalid value at '${field}' (type.googleapis.com/google.cloud.kms.v1.${typeName}), ${JSON.stringify(value)}`,
  );
}

function isUnspecified(name: string): boolean {
  return name.endsWith('_UNSPECIFIED');
}

export function parsePurpose(value: unknown, field: string): Purpose | undefined {
  const name = parseEnum(PURPOSE_NUMBERS, value, field, 'CryptoKey.CryptoKeyPurpose');
  if (name === undefined || isUnspecified(name)) return undefined;
  if (!SUPPORTED_PURPOSES.has(name)) {
    throw new KmsError('ERR_KMS_UNSUPPORTED_ALGORITHM', `Purpose ${name} is not offered by this KMS.`);
  }
  return name as Purpose;
}

export function parseAlgorithm(value: unknown, field: string): Algorithm | undefined {
  const name = parseEnum(ALGORITHM_NUMBERS, value, field, 'CryptoKeyVersion.CryptoKeyVersionAlgorithm');
  if (name === undefined || isUnspecified(name)) return undefined;
  if (!(name in PURPOSE_OF)) {
    throw new KmsError('ERR_KMS_UNSUPPORTED_ALGORITHM', `Algorithm ${name} is not offered by this KMS.`);
  }
  return name as Algorithm;
}

export function parseVersionState(value: unknown, field: string): VersionState | undefined {
  const name = parseEnum(STATE_NUMBERS, value, field, 'CryptoKeyVersion.CryptoKeyVersionState');
  if (name === undefined || isUnspecified(name)) return undefined;
  if (name === 'PENDING_GENERATION') throw invalidArgument(`Invalid value at '${field}': ${name} cannot be requested.`);
  return name as VersionState;
}

export function parseProtectionLevel(value: unknown, field: string): ProtectionLevel | undefined {
  const name = parseEnum(PROTECTION_NUMBERS, value, field, 'ProtectionLevel');
  if (name === undefined || isUnspecified(name)) return undefined;
  if (name !== 'SOFTWARE') {
    throw new KmsError('ERR_KMS_UNSUPPORTED_ALGORITHM', `Protection level ${name} is not offered by this KMS.`);
  }
  return 'SOFTWARE';
}

/** Numbers for the gRPC front end and for `enum-encoding=int` answers. */
export function enumNumber(kind: 'purpose' | 'algorithm' | 'state' | 'protectionLevel', name: string): number {
  const table =
    kind === 'purpose'
      ? PURPOSE_NUMBERS
      : kind === 'algorithm'
        ? ALGORITHM_NUMBERS
        : kind === 'state'
          ? STATE_NUMBERS
          : PROTECTION_NUMBERS;
  return table[name] ?? 0;
}
