// Secret Manager's domain: secrets, versions, `latest`, sealed payloads with CRC32C; every access audited.
import {
  type AuditLog,
  type Authorizer,
  type Caller,
  type Clock,
  CoreError,
  checkResourceId,
  crc32c,
  invalidArgument,
  notFound,
  type ProjectResolver,
  permissionDenied,
  resourceTemplate,
  type Sealer,
  toBase64Url,
} from '@sealroom/core';
import { createServiceAccess } from '@sealroom/iam';
import { SecretsError } from './errors.ts';
import type { SecretRecord, SecretVersionRecord, SecretVersionState, SecretsStore } from './store.ts';

export interface SecretsDeps {
  readonly store: SecretsStore;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly authorizer: Authorizer;
  readonly audit: AuditLog;
  readonly projects: ProjectResolver;
}

/** Secret Manager's limit on a version's payload. */
export const MAX_PAYLOAD_BYTES = 65_536;
const METHOD = 'google.cloud.secretmanager.v1.SecretManagerService.';
const PROJECT = resourceTemplate<'project'>('projects/{project}');
const SECRET = resourceTemplate<'project' | 'secret'>('projects/{project}/secrets/{secret}');
const VERSION = resourceTemplate<'project' | 'secret' | 'version'>(
  'projects/{project}/secrets/{secret}/versions/{version}',
);
const SECRET_ID = /^[a-zA-Z0-9_-]{1,255}$/;

export interface Resolved {
  readonly name: string;
  readonly projectId: string;
  readonly projectNumber: string;
}

export interface PageResult<T> {
  readonly items: T[];
  readonly nextPageToken: string;
  readonly totalSize: number;
}

export interface AccessResult {
  readonly name: string;
  readonly data: Buffer;
  readonly dataCrc32c: number;
}

function payloadContext(versionName: string): string {
  return `sealroom/secrets/payload\0${versionName}`;
}

function page(pageSize: number | undefined, pageToken: string | undefined): { offset: number; limit: number } {
  const limit = Math.min(pageSize && pageSize > 0 ? pageSize : 25_000, 25_000);
  if (!pageToken) return { offset: 0, limit };
  const offset = Number(Buffer.from(pageToken, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument("Invalid value at 'page_token'.");
  return { offset, limit };
}

function nextToken(offset: number, count: number, total: number): string {
  return offset + count < total ? toBase64Url(Buffer.from(String(offset + count))) : '';
}

function stateError(version: SecretVersionRecord): SecretsError {
  return new SecretsError(
    'ERR_SECRETS_VERSION_STATE',
    `Secret Version [${version.name}] is in ${version.state} state.`,
  );
}

export function createSecretManager(deps: SecretsDeps) {
  const access = createServiceAccess({ authorizer: deps.authorizer, audit: deps.audit, clock: deps.clock });

  async function guard(
    caller: Caller | undefined,
    template: typeof PROJECT | typeof SECRET | typeof VERSION,
    rawName: string,
    permission: string,
    method: string,
  ): Promise<Resolved> {
    const parts = (template as typeof VERSION).parse(rawName);
    const project = await deps.projects.resolve(parts.project);
    if (!project) throw permissionDenied(permission, rawName);
    const name = (template as typeof VERSION).format({ ...parts, project: project.projectNumber });
    await access.require({
      caller,
      permission,
      resource: name,
      shownAs: rawName,
      denial: { project: project.projectId, method: METHOD + method },
    });
    return { name, projectId: project.projectId, projectNumber: project.projectNumber };
  }

  const audited = <T>(caller: Caller | undefined, r: Resolved, method: string, run: () => Promise<T>): Promise<T> =>
    access.run({ caller, project: r.projectId, method: METHOD + method, resource: r.name }, async () => ({
      result: await run(),
    }));

  async function loadSecret(name: string): Promise<SecretRecord> {
    const secret = await deps.store.getSecret(name);
    if (!secret) throw notFound(`Secret [${name}] not found.`);
    return secret;
  }

  /** Resolves `latest` to the most recently created version, as Secret Manager documents the alias. */
  async function loadVersion(name: string): Promise<SecretVersionRecord> {
    const parts = VERSION.parse(name);
    const secret = SECRET.format(parts);
    await loadSecret(secret);
    if (parts.version === 'latest') {
      const latest = await deps.store.latestVersion(secret);
      if (!latest) throw notFound(`Secret [${secret}] not found or has no versions.`);
      return latest;
    }
    if (!/^[1-9]\d{0,9}$/.test(parts.version)) throw invalidArgument(`Invalid version id '${parts.version}'.`);
    const version = await deps.store.getVersion(name);
    if (!version) throw notFound(`Secret Version [${name}] not found.`);
    return version;
  }

  async function changeState(
    caller: Caller | undefined,
    name: string,
    target: SecretVersionState,
    permission: string,
    method: string,
  ): Promise<SecretVersionRecord> {
    const r = await guard(caller, VERSION, name, permission, method);
    return audited(caller, r, method, async () => {
      const version = await loadVersion(r.name);
      if (version.state === 'DESTROYED') throw stateError(version);
      const destroyTime = target === 'DESTROYED' ? deps.clock.now() : undefined;
      await deps.store.setVersionState(version.name, target, destroyTime);
      return {
        ...version,
        state: target,
        destroyTime,
        ...(target === 'DESTROYED' ? { sealedPayload: undefined } : {}),
      };
    });
  }

  return {
    async createSecret(
      caller: Caller | undefined,
      parent: string,
      secretId: string,
      input: { labels: Record<string, string>; annotations: Record<string, string> },
    ): Promise<SecretRecord> {
      const r = await guard(caller, PROJECT, parent, 'secretmanager.secrets.create', 'CreateSecret');
      checkResourceId(secretId, 'secret_id', SECRET_ID);
      const now = deps.clock.now();
      const record: SecretRecord = {
        name: `${r.name}/secrets/${secretId}`,
        projectNumber: r.projectNumber,
        labels: input.labels,
        annotations: input.annotations,
        createTime: now,
        updateTime: now,
      };
      return audited(caller, r, 'CreateSecret', async () => {
        if (!(await deps.store.insertSecret(record))) {
          throw new CoreError('ERR_ALREADY_EXISTS', `Secret [${record.name}] already exists.`);
        }
        return record;
      });
    },

    async getSecret(caller: Caller | undefined, name: string): Promise<SecretRecord> {
      const r = await guard(caller, SECRET, name, 'secretmanager.secrets.get', 'GetSecret');
      return loadSecret(r.name);
    },

    async listSecrets(
      caller: Caller | undefined,
      parent: string,
      pageSize: number | undefined,
      pageToken: string | undefined,
    ): Promise<PageResult<SecretRecord>> {
      const r = await guard(caller, PROJECT, parent, 'secretmanager.secrets.list', 'ListSecrets');
      const { offset, limit } = page(pageSize, pageToken);
      const result = await deps.store.listSecrets(r.projectNumber, offset, limit);
      return {
        items: result.items,
        totalSize: result.total,
        nextPageToken: nextToken(offset, result.items.length, result.total),
      };
    },

    async updateSecret(
      caller: Caller | undefined,
      name: string,
      input: { labels?: Record<string, string>; annotations?: Record<string, string> },
      mask: readonly string[],
    ): Promise<SecretRecord> {
      const r = await guard(caller, SECRET, name, 'secretmanager.secrets.update', 'UpdateSecret');
      if (mask.length === 0) throw invalidArgument('The update_mask must name at least one field.');
      return audited(caller, r, 'UpdateSecret', async () => {
        let secret = await loadSecret(r.name);
        for (const path of mask) {
          if (path === 'labels') secret = { ...secret, labels: input.labels ?? {} };
          else if (path === 'annotations') secret = { ...secret, annotations: input.annotations ?? {} };
          else throw invalidArgument(`The update_mask path '${path}' cannot be updated.`);
        }
        secret = { ...secret, updateTime: deps.clock.now() };
        await deps.store.updateSecret(secret);
        return secret;
      });
    },

    async deleteSecret(caller: Caller | undefined, name: string): Promise<void> {
      const r = await guard(caller, SECRET, name, 'secretmanager.secrets.delete', 'DeleteSecret');
      await audited(caller, r, 'DeleteSecret', async () => {
        await loadSecret(r.name);
        await deps.store.deleteSecret(r.name);
      });
    },

    /** Adds a version; a given CRC32C must match the data, which is sealed before it is stored. */
    async addVersion(
      caller: Caller | undefined,
      parent: string,
      payload: { data: Buffer; dataCrc32c: number | undefined },
    ): Promise<SecretVersionRecord> {
      const r = await guard(caller, SECRET, parent, 'secretmanager.versions.add', 'AddSecretVersion');
      return audited(caller, r, 'AddSecretVersion', async () => {
        if (payload.data.length > MAX_PAYLOAD_BYTES) {
          throw new SecretsError(
            'ERR_SECRETS_PAYLOAD_TOO_LARGE',
            `Secret payload must be at most ${MAX_PAYLOAD_BYTES} bytes.`,
          );
        }
        if (payload.dataCrc32c !== undefined && crc32c(payload.data) !== payload.dataCrc32c) {
          throw new SecretsError(
            'ERR_SECRETS_CHECKSUM_MISMATCH',
            'Checksum mismatch: the data_crc32c of the payload does not match its data.',
          );
        }
        await loadSecret(r.name);
        return deps.store.addVersion(r.name, deps.clock.now(), payload.dataCrc32c !== undefined, (versionName) =>
          deps.sealer.seal(payload.data, payloadContext(versionName)),
        );
      });
    },

    async getVersion(caller: Caller | undefined, name: string): Promise<SecretVersionRecord> {
      const r = await guard(caller, VERSION, name, 'secretmanager.versions.get', 'GetSecretVersion');
      return loadVersion(r.name);
    },

    async listVersions(
      caller: Caller | undefined,
      parent: string,
      pageSize: number | undefined,
      pageToken: string | undefined,
    ): Promise<PageResult<SecretVersionRecord>> {
      const r = await guard(caller, SECRET, parent, 'secretmanager.versions.list', 'ListSecretVersions');
      await loadSecret(r.name);
      const { offset, limit } = page(pageSize, pageToken);
      const result = await deps.store.listVersions(r.name, offset, limit);
      return {
        items: result.items,
        totalSize: result.total,
        nextPageToken: nextToken(offset, result.items.length, result.total),
      };
    },

    /** Returns the payload of an ENABLED version with its CRC32C; refusals name the version's state. */
    async accessVersion(caller: Caller | undefined, name: string): Promise<AccessResult> {
      const r = await guard(caller, VERSION, name, 'secretmanager.versions.access', 'AccessSecretVersion');
      return audited(caller, r, 'AccessSecretVersion', async () => {
        const version = await loadVersion(r.name);
        if (version.state !== 'ENABLED' || !version.sealedPayload) throw stateError(version);
        const data = deps.sealer.open(version.sealedPayload, payloadContext(version.name));
        return { name: version.name, data, dataCrc32c: crc32c(data) };
      });
    },

    enableVersion: (caller: Caller | undefined, name: string) =>
      changeState(caller, name, 'ENABLED', 'secretmanager.versions.enable', 'EnableSecretVersion'),
    disableVersion: (caller: Caller | undefined, name: string) =>
      changeState(caller, name, 'DISABLED', 'secretmanager.versions.disable', 'DisableSecretVersion'),
    destroyVersion: (caller: Caller | undefined, name: string) =>
      changeState(caller, name, 'DESTROYED', 'secretmanager.versions.destroy', 'DestroySecretVersion'),

    /** Whether a secret exists (for the IAM policy routes, asked after authorization). */
    async secretExists(name: string): Promise<boolean> {
      const parts = SECRET.tryParse(name);
      if (!parts) return false;
      const project = await deps.projects.resolve(parts.project);
      if (!project) return false;
      return (await deps.store.getSecret(SECRET.format({ ...parts, project: project.projectNumber }))) !== undefined;
    },
  };
}

export type SecretManager = ReturnType<typeof createSecretManager>;
