// KMS REST v1 routes: parse proto3 JSON (names or numbers for enums, base64, int64 strings), call the domain.
import { fromBase64Lenient, invalidArgument, parseCrc32c, parseDurationMs } from '@sealroom/core';
import { iamPolicyRoutes } from '@sealroom/iam';
import { type ApiRoute, parseWith, type ServiceContext } from '@sealroom/transport';
import { z } from 'zod';
import type { CryptoKeyInput, CryptoKeyUpdate } from './admin.ts';
import { parseAlgorithm, parseProtectionLevel, parsePurpose, parseVersionState } from './enums.ts';
import {
  toAsymmetricDecryptJson,
  toCryptoKeyJson,
  toDecryptJson,
  toEncryptJson,
  toKeyRingJson,
  toPublicKeyJson,
  toSignJson,
  toVersionJson,
} from './json.ts';
import type { KeyManager } from './service.ts';

const LOC = 'projects/*/locations/*';
const RING = `${LOC}/keyRings/*`;
const KEY = `${RING}/cryptoKeys/*`;
const VERSION = `${KEY}/cryptoKeyVersions/*`;
/** 64 KiB of plaintext plus 64 KiB of AAD in base64, with room for the rest of the body. */
const CRYPTO_BODY_LIMIT_BYTES = 256 * 1024;

const bytesField = z.string().optional();
const crcField = z.union([z.string(), z.number()]).optional();
const enumField = z.union([z.string(), z.number()]).optional();

const EncryptBody = z.object({
  plaintext: bytesField,
  additionalAuthenticatedData: bytesField,
  plaintextCrc32c: crcField,
  additionalAuthenticatedDataCrc32c: crcField,
});
const DecryptBody = z.object({
  ciphertext: bytesField,
  additionalAuthenticatedData: bytesField,
  ciphertextCrc32c: crcField,
  additionalAuthenticatedDataCrc32c: crcField,
});
const SignBody = z.object({
  digest: z.object({ sha256: bytesField, sha384: bytesField, sha512: bytesField }).optional(),
  digestCrc32c: crcField,
  data: bytesField,
  dataCrc32c: crcField,
});
const AsymmetricDecryptBody = z.object({ ciphertext: bytesField, ciphertextCrc32c: crcField });
const CryptoKeyBody = z.object({
  name: z.string().optional(),
  purpose: enumField,
  versionTemplate: z.object({ algorithm: enumField, protectionLevel: enumField }).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  rotationPeriod: z.string().optional(),
  nextRotationTime: z.string().optional(),
  destroyScheduledDuration: z.string().optional(),
  importOnly: z.boolean().optional(),
});
const VersionBody = z.object({ name: z.string().optional(), state: enumField });
const PrimaryBody = z.object({ cryptoKeyVersionId: z.string() });

function bytes(value: string | undefined, field: string): Buffer {
  return value === undefined ? Buffer.alloc(0) : fromBase64Lenient(value, field);
}

function duration(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === undefined) throw invalidArgument(`Invalid value at '${field}': not a duration.`);
  return ms;
}

function timestamp(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(ms)) {
    throw invalidArgument(`Invalid value at '${field}': not an RFC 3339 timestamp.`);
  }
  return ms;
}

function pageOf(query: Readonly<Record<string, string>>) {
  const size = query.pageSize === undefined ? undefined : Number(query.pageSize);
  if (size !== undefined && (!Number.isInteger(size) || size < 0))
    throw invalidArgument("Invalid value at 'page_size'.");
  return { pageSize: size, pageToken: query.pageToken };
}

function toKeyInput(body: z.infer<typeof CryptoKeyBody>): CryptoKeyInput {
  if (body.importOnly) throw invalidArgument('Import-only keys are not offered by this KMS.');
  return {
    purpose: parsePurpose(body.purpose, 'crypto_key.purpose'),
    algorithm: parseAlgorithm(body.versionTemplate?.algorithm, 'crypto_key.version_template.algorithm'),
    protectionLevel: parseProtectionLevel(
      body.versionTemplate?.protectionLevel,
      'crypto_key.version_template.protection_level',
    ),
    labels: body.labels ?? {},
    rotationPeriodMs: duration(body.rotationPeriod, 'crypto_key.rotation_period'),
    nextRotationTime: timestamp(body.nextRotationTime, 'crypto_key.next_rotation_time'),
    destroyScheduledMs: duration(body.destroyScheduledDuration, 'crypto_key.destroy_scheduled_duration'),
  };
}

function maskOf(query: Readonly<Record<string, string>>): string[] {
  return (query.updateMask ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** The body of the KMS REST fallback's createKeyRing is the literal JSON string ""
 * (what `@google-cloud/kms` sends for `createKeyRing({ keyRing: {} })`). */
function emptyOrObject(body: unknown): unknown {
  return body === '' || body === undefined ? {} : body;
}

const METHOD_PREFIX = 'google.cloud.kms.v1.KeyManagementService';

/** getIamPolicy (GET and POST), setIamPolicy and testIamPermissions on key rings and keys. */
export function kmsPolicyRoutes(kms: KeyManager, ctx: ServiceContext): ApiRoute[] {
  return [
    ...iamPolicyRoutes(ctx, {
      resource: RING,
      permissionPrefix: 'cloudkms.keyRings',
      methodPrefix: METHOD_PREFIX,
      exists: (name) => kms.exists('keyRing', name),
      kind: 'KeyRing',
    }),
    ...iamPolicyRoutes(ctx, {
      resource: KEY,
      permissionPrefix: 'cloudkms.cryptoKeys',
      methodPrefix: METHOD_PREFIX,
      exists: (name) => kms.exists('cryptoKey', name),
      kind: 'CryptoKey',
    }),
  ];
}

export function kmsRoutes(kms: KeyManager): ApiRoute[] {
  const keyJson = async (key: Parameters<KeyManager['primaryOf']>[0]) => toCryptoKeyJson(key, await kms.primaryOf(key));
  return [
    {
      method: 'POST',
      path: `/v1/{parent=${LOC}}/keyRings`,
      handler: async (req) => {
        parseWith(z.object({ name: z.string().optional() }), emptyOrObject(req.body));
        const id = req.query.keyRingId;
        if (!id) throw invalidArgument("The query parameter 'keyRingId' is required.");
        return toKeyRingJson(await kms.createKeyRing(req.caller, req.params.parent as string, id));
      },
    },
    {
      method: 'GET',
      path: `/v1/{parent=${LOC}}/keyRings`,
      handler: async (req) => {
        const page = await kms.listKeyRings(req.caller, req.params.parent as string, pageOf(req.query));
        return {
          ...(page.items.length > 0 ? { keyRings: page.items.map(toKeyRingJson) } : {}),
          ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
          totalSize: page.totalSize,
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${RING}}`,
      handler: async (req) => toKeyRingJson(await kms.getKeyRing(req.caller, req.params.name as string)),
    },
    {
      method: 'POST',
      path: `/v1/{parent=${RING}}/cryptoKeys`,
      handler: async (req) => {
        const body = parseWith(CryptoKeyBody, emptyOrObject(req.body));
        const id = req.query.cryptoKeyId;
        if (!id) throw invalidArgument("The query parameter 'cryptoKeyId' is required.");
        const skip = req.query.skipInitialVersionCreation === 'true';
        const key = await kms.createCryptoKey(req.caller, req.params.parent as string, id, toKeyInput(body), skip);
        return keyJson(key);
      },
    },
    {
      method: 'GET',
      path: `/v1/{parent=${RING}}/cryptoKeys`,
      handler: async (req) => {
        const page = await kms.listCryptoKeys(req.caller, req.params.parent as string, pageOf(req.query));
        const keys = await Promise.all(page.items.map(keyJson));
        return {
          ...(keys.length > 0 ? { cryptoKeys: keys } : {}),
          ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
          totalSize: page.totalSize,
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${KEY}}`,
      handler: async (req) => keyJson(await kms.getCryptoKey(req.caller, req.params.name as string)),
    },
    {
      method: 'PATCH',
      path: `/v1/{name=${KEY}}`,
      handler: async (req) => {
        const body = parseWith(CryptoKeyBody, req.body);
        const update: CryptoKeyUpdate = {
          labels: body.labels ?? {},
          rotationPeriodMs: duration(body.rotationPeriod, 'crypto_key.rotation_period'),
          nextRotationTime: timestamp(body.nextRotationTime, 'crypto_key.next_rotation_time'),
          algorithm: parseAlgorithm(body.versionTemplate?.algorithm, 'crypto_key.version_template.algorithm'),
        };
        return keyJson(await kms.updateCryptoKey(req.caller, req.params.name as string, update, maskOf(req.query)));
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${KEY}}:updatePrimaryVersion`,
      handler: async (req) => {
        const body = parseWith(PrimaryBody, req.body);
        return keyJson(await kms.updatePrimaryVersion(req.caller, req.params.name as string, body.cryptoKeyVersionId));
      },
    },
    {
      method: 'POST',
      path: `/v1/{parent=${KEY}}/cryptoKeyVersions`,
      handler: async (req) => {
        parseWith(VersionBody, emptyOrObject(req.body));
        return toVersionJson(await kms.createVersion(req.caller, req.params.parent as string));
      },
    },
    {
      method: 'GET',
      path: `/v1/{parent=${KEY}}/cryptoKeyVersions`,
      handler: async (req) => {
        const page = await kms.listVersions(req.caller, req.params.parent as string, pageOf(req.query));
        return {
          ...(page.items.length > 0 ? { cryptoKeyVersions: page.items.map(toVersionJson) } : {}),
          ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
          totalSize: page.totalSize,
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${VERSION}}`,
      handler: async (req) => toVersionJson(await kms.getVersion(req.caller, req.params.name as string)),
    },
    {
      method: 'PATCH',
      path: `/v1/{name=${VERSION}}`,
      handler: async (req) => {
        const body = parseWith(VersionBody, req.body);
        const mask = maskOf(req.query);
        if (mask.length !== 1 || mask[0] !== 'state') {
          throw invalidArgument("The update_mask must be 'state': only the state of a version can be updated.");
        }
        const state = parseVersionState(body.state, 'crypto_key_version.state');
        if (!state) throw invalidArgument('The field crypto_key_version.state is required.');
        return toVersionJson(await kms.updateVersionState(req.caller, req.params.name as string, state));
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${VERSION}}:destroy`,
      handler: async (req) => toVersionJson(await kms.destroyVersion(req.caller, req.params.name as string)),
    },
    {
      method: 'POST',
      path: `/v1/{name=${VERSION}}:restore`,
      handler: async (req) => toVersionJson(await kms.restoreVersion(req.caller, req.params.name as string)),
    },
    {
      method: 'POST',
      path: `/v1/{name=${RING}/cryptoKeys/**}:encrypt`,
      bodyLimit: CRYPTO_BODY_LIMIT_BYTES,
      handler: async (req) => {
        const body = parseWith(EncryptBody, req.body);
        const result = await kms.encrypt(req.caller, req.params.name as string, {
          plaintext: bytes(body.plaintext, 'plaintext'),
          additionalAuthenticatedData: bytes(body.additionalAuthenticatedData, 'additional_authenticated_data'),
          plaintextCrc32c: parseCrc32c(body.plaintextCrc32c, 'plaintext_crc32c'),
          additionalAuthenticatedDataCrc32c: parseCrc32c(
            body.additionalAuthenticatedDataCrc32c,
            'additional_authenticated_data_crc32c',
          ),
        });
        return toEncryptJson(result);
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${KEY}}:decrypt`,
      bodyLimit: CRYPTO_BODY_LIMIT_BYTES,
      handler: async (req) => {
        const body = parseWith(DecryptBody, req.body);
        const result = await kms.decrypt(req.caller, req.params.name as string, {
          ciphertext: bytes(body.ciphertext, 'ciphertext'),
          additionalAuthenticatedData: bytes(body.additionalAuthenticatedData, 'additional_authenticated_data'),
          ciphertextCrc32c: parseCrc32c(body.ciphertextCrc32c, 'ciphertext_crc32c'),
          additionalAuthenticatedDataCrc32c: parseCrc32c(
            body.additionalAuthenticatedDataCrc32c,
            'additional_authenticated_data_crc32c',
          ),
        });
        return toDecryptJson(result);
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${VERSION}}:asymmetricSign`,
      bodyLimit: CRYPTO_BODY_LIMIT_BYTES,
      handler: async (req) => {
        const body = parseWith(SignBody, req.body);
        const digest = body.digest;
        const hash =
          digest?.sha256 !== undefined
            ? 'sha256'
            : digest?.sha384 !== undefined
              ? 'sha384'
              : digest?.sha512 !== undefined
                ? 'sha512'
                : undefined;
        const result = await kms.asymmetricSign(req.caller, req.params.name as string, {
          digest: hash && digest ? { hash, bytes: bytes(digest[hash], `digest.${hash}`) } : undefined,
          digestCrc32c: parseCrc32c(body.digestCrc32c, 'digest_crc32c'),
          data: body.data === undefined ? undefined : bytes(body.data, 'data'),
          dataCrc32c: parseCrc32c(body.dataCrc32c, 'data_crc32c'),
        });
        return toSignJson(result);
      },
    },
    {
      method: 'POST',
      path: `/v1/{name=${VERSION}}:asymmetricDecrypt`,
      bodyLimit: CRYPTO_BODY_LIMIT_BYTES,
      handler: async (req) => {
        const body = parseWith(AsymmetricDecryptBody, req.body);
        const result = await kms.asymmetricDecrypt(req.caller, req.params.name as string, {
          ciphertext: bytes(body.ciphertext, 'ciphertext'),
          ciphertextCrc32c: parseCrc32c(body.ciphertextCrc32c, 'ciphertext_crc32c'),
        });
        return toAsymmetricDecryptJson(result);
      },
    },
    {
      method: 'GET',
      path: `/v1/{name=${VERSION}}/publicKey`,
      handler: async (req) => {
        const format = req.query.publicKeyFormat;
        if (
          format !== undefined &&
          format !== '0' &&
          format !== '1' &&
          format !== 'PEM' &&
          format !== 'PUBLIC_KEY_FORMAT_UNSPECIFIED'
        ) {
          throw invalidArgument(`Public key format ${format} is not offered by this KMS; use PEM.`);
        }
        return toPublicKeyJson(await kms.getPublicKey(req.caller, req.params.name as string));
      },
    },
  ];
}
