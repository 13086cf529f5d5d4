// What the registry stores in SQL: repositories, per-image blob links, upload sessions, manifests,
// tags and referrers. Blob bytes live on disk (blob-store.ts); rows only point at them by digest.
import type { SqlDatabase, SqlRow } from '@sealroom/core';

export interface RepositoryRecord {
  /** `projects/{projectId}/locations/{location}/repositories/{repositoryId}`. */
  readonly name: string;
  readonly projectNumber: string;
  readonly projectId: string;
  readonly location: string;
  readonly repositoryId: string;
  readonly format: 'DOCKER';
  readonly description: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createTime: number;
}

export interface ManifestRecord {
  /** Full OCI name, `project/repository/image…`. */
  readonly image: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | undefined;
  readonly subject: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createTime: number;
}

export interface UploadRecord {
  readonly id: string;
  readonly image: string;
  readonly offset: number;
  readonly createTime: number;
}

export interface RegistryStore {
  createRepository(record: RepositoryRecord): Promise<boolean>;
  getRepository(projectNumber: string, repositoryId: string): Promise<RepositoryRecord | undefined>;
  listRepositories(projectNumber: string, location: string): Promise<RepositoryRecord[]>;
  linkBlob(image: string, digest: string, size: number): Promise<void>;
  getBlobLink(image: string, digest: string): Promise<{ size: number } | undefined>;
  unlinkBlob(image: string, digest: string): Promise<boolean>;
  createUpload(record: UploadRecord): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  setUploadOffset(id: string, from: number, to: number): Promise<boolean>;
  deleteUpload(id: string): Promise<void>;
  /** Upload ids started before `time` (ms), for the sweep of abandoned uploads. */
  listUploadsBefore(time: number): Promise<string[]>;
  putManifest(record: ManifestRecord, tag: string | undefined): Promise<void>;
  getManifest(image: string, digest: string): Promise<ManifestRecord | undefined>;
  deleteManifest(image: string, digest: string): Promise<boolean>;
  resolveTag(image: string, tag: string): Promise<string | undefined>;
  deleteTag(image: string, tag: string): Promise<boolean>;
  listTags(image: string): Promise<string[]>;
  listReferrers(image: string, subject: string): Promise<ManifestRecord[]>;
  /** Manifests under `prefix/` (a repository), with their tags. */
  listManifests(prefix: string): Promise<(ManifestRecord & { tags: string[] })[]>;
}

const MIGRATIONS = [
  `CREATE TABLE registry_repositories (
     project_number TEXT NOT NULL, repository_id TEXT NOT NULL, project_id TEXT NOT NULL, location TEXT NOT NULL,
     format TEXT NOT NULL, description TEXT NOT NULL, labels TEXT NOT NULL, create_time INTEGER NOT NULL,
     PRIMARY KEY (project_number, repository_id))`,
  `CREATE TABLE registry_blob_links (image TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (image, digest))`,
  `CREATE TABLE registry_uploads (id TEXT PRIMARY KEY, image TEXT NOT NULL, offset_bytes INTEGER NOT NULL, create_time INTEGER NOT NULL)`,
  `CREATE TABLE registry_manifests (
     image TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, artifact_type TEXT,
     subject TEXT, annotations TEXT NOT NULL, create_time INTEGER NOT NULL, PRIMARY KEY (image, digest))`,
  `CREATE INDEX registry_manifests_subject ON registry_manifests (image, subject)`,
  `CREATE TABLE registry_tags (image TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (image, tag))`,
];

const str = (row: SqlRow, key: string) => String(row[key]);
const optional = (row: SqlRow, key: string) =>
  row[key] === null || row[key] === undefined ? undefined : String(row[key]);

function toRepository(row: SqlRow): RepositoryRecord {
  return {
    name: `projects/${str(row, 'project_id')}/locations/${str(row, 'location')}/repositories/${str(row, 'repository_id')}`,
    projectNumber: str(row, 'project_number'),
    projectId: str(row, 'project_id'),
    location: str(row, 'location'),
    repositoryId: str(row, 'repository_id'),
    format: 'DOCKER',
    description: str(row, 'description'),
    labels: JSON.parse(str(row, 'labels')) as Record<string, string>,
    createTime: Number(row.create_time),
  };
}

function toManifest(row: SqlRow): ManifestRecord {
  return {
    image: str(row, 'image'),
    digest: str(row, 'digest'),
    mediaType: str(row, 'media_type'),
    size: Number(row.size),
    artifactType: optional(row, 'artifact_type'),
    subject: optional(row, 'subject'),
    annotations: JSON.parse(str(row, 'annotations')) as Record<string, string>,
    createTime: Number(row.create_time),
  };
}

export async function openSqlRegistryStore(db: SqlDatabase): Promise<RegistryStore> {
  await db.migrate('registry', MIGRATIONS);
  return {
    async createRepository(r) {
      const result = await db.run(
        `INSERT INTO registry_repositories (project_number, repository_id, project_id, location, format, description, labels, create_time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [
          r.projectNumber,
          r.repositoryId,
          r.projectId,
          r.location,
          r.format,
          r.description,
          JSON.stringify(r.labels),
          r.createTime,
        ],
      );
      return result.changes === 1;
    },
    async getRepository(projectNumber, repositoryId) {
      const row = await db.get('SELECT * FROM registry_repositories WHERE project_number = ? AND repository_id = ?', [
        projectNumber,
        repositoryId,
      ]);
      return row ? toRepository(row) : undefined;
    },
    async listRepositories(projectNumber, location) {
      const rows = await db.all(
        `SELECT * FROM registry_repositories WHERE project_number = ? AND (location = ? OR ? = '-') ORDER BY repository_id`,
        [projectNumber, location, location],
      );
      return rows.map(toRepository);
    },
    async linkBlob(image, digest, size) {
      await db.run('INSERT INTO registry_blob_links (image, digest, size) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
        image,
        digest,
        size,
      ]);
    },
    async getBlobLink(image, digest) {
      const row = await db.get('SELECT size FROM registry_blob_links WHERE image = ? AND digest = ?', [image, digest]);
      return row ? { size: Number(row.size) } : undefined;
    },
    async unlinkBlob(image, digest) {
      return (
        (await db.run('DELETE FROM registry_blob_links WHERE image = ? AND digest = ?', [image, digest])).changes > 0
      );
    },
    async createUpload(u) {
      await db.run('INSERT INTO registry_uploads (id, image, offset_bytes, create_time) VALUES (?, ?, ?, ?)', [
        u.id,
        u.image,
        u.offset,
        u.createTime,
      ]);
    },
    async getUpload(id) {
      const row = await db.get('SELECT * FROM registry_uploads WHERE id = ?', [id]);
      return row
        ? {
            id: str(row, 'id'),
            image: str(row, 'image'),
            offset: Number(row.offset_bytes),
            createTime: Number(row.create_time),
          }
        : undefined;
    },
    async setUploadOffset(id, from, to) {
      return (
        (await db.run('UPDATE registry_uploads SET offset_bytes = ? WHERE id = ? AND offset_bytes = ?', [to, id, from]))
          .changes === 1
      );
    },
    async deleteUpload(id) {
      await db.run('DELETE FROM registry_uploads WHERE id = ?', [id]);
    },
    async listUploadsBefore(time) {
      const rows = await db.all('SELECT id FROM registry_uploads WHERE create_time < ?', [time]);
      return rows.map((r) => str(r, 'id'));
    },
    async putManifest(m, tag) {
      await db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO registry_manifests (image, digest, media_type, size, artifact_type, subject, annotations, create_time)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          [
            m.image,
            m.digest,
            m.mediaType,
            m.size,
            m.artifactType ?? null,
            m.subject ?? null,
            JSON.stringify(m.annotations),
            m.createTime,
          ],
        );
        if (tag !== undefined) {
          await tx.run(
            'INSERT INTO registry_tags (image, tag, digest) VALUES (?, ?, ?) ON CONFLICT (image, tag) DO UPDATE SET digest = excluded.digest',
            [m.image, tag, m.digest],
          );
        }
      });
    },
    async getManifest(image, digest) {
      const row = await db.get('SELECT * FROM registry_manifests WHERE image = ? AND digest = ?', [image, digest]);
      return row ? toManifest(row) : undefined;
    },
    async deleteManifest(image, digest) {
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM registry_tags WHERE image = ? AND digest = ?', [image, digest]);
        return (
          (await tx.run('DELETE FROM registry_manifests WHERE image = ? AND digest = ?', [image, digest])).changes > 0
        );
      });
    },
    async resolveTag(image, tag) {
      const row = await db.get('SELECT digest FROM registry_tags WHERE image = ? AND tag = ?', [image, tag]);
      return row ? str(row, 'digest') : undefined;
    },
    async deleteTag(image, tag) {
      return (await db.run('DELETE FROM registry_tags WHERE image = ? AND tag = ?', [image, tag])).changes > 0;
    },
    async listTags(image) {
      const rows = await db.all('SELECT tag FROM registry_tags WHERE image = ? ORDER BY tag', [image]);
      return rows.map((r) => str(r, 'tag'));
    },
    async listReferrers(image, subject) {
      const rows = await db.all('SELECT * FROM registry_manifests WHERE image = ? AND subject = ? ORDER BY digest', [
        image,
        subject,
      ]);
      return rows.map(toManifest);
    },
    async listManifests(prefix) {
      const rows = await db.all(
        `SELECT * FROM registry_manifests WHERE substr(image, 1, ?) = ? ORDER BY image, create_time, digest`,
        [prefix.length + 1, `${prefix}/`],
      );
      const tags = await db.all(
        `SELECT image, tag, digest FROM registry_tags WHERE substr(image, 1, ?) = ? ORDER BY tag`,
        [prefix.length + 1, `${prefix}/`],
      );
      return rows.map((row) => {
        const m = toManifest(row);
        return {
          ...m,
          tags: tags.filter((t) => t.image === m.image && t.digest === m.digest).map((t) => str(t, 'tag')),
        };
      });
    },
  };
}
