// KMS gRPC front end: KeyManagementService and Locations as GrpcServiceBindings over the
// protos shipped in @google-cloud/kms and google-gax.
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { invalidArgument, parseCrc32c } from '@sealroom/core';
import type { GrpcServiceBinding, GrpcUnaryHandler } from '@sealroom/transport';
import { parseVersionState } from './enums.ts';
import {
  bytesOf,
  fromInt64Value,
  int64Value,
  type Message,
  toCryptoKeyInput,
  toCryptoKeyMessage,
  toKeyRingMessage,
  toVersionMessage,
} from './grpc-messages.ts';
import type { KeyManager } from './service.ts';

const require = createRequire(import.meta.url);

/** Where the shipped protos live: KMS's own, and google-gax's (iam, location, api, protobuf). */
export function kmsProtoDirs(): string[] {
  const kms = dirname(require.resolve('@google-cloud/kms/package.json'));
  // google-gax exports no package.json: find its root from its main entry (…/google-gax/build/src/index.js).
  const gaxMain = require.resolve('google-gax', { paths: [kms] });
  const gax = gaxMain.slice(0, gaxMain.lastIndexOf(`${sep}build${sep}`));
  return [join(kms, 'build', 'protos'), join(gax, 'build', 'protos')];
}

const crc = (value: unknown, field: string) => parseCrc32c(fromInt64Value(value), field);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const page = (m: Message) => ({
  pageSize: typeof m.pageSize === 'number' && m.pageSize > 0 ? m.pageSize : undefined,
  pageToken: str(m.pageToken) || undefined,
});

function kmsHandlers(kms: KeyManager): Record<string, GrpcUnaryHandler> {
  const keyMessage = async (key: Parameters<KeyManager['primaryOf']>[0]) =>
    toCryptoKeyMessage(key, await kms.primaryOf(key));
  return {
    CreateKeyRing: async (m, { caller }) =>
      toKeyRingMessage(await kms.createKeyRing(caller, str(m.parent), str(m.keyRingId))),
    GetKeyRing: async (m, { caller }) => toKeyRingMessage(await kms.getKeyRing(caller, str(m.name))),
    ListKeyRings: async (m, { caller }) => {
      const result = await kms.listKeyRings(caller, str(m.parent), page(m));
      return {
        keyRings: result.items.map(toKeyRingMessage),
        nextPageToken: result.nextPageToken,
        totalSize: result.totalSize,
      };
    },
    CreateCryptoKey: async (m, { caller }) =>
      keyMessage(
        await kms.createCryptoKey(
          caller,
          str(m.parent),
          str(m.cryptoKeyId),
          toCryptoKeyInput(m.cryptoKey as Message | undefined),
          m.skipInitialVersionCreation === true,
        ),
      ),
    GetCryptoKey: async (m, { caller }) => keyMessage(await kms.getCryptoKey(caller, str(m.name))),
    ListCryptoKeys: async (m, { caller }) => {
      const result = await kms.listCryptoKeys(caller, str(m.parent), page(m));
      const cryptoKeys = await Promise.all(result.items.map(keyMessage));
      return { cryptoKeys, nextPageToken: result.nextPageToken, totalSize: result.totalSize };
    },
    UpdateCryptoKey: async (m, { caller }) => {
      const key = (m.cryptoKey ?? {}) as Message;
      const input = toCryptoKeyInput({ ...key, purpose: undefined });
      const paths = ((m.updateMask as Message | undefined)?.paths ?? []) as string[];
      const update = {
        labels: input.labels,
        rotationPeriodMs: input.rotationPeriodMs,
        nextRotationTime: input.nextRotationTime,
        algorithm: input.algorithm,
      };
      return keyMessage(await kms.updateCryptoKey(caller, str(key.name), update, paths));
    },
    UpdateCryptoKeyPrimaryVersion: async (m, { caller }) =>
      keyMessage(await kms.updatePrimaryVersion(caller, str(m.name), str(m.cryptoKeyVersionId))),
    CreateCryptoKeyVersion: async (m, { caller }) => toVersionMessage(await kms.createVersion(caller, str(m.parent))),
    GetCryptoKeyVersion: async (m, { caller }) => toVersionMessage(await kms.getVersion(caller, str(m.name))),
    ListCryptoKeyVersions: async (m, { caller }) => {
      const result = await kms.listVersions(caller, str(m.parent), page(m));
      return {
        cryptoKeyVersions: result.items.map(toVersionMessage),
        nextPageToken: result.nextPageToken,
        totalSize: result.totalSize,
      };
    },
    UpdateCryptoKeyVersion: async (m, { caller }) => {
      const version = (m.cryptoKeyVersion ?? {}) as Message;
      const paths = ((m.updateMask as Message | undefined)?.paths ?? []) as string[];
      if (paths.length !== 1 || paths[0] !== 'state') {
        throw invalidArgument("The update_mask must be 'state': only the state of a version can be updated.");
      }
      const state = parseVersionState(version.state, 'crypto_key_version.state');
      if (!state) throw invalidArgument('The field crypto_key_version.state is required.');
      return toVersionMessage(await kms.updateVersionState(caller, str(version.name), state));
    },
    DestroyCryptoKeyVersion: async (m, { caller }) => toVersionMessage(await kms.destroyVersion(caller, str(m.name))),
    RestoreCryptoKeyVersion: async (m, { caller }) => toVersionMessage(await kms.restoreVersion(caller, str(m.name))),
    Encrypt: async (m, { caller }) => {
      const r = await kms.encrypt(caller, str(m.name), {
        plaintext: bytesOf(m.plaintext),
        additionalAuthenticatedData: bytesOf(m.additionalAuthenticatedData),
        plaintextCrc32c: crc(m.plaintextCrc32c, 'plaintext_crc32c'),
        additionalAuthenticatedDataCrc32c: crc(
          m.additionalAuthenticatedDataCrc32c,
          'additional_authenticated_data_crc32c',
        ),
      });
      return { ...r, ciphertextCrc32c: int64Value(r.ciphertextCrc32c) };
    },
    Decrypt: async (m, { caller }) => {
      const r = await kms.decrypt(caller, str(m.name), {
        ciphertext: bytesOf(m.ciphertext),
        additionalAuthenticatedData: bytesOf(m.additionalAuthenticatedData),
        ciphertextCrc32c: crc(m.ciphertextCrc32c, 'ciphertext_crc32c'),
        additionalAuthenticatedDataCrc32c: crc(
          m.additionalAuthenticatedDataCrc32c,
          'additional_authenticated_data_crc32c',
        ),
      });
      return { ...r, plaintextCrc32c: int64Value(r.plaintextCrc32c) };
    },
    AsymmetricSign: async (m, { caller }) => {
      const digest = (m.digest ?? undefined) as Message | undefined;
      const hash = (['sha256', 'sha384', 'sha512'] as const).find((h) => digest?.[h] !== undefined);
      const r = await kms.asymmetricSign(caller, str(m.name), {
        digest: hash && digest ? { hash, bytes: bytesOf(digest[hash]) } : undefined,
        digestCrc32c: crc(m.digestCrc32c, 'digest_crc32c'),
        data: m.data === undefined ? undefined : bytesOf(m.data),
        dataCrc32c: crc(m.dataCrc32c, 'data_crc32c'),
      });
      return { ...r, signatureCrc32c: int64Value(r.signatureCrc32c) };
    },
    AsymmetricDecrypt: async (m, { caller }) => {
      const r = await kms.asymmetricDecrypt(caller, str(m.name), {
        ciphertext: bytesOf(m.ciphertext),
        ciphertextCrc32c: crc(m.ciphertextCrc32c, 'ciphertext_crc32c'),
      });
      return { ...r, plaintextCrc32c: int64Value(r.plaintextCrc32c) };
    },
    GetPublicKey: async (m, { caller }) => {
      const format = m.publicKeyFormat;
      if (format !== undefined && format !== 'PEM' && format !== 'PUBLIC_KEY_FORMAT_UNSPECIFIED') {
        throw invalidArgument(`Public key format ${String(format)} is not offered by this KMS; use PEM.`);
      }
      const r = await kms.getPublicKey(caller, str(m.name));
      return {
        ...r,
        pemCrc32c: int64Value(r.pemCrc32c),
        publicKeyFormat: 'PEM',
        publicKey: { data: Buffer.from(r.pem, 'utf8'), crc32cChecksum: int64Value(r.pemCrc32c) },
      };
    },
  };
}

/** Locations: Sealroom's KMS serves `global` (and any location named in a resource). */
const locationHandlers: Record<string, GrpcUnaryHandler> = {
  ListLocations: async (m) => ({ locations: [{ name: `${str(m.name)}/locations/global`, locationId: 'global' }] }),
  GetLocation: async (m) => ({ name: str(m.name), locationId: str(m.name).split('/')[3] ?? '' }),
};

/** KeyManagementService and Locations; IAMPolicy is served once for every service by the server. */
export function kmsGrpcBindings(kms: KeyManager): GrpcServiceBinding[] {
  const includeDirs = kmsProtoDirs();
  return [
    {
      protoFiles: ['google/cloud/kms/v1/service.proto'],
      includeDirs,
      service: 'google.cloud.kms.v1.KeyManagementService',
      unary: kmsHandlers(kms),
    },
    {
      protoFiles: ['google/cloud/location/locations.proto'],
      includeDirs,
      service: 'google.cloud.location.Locations',
      unary: locationHandlers,
    },
  ];
}
