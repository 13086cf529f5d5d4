// Service accounts, their keys (only public halves kept), and the credentials they can be issued.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  type Clock,
  CoreError,
  checkResourceId,
  newUniqueId,
  type SqlDatabase,
  toBase64,
  toRfc3339,
} from '@sealroom/core';

export const SERVICE_ACCOUNT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_service_accounts (
     email TEXT PRIMARY KEY,
     project_number TEXT NOT NULL,
     project_id TEXT NOT NULL,
     account_id TEXT NOT NULL,
     unique_id TEXT NOT NULL UNIQUE,
     display_name TEXT NOT NULL,
     description TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     create_time INTEGER NOT NULL
   );
   CREATE TABLE iam_service_account_keys (
     key_id TEXT PRIMARY KEY,
     email TEXT NOT NULL REFERENCES iam_service_accounts (email),
     public_pem TEXT NOT NULL,
     create_time INTEGER NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0
   );`,
];

const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export interface ServiceAccount {
  readonly email: string;
  readonly projectNumber: string;
  readonly projectId: string;
  readonly accountId: string;
  readonly uniqueId: string;
  readonly displayName: string;
  readonly description: string;
  readonly disabled: boolean;
}

export function serviceAccountEmail(accountId: string, projectId: string): string {
  return `${accountId}@${projectId}.iam.gserviceaccount.com`;
}

export function toServiceAccountJson(sa: ServiceAccount): Record<string, unknown> {
  return {
    name: `projects/${sa.projectId}/serviceAccounts/${sa.email}`,
    projectId: sa.projectId,
    uniqueId: sa.uniqueId,
    email: sa.email,
    displayName: sa.displayName,
    description: sa.description,
    oauth2ClientId: sa.uniqueId,
    disabled: sa.disabled,
  };
}

export interface ServiceAccountKeyMaterial {
  readonly keyId: string;
  /** The JSON key file (google-auth-library's `service_account` type), returned once, never stored. */
  readonly keyFile: Record<string, string>;
  readonly createTime: number;
}

export interface ServiceAccountStore {
  create(
    project: { projectId: string; projectNumber: string },
    accountId: string,
    displayName: string,
    description: string,
  ): Promise<ServiceAccount>;
  get(email: string): Promise<ServiceAccount | undefined>;
  getByUniqueId(uniqueId: string): Promise<ServiceAccount | undefined>;
  list(projectNumber: string): Promise<ServiceAccount[]>;
  createKey(sa: ServiceAccount, tokenUri: string): Promise<ServiceAccountKeyMaterial>;
  listKeys(email: string): Promise<{ keyId: string; createTime: number }[]>;
  publicKey(email: string, keyId: string): Promise<string | undefined>;
}

interface SaRow {
  [key: string]: string | number;
  email: string;
  project_number: string;
  project_id: string;
  account_id: string;
  unique_id: string;
  display_name: string;
  description: string;
  disabled: number;
}

export function createSqlServiceAccountStore(db: SqlDatabase, clock: Clock): ServiceAccountStore {
  return {
    async create(project, accountId, displayName, description) {
      checkResourceId(accountId, 'service account id', ACCOUNT_ID);
      const email = serviceAccountEmail(accountId, project.projectId);
      const uniqueId = newUniqueId();
      return db.transaction(async (tx) => {
        if (await tx.get('SELECT 1 AS x FROM iam_service_accounts WHERE email = ?', [email])) {
          throw new CoreError(
            'ERR_ALREADY_EXISTS',
            `Service account ${accountId} already exists within project projects/${project.projectId}.`,
          );
        }
        await tx.run(
          `INSERT INTO iam_service_accounts (email, project_number, project_id, account_id, unique_id, display_name, description, create_time)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [email, project.projectNumber, project.projectId, accountId, uniqueId, displayName, description, clock.now()],
        );
        return {
          email,
          projectNumber: project.projectNumber,
          projectId: project.projectId,
          accountId,
          uniqueId,
          displayName,
          description,
          disabled: false,
        };
      });
    },
    async get(email) {
      const row = await db.get<SaRow>('SELECT * FROM iam_service_accounts WHERE email = ?', [email.toLowerCase()]);
      return row ? toServiceAccount(row) : undefined;
    },
    async getByUniqueId(uniqueId) {
      const row = await db.get<SaRow>('SELECT * FROM iam_service_accounts WHERE unique_id = ?', [uniqueId]);
      return row ? toServiceAccount(row) : undefined;
    },
    async list(projectNumber) {
      const rows = await db.all<SaRow>('SELECT * FROM iam_service_accounts WHERE project_number = ? ORDER BY email', [
        projectNumber,
      ]);
      return rows.map(toServiceAccount);
    },
    async createKey(sa, tokenUri) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const keyId = createHash('sha1').update(randomBytes(20)).digest('hex');
      const now = clock.now();
      await db.run(
        'INSERT INTO iam_service_account_keys (key_id, email, public_pem, create_time) VALUES (?, ?, ?, ?)',
        [keyId, sa.email, publicPem, now],
      );
      return {
        keyId,
        createTime: now,
        keyFile: {
          type: 'service_account',
          project_id: sa.projectId,
          private_key_id: keyId,
          private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          client_email: sa.email,
          client_id: sa.uniqueId,
          token_uri: tokenUri,
          universe_domain: 'googleapis.com',
        },
      };
    },
    async listKeys(email) {
      const rows = await db.all<{ key_id: string; create_time: number }>(
        'SELECT key_id, create_time FROM iam_service_account_keys WHERE email = ? AND disabled = 0 ORDER BY create_time',
        [email],
      );
      return rows.map((r) => ({ keyId: r.key_id, createTime: r.create_time }));
    },
    async publicKey(email, keyId) {
      const row = await db.get<{ public_pem: string }>(
        'SELECT public_pem FROM iam_service_account_keys WHERE email = ? AND key_id = ? AND disabled = 0',
        [email, keyId],
      );
      return row?.public_pem;
    },
  };
}

/** The REST shape of a created key: the key file base64-encoded in privateKeyData. */
export function toKeyJson(sa: ServiceAccount, key: ServiceAccountKeyMaterial): Record<string, unknown> {
  return {
    name: `projects/${sa.projectId}/serviceAccounts/${sa.email}/keys/${key.keyId}`,
    privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE',
    privateKeyData: toBase64(Buffer.from(JSON.stringify(key.keyFile, null, 2))),
    keyAlgorithm: 'KEY_ALG_RSA_2048',
    keyOrigin: 'GOOGLE_PROVIDED',
    keyType: 'USER_MANAGED',
    validAfterTime: toRfc3339(key.createTime),
  };
}

function toServiceAccount(row: SaRow): ServiceAccount {
  return {
    email: row.email,
    projectNumber: row.project_number,
    projectId: row.project_id,
    accountId: row.account_id,
    uniqueId: row.unique_id,
    displayName: row.display_name,
    description: row.description,
    disabled: row.disabled !== 0,
  };
}
