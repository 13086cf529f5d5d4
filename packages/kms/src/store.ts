// What the KMS service stores (key rings, keys, versions with sealed material) and its SQL implementation.
import { type Clock, type SqlDatabase, type SqlExecutor, type SqlRow, systemClock } from '@sealroom/core';
import { announceChange, type ChangeCounter, changeCounterOf, createChangeCache } from '@sealroom/iam';
import type { Algorithm, ProtectionLevel, Purpose, VersionState } from './enums.ts';

export interface KeyRingRecord {
  readonly name: string;
  readonly parent: string;
  readonly createTime: number;
}

export interface CryptoKeyRecord {
  readonly name: string;
  readonly parent: string;
  readonly purpose: Purpose;
  readonly algorithm: Algorithm;
  readonly protectionLevel: ProtectionLevel;
  readonly labels: Readonly<Record<string, string>>;
  readonly rotationPeriodMs: number | undefined;
  readonly nextRotationTime: number | undefined;
  readonly primaryVersionId: number | undefined;
  readonly destroyScheduledMs: number;
  readonly createTime: number;
}

export interface VersionRecord {
  readonly name: string;
  readonly parent: string;
  readonly versionId: number;
  readonly state: VersionState;
  readonly algorithm: Algorithm;
  readonly protectionLevel: ProtectionLevel;
  readonly createTime: number;
  readonly destroyTime: number | undefined;
  readonly destroyEventTime: number | undefined;
  /** Key material sealed under the root key with the version name as context; absent once destroyed. */
  readonly sealedMaterial: Buffer | undefined;
  readonly publicPem: string | undefined;
}

export interface NewVersion {
  readonly state: VersionState;
  readonly algorithm: Algorithm;
  readonly protectionLevel: ProtectionLevel;
  readonly createTime: number;
  /** Seals the material for the version name the store assigns. */
  readonly seal: (name: string) => { sealedMaterial: Buffer; publicPem: string | undefined };
}

export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

export interface KmsStore {
  /** Moves on every change to the stored keys (in any replica); what caches of derived state watch. */
  readonly changes?: ChangeCounter;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  insertKeyRing(record: KeyRingRecord): Promise<boolean>;
  getKeyRing(name: string): Promise<KeyRingRecord | undefined>;
  listKeyRings(parent: string, offset: number, limit: number): Promise<Page<KeyRingRecord>>;
  /** Inserts a key and, when `first` is given, its version 1 as primary (if the purpose has one), atomically. */
  insertCryptoKey(record: CryptoKeyRecord, first: NewVersion | undefined, makePrimary: boolean): Promise<boolean>;
  getCryptoKey(name: string): Promise<CryptoKeyRecord | undefined>;
  listCryptoKeys(parent: string, offset: number, limit: number): Promise<Page<CryptoKeyRecord>>;
  updateCryptoKey(record: CryptoKeyRecord): Promise<void>;
  /** Allocates the next version id, inserts it and optionally makes it primary; returns the version. */
  addVersion(key: string, version: NewVersion, makePrimary: boolean, nextRotationTime?: number): Promise<VersionRecord>;
  getVersion(name: string): Promise<VersionRecord | undefined>;
  listVersions(parent: string, offset: number, limit: number): Promise<Page<VersionRecord>>;
  updateVersionState(
    name: string,
    state: VersionState,
    destroyTime: number | undefined,
    destroyEventTime?: number,
  ): Promise<void>;
  /** Erases a version's material for good (scheduled destruction reached). */
  eraseVersion(name: string, destroyEventTime: number): Promise<void>;
  listDueDestructions(now: number): Promise<string[]>;
  listDueRotations(now: number): Promise<string[]>;
}

const MIGRATIONS = [
  `CREATE TABLE kms_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE kms_key_rings (name TEXT PRIMARY KEY, parent TEXT NOT NULL, create_time INTEGER NOT NULL);
CREATE INDEX kms_key_rings_parent ON kms_key_rings (parent, create_time);
CREATE TABLE kms_crypto_keys (
  name TEXT PRIMARY KEY, parent TEXT NOT NULL, purpose TEXT NOT NULL, algorithm TEXT NOT NULL,
  protection_level TEXT NOT NULL, labels TEXT NOT NULL, rotation_period_ms INTEGER, next_rotation_time INTEGER,
  primary_version_id INTEGER, destroy_scheduled_ms INTEGER NOT NULL, create_time INTEGER NOT NULL);
CREATE INDEX kms_crypto_keys_parent ON kms_crypto_keys (parent, create_time);
CREATE TABLE kms_versions (
  name TEXT PRIMARY KEY, parent TEXT NOT NULL, version_id INTEGER NOT NULL, state TEXT NOT NULL,
  algorithm TEXT NOT NULL, protection_level TEXT NOT NULL, create_time INTEGER NOT NULL,
  destroy_time INTEGER, destroy_event_time INTEGER, sealed_material BLOB, public_pem TEXT,
  UNIQUE (parent, version_id));
CREATE INDEX kms_versions_destroy ON kms_versions (state, destroy_time)`,
];

type Row = SqlRow;

function num(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function toKeyRing(row: Row): KeyRingRecord {
  return { name: String(row.name), parent: String(row.parent), createTime: Number(row.create_time) };
}

function toCryptoKey(row: Row): CryptoKeyRecord {
  return {
    name: String(row.name),
    parent: String(row.parent),
    purpose: row.purpose as Purpose,
    algorithm: row.algorithm as Algorithm,
    protectionLevel: row.protection_level as ProtectionLevel,
    labels: JSON.parse(String(row.labels)) as Record<string, string>,
    rotationPeriodMs: num(row.rotation_period_ms),
    nextRotationTime: num(row.next_rotation_time),
    primaryVersionId: num(row.primary_version_id),
    destroyScheduledMs: Number(row.destroy_scheduled_ms),
    createTime: Number(row.create_time),
  };
}

function toVersion(row: Row): VersionRecord {
  const sealed = row.sealed_material;
  return {
    name: String(row.name),
    parent: String(row.parent),
    versionId: Number(row.version_id),
    state: row.state as VersionState,
    algorithm: row.algorithm as Algorithm,
    protectionLevel: row.protection_level as ProtectionLevel,
    createTime: Number(row.create_time),
    destroyTime: num(row.destroy_time),
    destroyEventTime: num(row.destroy_event_time),
    sealedMaterial: sealed instanceof Uint8Array ? Buffer.from(sealed) : undefined,
    publicPem: typeof row.public_pem === 'string' ? row.public_pem : undefined,
  };
}

async function insertVersion(
  tx: SqlExecutor,
  key: string,
  version: NewVersion,
  makePrimary: boolean,
  nextRotationTime: number | undefined,
): Promise<VersionRecord> {
  const row = await tx.get<{ next: number }>(
    'SELECT COALESCE(MAX(version_id), 0) + 1 AS next FROM kms_versions WHERE parent = ?',
    [key],
  );
  const versionId = Number(row?.next ?? 1);
  const name = `${key}/cryptoKeyVersions/${versionId}`;
  const { sealedMaterial, publicPem } = version.seal(name);
  await tx.run(
    `INSERT INTO kms_versions (name, parent, version_id, state, algorithm, protection_level, create_time,
       sealed_material, public_pem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      name,
      key,
      versionId,
      version.state,
      version.algorithm,
      version.protectionLevel,
      version.createTime,
      sealedMaterial,
      publicPem ?? null,
    ],
  );
  if (makePrimary) {
    await tx.run('UPDATE kms_crypto_keys SET primary_version_id = ? WHERE name = ?', [versionId, key]);
  }
  if (nextRotationTime !== undefined) {
    await tx.run('UPDATE kms_crypto_keys SET next_rotation_time = ? WHERE name = ?', [nextRotationTime, key]);
  }
  return {
    name,
    parent: key,
    versionId,
    state: version.state,
    algorithm: version.algorithm,
    protectionLevel: version.protectionLevel,
    createTime: version.createTime,
    destroyTime: undefined,
    destroyEventTime: undefined,
    sealedMaterial,
    publicPem,
  };
}

async function page<T>(
  db: SqlDatabase,
  table: string,
  order: string,
  parent: string,
  offset: number,
  limit: number,
  map: (row: Row) => T,
): Promise<Page<T>> {
  const rows = await db.all(`SELECT * FROM ${table} WHERE parent = ? ORDER BY ${order} LIMIT ? OFFSET ?`, [
    parent,
    limit,
    offset,
  ]);
  const count = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE parent = ?`, [parent]);
  return { items: rows.map(map), total: Number(count?.n ?? 0) };
}

/** The channel on which every replica on the database hears of a change to a key ring, key or version. */
export const KMS_CHANGE_CHANNEL = 'sealroom_kms_changes';

/**
 * Creates the tables (once) and returns the store. Keys and versions are read on every cryptographic call,
 * so they are kept in memory until any KMS change, here or in another replica sharing the database, is
 * announced: each write below announces its change once committed, before it resolves, so a version
 * disabled or destroyed by a call that was answered is refused at once.
 */
export async function openSqlKmsStore(db: SqlDatabase, clock: Clock = systemClock): Promise<KmsStore> {
  await db.migrate('kms', MIGRATIONS);
  const counter = changeCounterOf(db, KMS_CHANGE_CHANNEL);
  const rings = createChangeCache<KeyRingRecord | undefined>({ counter, clock });
  const keys = createChangeCache<CryptoKeyRecord | undefined>({ counter, clock });
  const versions = createChangeCache<VersionRecord | undefined>({ counter, clock });
  const changed = () => announceChange(db, KMS_CHANGE_CHANNEL);
  const store = sqlKmsStore(db);
  return {
    ...store,
    changes: counter,
    getKeyRing: (name) => rings.read(name, () => store.getKeyRing(name)),
    getCryptoKey: (name) => keys.read(name, () => store.getCryptoKey(name)),
    getVersion: (name) => versions.read(name, () => store.getVersion(name)),
    async insertKeyRing(record) {
      const inserted = await store.insertKeyRing(record);
      await changed();
      return inserted;
    },
    async insertCryptoKey(record, first, makePrimary) {
      const inserted = await store.insertCryptoKey(record, first, makePrimary);
      await changed();
      return inserted;
    },
    async updateCryptoKey(record) {
      await store.updateCryptoKey(record);
      await changed();
    },
    async addVersion(key, version, makePrimary, nextRotationTime) {
      const added = await store.addVersion(key, version, makePrimary, nextRotationTime);
      await changed();
      return added;
    },
    async updateVersionState(name, state, destroyTime, destroyEventTime) {
      await store.updateVersionState(name, state, destroyTime, destroyEventTime);
      await changed();
    },
    async eraseVersion(name, destroyEventTime) {
      await store.eraseVersion(name, destroyEventTime);
      await changed();
    },
  };
}

function sqlKmsStore(db: SqlDatabase): KmsStore {
  return {
    async getMeta(key) {
      const row = await db.get('SELECT value FROM kms_meta WHERE key = ?', [key]);
      return row ? String(row.value) : undefined;
    },
    async setMeta(key, value) {
      await db.run('INSERT INTO kms_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?', [
        key,
        value,
        value,
      ]);
    },
    async insertKeyRing(record) {
      const result = await db.run(
        'INSERT INTO kms_key_rings (name, parent, create_time) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
        [record.name, record.parent, record.createTime],
      );
      return result.changes === 1;
    },
    async getKeyRing(name) {
      const row = await db.get('SELECT * FROM kms_key_rings WHERE name = ?', [name]);
      return row ? toKeyRing(row) : undefined;
    },
    listKeyRings: (parent, offset, limit) =>
      page(db, 'kms_key_rings', 'create_time, name', parent, offset, limit, toKeyRing),
    async insertCryptoKey(record, first, makePrimary) {
      return db.transaction(async (tx) => {
        const result = await tx.run(
          `INSERT INTO kms_crypto_keys (name, parent, purpose, algorithm, protection_level, labels, rotation_period_ms,
             next_rotation_time, primary_version_id, destroy_scheduled_ms, create_time)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (name) DO NOTHING`,
          [
            record.name,
            record.parent,
            record.purpose,
            record.algorithm,
            record.protectionLevel,
            JSON.stringify(record.labels),
            record.rotationPeriodMs ?? null,
            record.nextRotationTime ?? null,
            record.destroyScheduledMs,
            record.createTime,
          ],
        );
        if (result.changes !== 1) return false;
        if (first) await insertVersion(tx, record.name, first, makePrimary, undefined);
        return true;
      });
    },
    async getCryptoKey(name) {
      const row = await db.get('SELECT * FROM kms_crypto_keys WHERE name = ?', [name]);
      return row ? toCryptoKey(row) : undefined;
    },
    listCryptoKeys: (parent, offset, limit) =>
      page(db, 'kms_crypto_keys', 'create_time, name', parent, offset, limit, toCryptoKey),
    async updateCryptoKey(record) {
      await db.run(
        `UPDATE kms_crypto_keys SET algorithm = ?, labels = ?, rotation_period_ms = ?, next_rotation_time = ?,
           primary_version_id = ? WHERE name = ?`,
        [
          record.algorithm,
          JSON.stringify(record.labels),
          record.rotationPeriodMs ?? null,
          record.nextRotationTime ?? null,
          record.primaryVersionId ?? null,
          record.name,
        ],
      );
    },
    addVersion: (key, version, makePrimary, nextRotationTime) =>
      db.transaction((tx) => insertVersion(tx, key, version, makePrimary, nextRotationTime)),
    async getVersion(name) {
      const row = await db.get('SELECT * FROM kms_versions WHERE name = ?', [name]);
      return row ? toVersion(row) : undefined;
    },
    listVersions: (parent, offset, limit) => page(db, 'kms_versions', 'version_id', parent, offset, limit, toVersion),
    async updateVersionState(name, state, destroyTime, destroyEventTime) {
      await db.run('UPDATE kms_versions SET state = ?, destroy_time = ?, destroy_event_time = ? WHERE name = ?', [
        state,
        destroyTime ?? null,
        destroyEventTime ?? null,
        name,
      ]);
    },
    async eraseVersion(name, destroyEventTime) {
      await db.run(
        `UPDATE kms_versions SET state = 'DESTROYED', sealed_material = NULL, destroy_event_time = ? WHERE name = ?`,
        [destroyEventTime, name],
      );
    },
    async listDueDestructions(now) {
      const rows = await db.all(
        `SELECT name FROM kms_versions WHERE state = 'DESTROY_SCHEDULED' AND destroy_time <= ?`,
        [now],
      );
      return rows.map((r) => String(r.name));
    },
    async listDueRotations(now) {
      const rows = await db.all(
        `SELECT name FROM kms_crypto_keys WHERE next_rotation_time IS NOT NULL AND next_rotation_time <= ?
           AND purpose = 'ENCRYPT_DECRYPT'`,
        [now],
      );
      return rows.map((r) => String(r.name));
    },
  };
}
