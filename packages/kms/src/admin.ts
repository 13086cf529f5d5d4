// Key rings, crypto keys and versions: creation, listing, updates, rotation and scheduled destruction.
import { type Caller, CoreError, invalidArgument, notFound, toBase64Url } from '@sealroom/core';
import { type KmsDeps, audited, guard, materialContext } from './context.ts';
import { generateKeyMaterial } from './crypto.ts';
import { type Algorithm, PURPOSE_OF, type ProtectionLevel, type Purpose, type VersionState } from './enums.ts';
import { KmsError } from './errors.ts';
import { CRYPTO_KEY, CRYPTO_KEY_VERSION, KEY_RING, LOCATION, LOCATION_ID_PATTERN, checkKmsId } from './names.ts';
import type { CryptoKeyRecord, KeyRingRecord, NewVersion, VersionRecord } from './store.ts';

const DAY_MS = 86_400_000;
/** Cloud KMS's default and bounds for the time between destroy and erasure. */
export const DEFAULT_DESTROY_SCHEDULED_MS = 30 * DAY_MS;
const MIN_DESTROY_SCHEDULED_MS = DAY_MS;
const MAX_DESTROY_SCHEDULED_MS = 120 * DAY_MS;
/** Cloud KMS's bounds for automatic rotation. */
const MIN_ROTATION_MS = DAY_MS;
const MAX_ROTATION_MS = 36_500 * DAY_MS;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface CryptoKeyInput {
  readonly purpose: Purpose | undefined;
  readonly algorithm: Algorithm | undefined;
  readonly protectionLevel: ProtectionLevel | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly rotationPeriodMs: number | undefined;
  readonly nextRotationTime: number | undefined;
  readonly destroyScheduledMs: number | undefined;
}

export interface PageRequest {
  readonly pageSize: number | undefined;
  readonly pageToken: string | undefined;
}

export interface PageResult<T> {
  readonly items: T[];
  readonly nextPageToken: string;
  readonly totalSize: number;
}

export type CryptoKeyUpdate = Partial<
  Pick<CryptoKeyInput, 'labels' | 'rotationPeriodMs' | 'nextRotationTime' | 'algorithm'>
>;

function parsePage(request: PageRequest): { offset: number; limit: number } {
  const limit = Math.min(
    request.pageSize && request.pageSize > 0 ? request.pageSize : DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
  );
  if (!request.pageToken) return { offset: 0, limit };
  const offset = Number(Buffer.from(request.pageToken, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument("Invalid value at 'page_token'.");
  return { offset, limit };
}

function nextToken(offset: number, count: number, total: number): string {
  return offset + count < total ? toBase64Url(Buffer.from(String(offset + count))) : '';
}

function checkRotation(purpose: Purpose, period: number | undefined): void {
  if (period === undefined) return;
  if (purpose !== 'ENCRYPT_DECRYPT') {
    throw invalidArgument('Automatic rotation is only supported for keys with purpose ENCRYPT_DECRYPT.');
  }
  if (period < MIN_ROTATION_MS || period > MAX_ROTATION_MS) {
    throw invalidArgument('The rotation period must be between 1 day and 100 years.');
  }
}

/** A fresh version's material, sealed under the root key for exactly that version's name. */
export async function newVersion(
  deps: KmsDeps,
  algorithm: Algorithm,
  protectionLevel: ProtectionLevel,
): Promise<NewVersion> {
  const generated = await generateKeyMaterial(algorithm);
  return {
    state: 'ENABLED',
    algorithm,
    protectionLevel,
    createTime: deps.clock.now(),
    seal: (name) => ({
      sealedMaterial: deps.sealer.seal(generated.material, materialContext(name)),
      publicPem: generated.publicPem,
    }),
  };
}

export function createAdmin(deps: KmsDeps) {
  async function loadKey(name: string): Promise<CryptoKeyRecord> {
    const key = await deps.store.getCryptoKey(name);
    if (!key) throw notFound(`CryptoKey ${name} not found.`);
    return key;
  }
  async function loadVersion(name: string): Promise<VersionRecord> {
    const version = await deps.store.getVersion(name);
    if (!version) throw notFound(`CryptoKeyVersion ${name} not found.`);
    return version;
  }

  /** The primary version of a symmetric key, shown inside the CryptoKey resource. */
  async function primaryOf(key: CryptoKeyRecord): Promise<VersionRecord | undefined> {
    if (key.primaryVersionId === undefined) return undefined;
    return deps.store.getVersion(`${key.name}/cryptoKeyVersions/${key.primaryVersionId}`);
  }

  /** Whether a key ring or key exists, by a name with a project id or number (asked after authorization). */
  async function exists(kind: 'keyRing' | 'cryptoKey', rawName: string): Promise<boolean> {
    const template = kind === 'keyRing' ? KEY_RING : CRYPTO_KEY;
    const parts = (template as typeof CRYPTO_KEY).tryParse(rawName);
    if (!parts) return false;
    const project = await deps.projects.resolve(parts.project);
    if (!project) return false;
    const name = (template as typeof CRYPTO_KEY).format({ ...parts, project: project.projectId });
    return kind === 'keyRing'
      ? (await deps.store.getKeyRing(name)) !== undefined
      : (await deps.store.getCryptoKey(name)) !== undefined;
  }

  return {
    loadKey,
    loadVersion,
    primaryOf,
    exists,

    async createKeyRing(caller: Caller | undefined, parent: string, keyRingId: string): Promise<KeyRingRecord> {
      const loc = await guard(deps, caller, LOCATION, parent, 'cloudkms.keyRings.create', 'CreateKeyRing');
      if (!LOCATION_ID_PATTERN.test(loc.parts.location))
        throw invalidArgument(`Invalid location '${loc.parts.location}'.`);
      checkKmsId(keyRingId, 'key_ring_id');
      const record = { name: `${loc.name}/keyRings/${keyRingId}`, parent: loc.name, createTime: deps.clock.now() };
      return audited(deps, caller, loc, 'CreateKeyRing', async () => {
        if (!(await deps.store.insertKeyRing(record))) {
          throw new CoreError('ERR_ALREADY_EXISTS', `KeyRing ${record.name} already exists.`);
        }
        return { result: record, details: { keyRing: record.name } };
      });
    },

    async getKeyRing(caller: Caller | undefined, name: string): Promise<KeyRingRecord> {
      const r = await guard(deps, caller, KEY_RING, name, 'cloudkms.keyRings.get', 'GetKeyRing');
      const ring = await deps.store.getKeyRing(r.name);
      if (!ring) throw notFound(`KeyRing ${r.name} not found.`);
      return ring;
    },

    async listKeyRings(
      caller: Caller | undefined,
      parent: string,
      page: PageRequest,
    ): Promise<PageResult<KeyRingRecord>> {
      const loc = await guard(deps, caller, LOCATION, parent, 'cloudkms.keyRings.list', 'ListKeyRings');
      const { offset, limit } = parsePage(page);
      const result = await deps.store.listKeyRings(loc.name, offset, limit);
      return {
        items: result.items,
        totalSize: result.total,
        nextPageToken: nextToken(offset, result.items.length, result.total),
      };
    },

    async createCryptoKey(
      caller: Caller | undefined,
      parent: string,
      cryptoKeyId: string,
      input: CryptoKeyInput,
      skipInitialVersionCreation: boolean,
    ): Promise<CryptoKeyRecord> {
      const ring = await guard(deps, caller, KEY_RING, parent, 'cloudkms.cryptoKeys.create', 'CreateCryptoKey');
      checkKmsId(cryptoKeyId, 'crypto_key_id');
      if (!input.purpose) throw invalidArgument('The field crypto_key.purpose is required.');
      const algorithm =
        input.algorithm ?? (input.purpose === 'ENCRYPT_DECRYPT' ? 'GOOGLE_SYMMETRIC_ENCRYPTION' : undefined);
      if (!algorithm) {
        throw invalidArgument('The field crypto_key.version_template.algorithm is required for asymmetric keys.');
      }
      if (PURPOSE_OF[algorithm] !== input.purpose) {
        throw new KmsError(
          'ERR_KMS_UNSUPPORTED_ALGORITHM',
          `Algorithm ${algorithm} is not compatible with purpose ${input.purpose}.`,
        );
      }
      checkRotation(input.purpose, input.rotationPeriodMs);
      const destroyScheduledMs = input.destroyScheduledMs ?? DEFAULT_DESTROY_SCHEDULED_MS;
      if (destroyScheduledMs < MIN_DESTROY_SCHEDULED_MS || destroyScheduledMs > MAX_DESTROY_SCHEDULED_MS) {
        throw invalidArgument('The destroy scheduled duration must be between 1 day and 120 days.');
      }
      const now = deps.clock.now();
      const rotationPeriodMs = input.rotationPeriodMs;
      const record: CryptoKeyRecord = {
        name: `${ring.name}/cryptoKeys/${cryptoKeyId}`,
        parent: ring.name,
        purpose: input.purpose,
        algorithm,
        protectionLevel: input.protectionLevel ?? 'SOFTWARE',
        labels: input.labels,
        rotationPeriodMs,
        nextRotationTime:
          input.nextRotationTime ?? (rotationPeriodMs === undefined ? undefined : now + rotationPeriodMs),
        primaryVersionId: undefined,
        destroyScheduledMs,
        createTime: now,
      };
      return audited(deps, caller, ring, 'CreateCryptoKey', async () => {
        if (!(await deps.store.getKeyRing(ring.name))) throw notFound(`KeyRing ${ring.name} not found.`);
        const first = skipInitialVersionCreation
          ? undefined
          : await newVersion(deps, algorithm, record.protectionLevel);
        const inserted = await deps.store.insertCryptoKey(record, first, record.purpose === 'ENCRYPT_DECRYPT');
        if (!inserted) throw new CoreError('ERR_ALREADY_EXISTS', `CryptoKey ${record.name} already exists.`);
        return { result: await loadKey(record.name), details: { cryptoKey: record.name, algorithm } };
      });
    },

    async getCryptoKey(caller: Caller | undefined, name: string): Promise<CryptoKeyRecord> {
      const k = await guard(deps, caller, CRYPTO_KEY, name, 'cloudkms.cryptoKeys.get', 'GetCryptoKey');
      return loadKey(k.name);
    },

    async listCryptoKeys(
      caller: Caller | undefined,
      parent: string,
      page: PageRequest,
    ): Promise<PageResult<CryptoKeyRecord>> {
      const ring = await guard(deps, caller, KEY_RING, parent, 'cloudkms.cryptoKeys.list', 'ListCryptoKeys');
      const { offset, limit } = parsePage(page);
      const result = await deps.store.listCryptoKeys(ring.name, offset, limit);
      return {
        items: result.items,
        totalSize: result.total,
        nextPageToken: nextToken(offset, result.items.length, result.total),
      };
    },

    async updateCryptoKey(caller: Caller | undefined, name: string, update: CryptoKeyUpdate, mask: readonly string[]) {
      const k = await guard(deps, caller, CRYPTO_KEY, name, 'cloudkms.cryptoKeys.update', 'UpdateCryptoKey');
      if (mask.length === 0) throw invalidArgument('The update_mask must name at least one field.');
      return audited(deps, caller, k, 'UpdateCryptoKey', async () => {
        let key = await loadKey(k.name);
        for (const path of mask) {
          switch (path) {
            case 'labels':
              key = { ...key, labels: update.labels ?? {} };
              break;
            case 'rotation_period':
            case 'rotationPeriod':
              checkRotation(key.purpose, update.rotationPeriodMs);
              key = { ...key, rotationPeriodMs: update.rotationPeriodMs };
              if (update.rotationPeriodMs === undefined) key = { ...key, nextRotationTime: undefined };
              else if (key.nextRotationTime === undefined) {
                key = { ...key, nextRotationTime: deps.clock.now() + update.rotationPeriodMs };
              }
              break;
            case 'next_rotation_time':
            case 'nextRotationTime':
              key = { ...key, nextRotationTime: update.nextRotationTime };
              break;
            case 'version_template.algorithm':
            case 'versionTemplate.algorithm':
              if (!update.algorithm || PURPOSE_OF[update.algorithm] !== key.purpose) {
                throw new KmsError(
                  'ERR_KMS_UNSUPPORTED_ALGORITHM',
                  `The algorithm does not fit purpose ${key.purpose}.`,
                );
              }
              key = { ...key, algorithm: update.algorithm };
              break;
            default:
              throw invalidArgument(`The update_mask path '${path}' cannot be updated.`);
          }
        }
        await deps.store.updateCryptoKey(key);
        return { result: key, details: { updateMask: mask.join(',') } };
      });
    },

    async updatePrimaryVersion(caller: Caller | undefined, name: string, versionId: string): Promise<CryptoKeyRecord> {
      const k = await guard(
        deps,
        caller,
        CRYPTO_KEY,
        name,
        'cloudkms.cryptoKeys.update',
        'UpdateCryptoKeyPrimaryVersion',
      );
      return audited(deps, caller, k, 'UpdateCryptoKeyPrimaryVersion', async () => {
        const key = await loadKey(k.name);
        if (key.purpose !== 'ENCRYPT_DECRYPT') {
          throw new KmsError(
            'ERR_KMS_WRONG_PURPOSE',
            `CryptoKey ${key.name} has purpose ${key.purpose}, which has no primary version.`,
          );
        }
        const version = await loadVersion(`${key.name}/cryptoKeyVersions/${versionId}`);
        if (version.state !== 'ENABLED') {
          throw new KmsError(
            'ERR_KMS_VERSION_NOT_ENABLED',
            `${version.name} is not enabled, current state is: ${version.state}.`,
          );
        }
        const updated = { ...key, primaryVersionId: version.versionId };
        await deps.store.updateCryptoKey(updated);
        return { result: updated, details: { primary: version.name } };
      });
    },

    async createVersion(caller: Caller | undefined, parent: string): Promise<VersionRecord> {
      const k = await guard(
        deps,
        caller,
        CRYPTO_KEY,
        parent,
        'cloudkms.cryptoKeyVersions.create',
        'CreateCryptoKeyVersion',
      );
      return audited(deps, caller, k, 'CreateCryptoKeyVersion', async () => {
        const key = await loadKey(k.name);
        const version = await deps.store.addVersion(
          key.name,
          await newVersion(deps, key.algorithm, key.protectionLevel),
          key.purpose === 'ENCRYPT_DECRYPT' && key.primaryVersionId === undefined,
        );
        return { result: version, details: { cryptoKeyVersion: version.name } };
      });
    },

    async getVersion(caller: Caller | undefined, name: string): Promise<VersionRecord> {
      const v = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.get',
        'GetCryptoKeyVersion',
      );
      return loadVersion(v.name);
    },

    async listVersions(
      caller: Caller | undefined,
      parent: string,
      page: PageRequest,
    ): Promise<PageResult<VersionRecord>> {
      const k = await guard(
        deps,
        caller,
        CRYPTO_KEY,
        parent,
        'cloudkms.cryptoKeyVersions.list',
        'ListCryptoKeyVersions',
      );
      const { offset, limit } = parsePage(page);
      const result = await deps.store.listVersions(k.name, offset, limit);
      return {
        items: result.items,
        totalSize: result.total,
        nextPageToken: nextToken(offset, result.items.length, result.total),
      };
    },

    /** Enables or disables a version (the only state an update may set). */
    async updateVersionState(caller: Caller | undefined, name: string, state: VersionState): Promise<VersionRecord> {
      const v = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.update',
        'UpdateCryptoKeyVersion',
      );
      return audited(deps, caller, v, 'UpdateCryptoKeyVersion', async () => {
        const version = await loadVersion(v.name);
        if (state !== 'ENABLED' && state !== 'DISABLED') {
          throw new KmsError(
            'ERR_KMS_BAD_STATE_CHANGE',
            `The state of a version can only be set to ENABLED or DISABLED.`,
          );
        }
        if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
          throw new KmsError(
            'ERR_KMS_BAD_STATE_CHANGE',
            `${version.name} is in state ${version.state} and cannot be updated.`,
          );
        }
        await deps.store.updateVersionState(version.name, state, undefined);
        return { result: { ...version, state }, details: { state } };
      });
    },

    /** Schedules destruction: the version is unusable now and its material is erased when destroyTime passes. */
    async destroyVersion(caller: Caller | undefined, name: string): Promise<VersionRecord> {
      const v = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.destroy',
        'DestroyCryptoKeyVersion',
      );
      return audited(deps, caller, v, 'DestroyCryptoKeyVersion', async () => {
        const version = await loadVersion(v.name);
        if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
          throw new KmsError(
            'ERR_KMS_BAD_STATE_CHANGE',
            `${version.name} is in state ${version.state} and cannot be destroyed.`,
          );
        }
        const key = await loadKey(version.parent);
        const destroyTime = deps.clock.now() + key.destroyScheduledMs;
        await deps.store.updateVersionState(version.name, 'DESTROY_SCHEDULED', destroyTime);
        if (key.primaryVersionId === version.versionId)
          await deps.store.updateCryptoKey({ ...key, primaryVersionId: undefined });
        return { result: { ...version, state: 'DESTROY_SCHEDULED' as const, destroyTime }, details: { destroyTime } };
      });
    },

    /** Cancels a scheduled destruction; the version comes back DISABLED, as in Cloud KMS. */
    async restoreVersion(caller: Caller | undefined, name: string): Promise<VersionRecord> {
      const v = await guard(
        deps,
        caller,
        CRYPTO_KEY_VERSION,
        name,
        'cloudkms.cryptoKeyVersions.restore',
        'RestoreCryptoKeyVersion',
      );
      return audited(deps, caller, v, 'RestoreCryptoKeyVersion', async () => {
        const version = await loadVersion(v.name);
        if (version.state !== 'DESTROY_SCHEDULED') {
          throw new KmsError(
            'ERR_KMS_BAD_STATE_CHANGE',
            `${version.name} is in state ${version.state} and cannot be restored.`,
          );
        }
        await deps.store.updateVersionState(version.name, 'DISABLED', undefined);
        return { result: { ...version, state: 'DISABLED' as const, destroyTime: undefined }, details: {} };
      });
    },

    /** Erases material whose destruction time passed and rotates keys whose rotation time came. */
    async runMaintenance(): Promise<{ erased: number; rotated: number }> {
      const now = deps.clock.now();
      const due = await deps.store.listDueDestructions(now);
      for (const name of due) {
        await deps.store.eraseVersion(name, now);
        deps.logger.info({ cryptoKeyVersion: name }, 'key version material erased');
      }
      const rotations = await deps.store.listDueRotations(now);
      for (const name of rotations) {
        const key = await loadKey(name);
        if (key.rotationPeriodMs === undefined || key.nextRotationTime === undefined) continue;
        let next = key.nextRotationTime;
        while (next <= now) next += key.rotationPeriodMs;
        const version = await deps.store.addVersion(
          name,
          await newVersion(deps, key.algorithm, key.protectionLevel),
          true,
          next,
        );
        deps.logger.info({ cryptoKeyVersion: version.name }, 'crypto key rotated');
      }
      return { erased: due.length, rotated: rotations.length };
    },
  };
}

export type KmsAdmin = ReturnType<typeof createAdmin>;
