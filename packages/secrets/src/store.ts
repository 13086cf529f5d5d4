// What Secret Manager stores (secrets, versions with sealed payloads) and its SQL implementation.
import type { SqlDatabase, SqlRow } from '@sealroom/core';

export type SecretVersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

export interface SecretRecord {
  /** `projects/{number}/secrets/{id}`: Secret Manager names carry the project number. */
  readonly name: string;
  readonly projectNumber: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createTime: number;
  readonly updateTime: number;
}

export interface SecretVersionRecord {
  readonly name: string;
  readonly parent: string;
  readonly versionId: number;
  readonly state: SecretVersionState;
  readonly createTime: number;
  readonly destroyTime: number | undefined;
  readonly clientSpecifiedPayloadChecksum: boolean;
  /** The payload sealed under the root key with the version name as context; absent once destroyed. */
  readonly sealedPayload: Buffer | undefined;
}

export interface SecretsStore {
  insertSecret(record: SecretRecord): Promise<boolean>;
  getSecret(name: string): Promise<SecretRecord | undefined>;
  listSecrets(projectNumber: string, offset: number, limit: number): Promise<{ items: SecretRecord[]; total: number }>;
  updateSecret(record: SecretRecord): Promise<void>;
  deleteSecret(name: string): Promise<void>;
  /** Allocates the next version number and stores the payload sealed by `seal(versionName)`. */
  addVersion(
    secret: string,
    createTime: number,
    clientChecksum: boolean,
    seal: (name: string) => Buffer,
  ): Promise<SecretVersionRecord>;
  getVersion(name: string): Promise<SecretVersionRecord | undefined>;
  latestVersion(secret: string): Promise<SecretVersionRecord | undefined>;
  listVersions(secret: string, offset: number, limit: number): Promise<{ items: SecretVersionRecord[]; total: number }>;
  setVersionState(name: string, state: SecretVersionState, destroyTime: number | undefined): Promise<void>;
}

const MIGRATIONS = [
  `CREATE TABLE secrets_secrets (
  name TEXT PRIMARY KEY, project_number TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,
  create_time INTEGER NOT NULL, update_time INTEGER NOT NULL);
CREATE INDEX secrets_secrets_project ON secrets_secrets (project_number, create_time);
CREATE TABLE secrets_versions (
  name TEXT PRIMARY KEY, parent TEXT NOT NULL, version_id INTEGER NOT NULL, state TEXT NOT NULL,
  create_time INTEGER NOT NULL, destroy_time INTEGER, client_checksum INTEGER NOT NULL, sealed_payload BLOB,
  UNIQUE (parent, version_id))`,
];

function toSecret(row: SqlRow): SecretRecord {
  return {
    name: String(row.name),
    projectNumber: String(row.project_number),
    labels: JSON.parse(String(row.labels)) as Record<string, string>,
    annotations: JSON.parse(String(row.annotations)) as Record<string, string>,
    createTime: Number(row.create_time),
    updateTime: Number(row.update_time),
  };
}

function toVersion(row: SqlRow): SecretVersionRecord {
  return {
    name: String(row.name),
    parent: String(row.parent),
    versionId: Number(row.version_id),
    state: row.state as SecretVersionState,
    createTime: Number(row.create_time),
    destroyTime: row.destroy_time === null ? undefined : Number(row.destroy_time),
    clientSpecifiedPayloadChecksum: Number(row.client_checksum) === 1,
    sealedPayload: row.sealed_payload instanceof Uint8Array ? Buffer.from(row.sealed_payload) : undefined,
  };
}

export async function openSqlSecretsStore(db: SqlDatabase): Promise<SecretsStore> {
  await db.migrate('secrets', MIGRATIONS);
  return {
    async insertSecret(r) {
      const result = await db.run(
        `INSERT INTO secrets_secrets (name, project_number, labels, annotations, create_time, update_time)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
        [r.name, r.projectNumber, JSON.stringify(r.labels), JSON.stringify(r.annotations), r.createTime, r.updateTime],
      );
      return result.changes === 1;
    },
    async getSecret(name) {
      const row = await db.get('SELECT * FROM secrets_secrets WHERE name = ?', [name]);
      return row ? toSecret(row) : undefined;
    },
    async listSecrets(projectNumber, offset, limit) {
      const rows = await db.all(
        'SELECT * FROM secrets_secrets WHERE project_number = ? ORDER BY create_time, name LIMIT ? OFFSET ?',
        [projectNumber, limit, offset],
      );
      const count = await db.get('SELECT COUNT(*) AS n FROM secrets_secrets WHERE project_number = ?', [projectNumber]);
      return { items: rows.map(toSecret), total: Number(count?.n ?? 0) };
    },
    async updateSecret(r) {
      await db.run('UPDATE secrets_secrets SET labels = ?, annotations = ?, update_time = ? WHERE name = ?', [
        JSON.stringify(r.labels),
        JSON.stringify(r.annotations),
        r.updateTime,
        r.name,
      ]);
    },
    async deleteSecret(name) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM secrets_versions WHERE parent = ?', [name]);
        await tx.run('DELETE FROM secrets_secrets WHERE name = ?', [name]);
      });
    },
    addVersion(secret, createTime, clientChecksum, seal) {
      return db.transaction(async (tx) => {
        const row = await tx.get(
          'SELECT COALESCE(MAX(version_id), 0) + 1 AS next FROM secrets_versions WHERE parent = ?',
          [secret],
        );
        const versionId = Number(row?.next ?? 1);
        const name = `${secret}/versions/${versionId}`;
        const sealedPayload = seal(name);
        await tx.run(
          `INSERT INTO secrets_versions (name, parent, version_id, state, create_time, destroy_time, client_checksum, sealed_payload)
           VALUES (?, ?, ?, 'ENABLED', ?, NULL, ?, ?)`,
          [name, secret, versionId, createTime, clientChecksum ? 1 : 0, sealedPayload],
        );
        return {
          name,
          parent: secret,
          versionId,
          state: 'ENABLED' as const,
          createTime,
          destroyTime: undefined,
          clientSpecifiedPayloadChecksum: clientChecksum,
          sealedPayload,
        };
      });
    },
    async getVersion(name) {
      const row = await db.get('SELECT * FROM secrets_versions WHERE name = ?', [name]);
      return row ? toVersion(row) : undefined;
    },
    async latestVersion(secret) {
      const row = await db.get('SELECT * FROM secrets_versions WHERE parent = ? ORDER BY version_id DESC LIMIT 1', [
        secret,
      ]);
      return row ? toVersion(row) : undefined;
    },
    async listVersions(secret, offset, limit) {
      const rows = await db.all(
        'SELECT * FROM secrets_versions WHERE parent = ? ORDER BY version_id DESC LIMIT ? OFFSET ?',
        [secret, limit, offset],
      );
      const count = await db.get('SELECT COUNT(*) AS n FROM secrets_versions WHERE parent = ?', [secret]);
      return { items: rows.map(toVersion), total: Number(count?.n ?? 0) };
    },
    async setVersionState(name, state, destroyTime) {
      if (state === 'DESTROYED') {
        await db.run(
          `UPDATE secrets_versions SET state = 'DESTROYED', destroy_time = ?, sealed_payload = NULL WHERE name = ?`,
          [destroyTime ?? null, name],
        );
      } else {
        await db.run('UPDATE secrets_versions SET state = ? WHERE name = ?', [state, name]);
      }
    },
  };
}
