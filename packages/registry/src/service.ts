// The registry's domain: Artifact Registry repositories and the OCI distribution operations on the
// images inside them, each authorised by IAM on the repository. Knows no HTTP.
import type { Readable } from 'node:stream';
import {
  type AuditLog,
  type Authorizer,
  type Caller,
  type Clock,
  CoreError,
  newUuid,
  type ProjectResolver,
} from '@sealroom/core';
import { createServiceAccess } from '@sealroom/iam';
import {
  computeDigest,
  type Descriptor,
  type ImageIndex,
  isDigest,
  isTag,
  OCI_INDEX,
  parseDigest,
} from '@sealroom/formats';
import type { BlobStore } from './blob-store.ts';
import { RegistryError } from './errors.ts';
import { validateManifest } from './manifest-check.ts';
import { assertRepositoryName } from './reference.ts';
import type { ManifestRecord, RegistryStore, RepositoryRecord } from './store.ts';

export const PULL = 'artifactregistry.repositories.downloadArtifacts';
export const PUSH = 'artifactregistry.repositories.uploadArtifacts';
export const DELETE = 'artifactregistry.repositories.deleteArtifacts';
const CREATE_REPOSITORY = 'artifactregistry.repositories.create';
const GET_REPOSITORY = 'artifactregistry.repositories.get';
const LIST_REPOSITORIES = 'artifactregistry.repositories.list';
const METHOD = 'google.devtools.artifactregistry.v1.ArtifactRegistry';
/** Artifact Registry repository ids: lowercase letters, digits and hyphens, starting with a letter. */
const REPOSITORY_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LOCATION = /^[a-z][a-z0-9-]{0,62}$/;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024 * 1024;
/** Uploads not finished within a day are abandoned; their bytes are deleted by the sweep. */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

export type Access = typeof PULL | typeof PUSH | typeof DELETE;
/** Audit method names for refused image access. */
const METHOD_OF: Readonly<Record<Access, string>> = {
  [PULL]: 'DownloadArtifacts',
  [PUSH]: 'UploadArtifacts',
  [DELETE]: 'DeleteArtifacts',
};

export interface RegistryOptions {
  readonly store: RegistryStore;
  readonly blobs: BlobStore;
  readonly authorizer: Authorizer;
  readonly audit: AuditLog;
  readonly projects: ProjectResolver;
  readonly clock: Clock;
  readonly maxBlobBytes?: number;
}

export interface StoredManifest {
  readonly record: ManifestRecord;
  readonly bytes: Buffer;
}

export type Registry = ReturnType<typeof createRegistry>;

export function createRegistry(options: RegistryOptions) {
  const { store, blobs, projects, clock } = options;
  const access = createServiceAccess({ authorizer: options.authorizer, audit: options.audit, clock });
  const maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;

  /** `project/repository/image…` → its repository, after IAM allowed `permission` (denied and missing look alike). */
  async function authorizeImage(
    caller: Caller | undefined,
    image: string,
    permission: Access,
  ): Promise<RepositoryRecord> {
    assertRepositoryName(image);
    const [projectId, repositoryId, ...rest] = image.split('/');
    if (rest.length === 0 || projectId === undefined || repositoryId === undefined) {
      throw new RegistryError(
        'ERR_REGISTRY_BAD_REFERENCE',
        `Image names are PROJECT/REPOSITORY/IMAGE, not '${image}'.`,
      );
    }
    const project = await projects.resolve(projectId);
    const repository = project ? await store.getRepository(project.projectNumber, repositoryId) : undefined;
    const resource = repository ? repository.name : `projects/${projectId}`;
    // Named from the request alone (the location is unknown until the repository is found), so the refusal
    // reads the same whether or not the repository exists.
    await access.require({
      caller,
      permission,
      resource,
      shownAs: `projects/${projectId}/locations/-/repositories/${repositoryId}`,
      denial: { project: projectId, method: `${METHOD}.${METHOD_OF[permission]}`, details: { image } },
    });
    if (!repository || repository.projectId !== projectId) {
      throw new RegistryError('ERR_REGISTRY_NAME_UNKNOWN', `Repository '${projectId}/${repositoryId}' does not exist.`);
    }
    return repository;
  }

  async function record(
    caller: Caller | undefined,
    repository: RepositoryRecord,
    method: string,
    details: Record<string, unknown>,
  ) {
    await access.record(
      { caller, project: repository.projectId, method: `${METHOD}.${method}`, resource: repository.name },
      details,
    );
  }

  async function findRepository(name: string): Promise<RepositoryRecord | undefined> {
    const [, projectId = '', , location = '', , repositoryId = ''] = name.split('/');
    const project = await projects.resolve(projectId);
    const repository = project ? await store.getRepository(project.projectNumber, repositoryId) : undefined;
    return repository && repository.location === location ? repository : undefined;
  }

  async function getUploadFor(image: string, id: string) {
    const upload = await store.getUpload(id);
    if (!upload || upload.image !== image)
      throw new RegistryError('ERR_REGISTRY_UPLOAD_UNKNOWN', 'Unknown blob upload.');
    return upload;
  }

  async function resolveReference(image: string, reference: string): Promise<string> {
    if (isDigest(reference)) return reference;
    if (!isTag(reference)) throw new RegistryError('ERR_REGISTRY_BAD_REFERENCE', 'Invalid tag or digest.');
    const digest = await store.resolveTag(image, reference);
    if (!digest) throw new RegistryError('ERR_REGISTRY_MANIFEST_UNKNOWN', `Manifest '${reference}' is unknown.`);
    return digest;
  }

  return {
    authorizeImage,

    async createRepository(
      caller: Caller | undefined,
      parent: { projectId: string; location: string },
      repositoryId: string,
      input: { format?: string; description?: string; labels?: Record<string, string> },
    ) {
      if (!REPOSITORY_ID.test(repositoryId))
        throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid repository id '${repositoryId.slice(0, 80)}'.`);
      if (!LOCATION.test(parent.location))
        throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid location '${parent.location.slice(0, 80)}'.`);
      if (input.format !== undefined && input.format.toUpperCase() !== 'DOCKER') {
        throw new CoreError(
          'ERR_UNIMPLEMENTED',
          `Repository format '${input.format.slice(0, 40)}' is not offered; use DOCKER.`,
        );
      }
      const parentName = `projects/${parent.projectId}/locations/${parent.location}`;
      await access.require({ caller, permission: CREATE_REPOSITORY, resource: parentName });
      const project = await projects.resolve(parent.projectId);
      if (!project) throw new CoreError('ERR_NOT_FOUND', `Project ${parent.projectId} not found.`);
      const repository: RepositoryRecord = {
        name: `projects/${project.projectId}/locations/${parent.location}/repositories/${repositoryId}`,
        projectNumber: project.projectNumber,
        projectId: project.projectId,
        location: parent.location,
        repositoryId,
        format: 'DOCKER',
        description: input.description ?? '',
        labels: input.labels ?? {},
        createTime: clock.now(),
      };
      if (!(await store.createRepository(repository)))
        throw new CoreError('ERR_ALREADY_EXISTS', `Repository ${repositoryId} already exists.`);
      await record(caller, repository, 'CreateRepository', {});
      return repository;
    },

    async getRepository(caller: Caller | undefined, name: string): Promise<RepositoryRecord> {
      await access.require({ caller, permission: GET_REPOSITORY, resource: name });
      const repository = await findRepository(name);
      if (!repository) throw new CoreError('ERR_NOT_FOUND', `Repository ${name} not found.`);
      return repository;
    },

    /** For the IAM policy routes, which ask only after the caller passed authorization. */
    repositoryExists: async (name: string): Promise<boolean> => (await findRepository(name)) !== undefined,

    async listRepositories(caller: Caller | undefined, parent: { projectId: string; location: string }) {
      await access.require({
        caller,
        permission: LIST_REPOSITORIES,
        resource: `projects/${parent.projectId}/locations/${parent.location}`,
      });
      const project = await projects.resolve(parent.projectId);
      return project ? store.listRepositories(project.projectNumber, parent.location) : [];
    },

    async listImages(caller: Caller | undefined, repositoryName: string) {
      const repository = await this.getRepository(caller, repositoryName);
      await access.require({ caller, permission: PULL, resource: repository.name });
      return store.listManifests(`${repository.projectId}/${repository.repositoryId}`);
    },

    /** Deletes uploads older than UPLOAD_TTL_MS (files and rows); returns how many. */
    async sweepUploads(): Promise<number> {
      const stale = await store.listUploadsBefore(clock.now() - UPLOAD_TTL_MS);
      for (const id of stale) {
        await blobs.deleteUpload(id);
        await store.deleteUpload(id);
      }
      return stale.length;
    },

    async startUpload(caller: Caller | undefined, image: string): Promise<string> {
      await authorizeImage(caller, image, PUSH);
      const id = newUuid();
      await store.createUpload({ id, image, offset: 0, createTime: clock.now() });
      return id;
    },

    /** Cross-repository mount: only when the caller may also pull `from` and the blob is there. */
    async mountBlob(caller: Caller | undefined, image: string, digest: string, from: string): Promise<boolean> {
      await authorizeImage(caller, image, PUSH);
      parseDigest(digest);
      const allowed = await authorizeImage(caller, from, PULL).then(
        () => true,
        () => false,
      );
      const link = allowed ? await store.getBlobLink(from, digest) : undefined;
      if (!link) return false;
      await store.linkBlob(image, digest, link.size);
      return true;
    },

    async uploadChunk(
      caller: Caller | undefined,
      image: string,
      id: string,
      body: Readable,
      range: { start: number; end: number } | undefined,
    ): Promise<number> {
      await authorizeImage(caller, image, PUSH);
      const upload = await getUploadFor(image, id);
      if (range && range.start !== upload.offset) {
        throw new RegistryError(
          'ERR_REGISTRY_UPLOAD_INVALID',
          `Chunk starts at ${range.start}, the upload is at ${upload.offset}.`,
        );
      }
      const size = await blobs.appendUpload(id, body, maxBlobBytes);
      if (range && size !== range.end + 1) {
        await blobs.deleteUpload(id);
        await store.deleteUpload(id);
        throw new RegistryError(
          'ERR_REGISTRY_SIZE_INVALID',
          'The chunk length does not match its Content-Range; the upload was discarded.',
        );
      }
      if (!(await store.setUploadOffset(id, upload.offset, size)))
        throw new RegistryError('ERR_REGISTRY_UPLOAD_INVALID', 'A concurrent chunk won.');
      return size;
    },

    async uploadStatus(caller: Caller | undefined, image: string, id: string): Promise<number> {
      await authorizeImage(caller, image, PUSH);
      return (await getUploadFor(image, id)).offset;
    },

    /** Final PUT: appends the last bytes, checks the digest, links the blob; on mismatch nothing is kept. */
    async completeUpload(
      caller: Caller | undefined,
      image: string,
      id: string,
      digest: string,
      body: Readable | undefined,
    ): Promise<string> {
      await authorizeImage(caller, image, PUSH);
      await getUploadFor(image, id);
      parseDigest(digest);
      try {
        if (body) await blobs.appendUpload(id, body, maxBlobBytes);
        const size = await blobs.commitUpload(id, digest);
        await store.linkBlob(image, digest, size);
      } catch (error) {
        await blobs.deleteUpload(id);
        throw error;
      } finally {
        await store.deleteUpload(id);
      }
      return digest;
    },

    async cancelUpload(caller: Caller | undefined, image: string, id: string): Promise<void> {
      await authorizeImage(caller, image, PUSH);
      await getUploadFor(image, id);
      await blobs.deleteUpload(id);
      await store.deleteUpload(id);
    },

    async statBlob(caller: Caller | undefined, image: string, digest: string): Promise<number> {
      await authorizeImage(caller, image, PULL);
      parseDigest(digest);
      const link = await store.getBlobLink(image, digest);
      if (!link || (await blobs.size(digest)) === undefined)
        throw new RegistryError('ERR_REGISTRY_BLOB_UNKNOWN', `Blob ${digest} is unknown.`);
      return link.size;
    },

    readBlob: (digest: string): Readable => blobs.read(digest),

    async deleteBlob(caller: Caller | undefined, image: string, digest: string): Promise<void> {
      const repository = await authorizeImage(caller, image, DELETE);
      parseDigest(digest);
      if (!(await store.unlinkBlob(image, digest)))
        throw new RegistryError('ERR_REGISTRY_BLOB_UNKNOWN', `Blob ${digest} is unknown.`);
      await record(caller, repository, 'DeleteBlob', { image, digest });
    },

    async putManifest(
      caller: Caller | undefined,
      image: string,
      reference: string,
      contentType: string | undefined,
      bytes: Buffer,
    ): Promise<{ digest: string; subject: string | undefined }> {
      const repository = await authorizeImage(caller, image, PUSH);
      if (bytes.length > MAX_MANIFEST_BYTES)
        throw new RegistryError('ERR_REGISTRY_SIZE_INVALID', 'Manifests are limited to 4 MiB.');
      const digest = computeDigest(bytes);
      if (isDigest(reference) && reference !== digest) {
        throw new RegistryError(
          'ERR_REGISTRY_DIGEST_MISMATCH',
          `Manifest digest ${digest} does not match ${reference}.`,
        );
      }
      if (!isDigest(reference) && !isTag(reference))
        throw new RegistryError('ERR_REGISTRY_BAD_REFERENCE', 'Invalid tag.');
      const checked = await validateManifest(bytes, contentType, {
        hasBlob: async (d: Descriptor) => (await store.getBlobLink(image, d.digest))?.size === d.size,
        hasManifest: async (d: Descriptor) => (await store.getManifest(image, d.digest)) !== undefined,
      });
      await blobs.putBytes(bytes, digest);
      await store.linkBlob(image, digest, bytes.length);
      await store.putManifest(
        {
          image,
          digest,
          mediaType: checked.mediaType,
          size: bytes.length,
          artifactType: checked.artifactType,
          subject: checked.subject,
          annotations: checked.annotations,
          createTime: clock.now(),
        },
        isDigest(reference) ? undefined : reference,
      );
      await record(caller, repository, 'PutManifest', {
        image,
        digest,
        ...(isDigest(reference) ? {} : { tag: reference }),
      });
      return { digest, subject: checked.subject };
    },

    async getManifest(caller: Caller | undefined, image: string, reference: string): Promise<StoredManifest> {
      await authorizeImage(caller, image, PULL);
      const digest = await resolveReference(image, reference);
      const manifest = await store.getManifest(image, digest);
      if (!manifest) throw new RegistryError('ERR_REGISTRY_MANIFEST_UNKNOWN', `Manifest ${digest} is unknown.`);
      return { record: manifest, bytes: await blobs.readBytes(digest) };
    },

    /** By digest: the manifest and every tag on it; by tag: only the tag (OCI distribution 1.1). */
    async deleteManifest(caller: Caller | undefined, image: string, reference: string): Promise<void> {
      const repository = await authorizeImage(caller, image, DELETE);
      const removed = isDigest(reference)
        ? await store.deleteManifest(image, reference)
        : await store.deleteTag(image, reference);
      if (!removed) throw new RegistryError('ERR_REGISTRY_MANIFEST_UNKNOWN', `Manifest '${reference}' is unknown.`);
      await record(caller, repository, 'DeleteManifest', { image, reference });
    },

    async listTags(
      caller: Caller | undefined,
      image: string,
      page: { n?: number; last?: string },
    ): Promise<{ tags: string[]; more: boolean }> {
      await authorizeImage(caller, image, PULL);
      const all = await store.listTags(image);
      const after = page.last === undefined ? all : all.filter((t) => t > (page.last as string));
      const tags = page.n === undefined ? after : after.slice(0, page.n);
      return { tags, more: tags.length < after.length };
    },

    async listReferrers(
      caller: Caller | undefined,
      image: string,
      digest: string,
      artifactType: string | undefined,
    ): Promise<ImageIndex> {
      await authorizeImage(caller, image, PULL);
      parseDigest(digest);
      const referrers = (await store.listReferrers(image, digest)).filter(
        (m) => artifactType === undefined || m.artifactType === artifactType,
      );
      return {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: referrers.map((m) => ({
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.size,
          ...(m.artifactType === undefined ? {} : { artifactType: m.artifactType }),
          ...(Object.keys(m.annotations).length > 0 ? { annotations: m.annotations } : {}),
        })),
      };
    },
  };
}
