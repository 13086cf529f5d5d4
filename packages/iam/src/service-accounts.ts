// Service accounts and their lifecycle (disable, enable, delete, undelete within 30 days), stored by unique id.
import {
  type Clock,
  CoreError,
  checkResourceId,
  newUniqueId,
  type SqlDatabase,
  type SqlExecutor,
} from '@sealroom/core';
import { IamError } from './errors.ts';
import { replaceMember } from './policy-store.ts';
import { signalIamChange } from './decisions.ts';

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
  // A deleted account keeps its row (and keys) for the undelete window; tokens bind to its unique id.
  `ALTER TABLE iam_service_accounts ADD COLUMN delete_time INTEGER;
   UPDATE iam_access_tokens SET subject_uid = (
     SELECT unique_id FROM iam_service_accounts WHERE 'serviceAccount:' || iam_service_accounts.email = iam_access_tokens.principal
   ) WHERE kind = 'serviceAccount'`,
];

const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** Deleted accounts can be undeleted for 30 days (Google's window); after that they are gone. */
export const SERVICE_ACCOUNT_UNDELETE_WINDOW_MS = 30 * 24 * 3600_000;

export interface ServiceAccount {
  readonly email: string;
  readonly projectNumber: string;
  readonly projectId: string;
  readonly accountId: string;
  readonly uniqueId: string;
  readonly displayName: string;
  readonly description: string;
  readonly disabled: boolean;
  /** Set while the account is deleted (and can still be undeleted). */
  readonly deleteTime?: number;
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

/** The member a deleted account's bindings are rewritten to, as Google shows them. */
export function deletedMemberOf(sa: ServiceAccount): string {
  return `deleted:serviceAccount:${sa.email}?uid=${sa.uniqueId}`;
}

export interface ServiceAccountStore {
  create(
    project: { projectId: string; projectNumber: string },
    accountId: string,
    displayName: string,
    description: string,
  ): Promise<ServiceAccount>;
  /** A live (not deleted) account by email. */
  get(email: string): Promise<ServiceAccount | undefined>;
  /** A live account by unique id; with `includeDeleted`, also one deleted within the undelete window. */
  getByUniqueId(uniqueId: string, options?: { includeDeleted?: boolean }): Promise<ServiceAccount | undefined>;
  list(projectNumber: string): Promise<ServiceAccount[]>;
  setDisabled(sa: ServiceAccount, disabled: boolean): Promise<ServiceAccount>;
  /** Marks the account deleted; its bindings become `deleted:serviceAccount:…?uid=…`. */
  delete(sa: ServiceAccount): Promise<void>;
  /** Restores a deleted account and its bindings; refused once the email is taken again or the window closed. */
  undelete(sa: ServiceAccount): Promise<ServiceAccount>;
}

interface SaRow {
  [key: string]: string | number | null;
  email: string;
  project_number: string;
  project_id: string;
  account_id: string;
  unique_id: string;
  display_name: string;
  description: string;
  disabled: number;
  delete_time: number | null;
}

export function createSqlServiceAccountStore(db: SqlDatabase, clock: Clock): ServiceAccountStore {
  const byUid = (exec: SqlExecutor, uid: string) =>
    exec.get<SaRow>('SELECT * FROM iam_service_accounts WHERE unique_id = ?', [uid]);
  return {
    async create(project, accountId, displayName, description) {
      checkResourceId(accountId, 'service account id', ACCOUNT_ID);
      const email = serviceAccountEmail(accountId, project.projectId);
      const uniqueId = newUniqueId();
      const created = await db.transaction(async (tx) => {
        const existing = await tx.get<SaRow>('SELECT * FROM iam_service_accounts WHERE email = ?', [email]);
        if (existing && existing.delete_time === null) {
          throw new CoreError(
            'ERR_ALREADY_EXISTS',
            `Service account ${accountId} already exists within project projects/${project.projectId}.`,
          );
        }
        // Reusing a deleted account's email purges it: it can no longer be undeleted, and nothing it was
        // granted (its own policy, its keys) passes to the new account, whose unique id differs.
        if (existing) await purge(tx, toServiceAccount(existing));
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
      // A purged predecessor's policy is gone: decisions it allowed must not be reused.
      signalIamChange(db);
      return created;
    },
    async get(email) {
      const row = await db.get<SaRow>('SELECT * FROM iam_service_accounts WHERE email = ? AND delete_time IS NULL', [
        email.toLowerCase(),
      ]);
      return row ? toServiceAccount(row) : undefined;
    },
    async getByUniqueId(uniqueId, options = {}) {
      const row = await byUid(db, uniqueId);
      if (!row) return undefined;
      if (row.delete_time === null) return toServiceAccount(row);
      const restorable = clock.now() - row.delete_time <= SERVICE_ACCOUNT_UNDELETE_WINDOW_MS;
      return options.includeDeleted && restorable ? toServiceAccount(row) : undefined;
    },
    async list(projectNumber) {
      const rows = await db.all<SaRow>(
        'SELECT * FROM iam_service_accounts WHERE project_number = ? AND delete_time IS NULL ORDER BY email',
        [projectNumber],
      );
      return rows.map(toServiceAccount);
    },
    async setDisabled(sa, disabled) {
      await db.run('UPDATE iam_service_accounts SET disabled = ? WHERE unique_id = ? AND delete_time IS NULL', [
        disabled ? 1 : 0,
        sa.uniqueId,
      ]);
      signalIamChange(db);
      return { ...sa, disabled };
    },
    async delete(sa) {
      await db.transaction(async (tx) => {
        const { changes } = await tx.run(
          'UPDATE iam_service_accounts SET delete_time = ? WHERE unique_id = ? AND delete_time IS NULL',
          [clock.now(), sa.uniqueId],
        );
        if (changes === 1) await replaceMember(tx, `serviceAccount:${sa.email}`, deletedMemberOf(sa), clock.now());
      });
      signalIamChange(db);
    },
    async undelete(sa) {
      const restored = await db.transaction(async (tx) => {
        const row = await byUid(tx, sa.uniqueId);
        if (!row || row.delete_time === null) {
          throw new CoreError('ERR_FAILED_PRECONDITION', `Service account ${sa.email} is not deleted.`);
        }
        if (clock.now() - row.delete_time > SERVICE_ACCOUNT_UNDELETE_WINDOW_MS) {
          throw new CoreError('ERR_NOT_FOUND', `Service account ${sa.uniqueId} was deleted more than 30 days ago.`);
        }
        await tx.run('UPDATE iam_service_accounts SET delete_time = NULL WHERE unique_id = ?', [sa.uniqueId]);
        await replaceMember(tx, deletedMemberOf(sa), `serviceAccount:${sa.email}`, clock.now());
        const { deleteTime: _gone, ...account } = toServiceAccount(row);
        return account;
      });
      // The account's grants are back in the policies: cached policies must be read again.
      signalIamChange(db);
      return restored;
    },
  };
}

/** Drops a deleted account for good: its keys and the policy on it. */
async function purge(tx: SqlExecutor, sa: ServiceAccount): Promise<void> {
  await tx.run('DELETE FROM iam_service_account_keys WHERE email = ?', [sa.email]);
  await tx.run('DELETE FROM iam_service_accounts WHERE unique_id = ?', [sa.uniqueId]);
  await tx.run('DELETE FROM iam_policies WHERE resource = ?', [
    `projects/${sa.projectNumber}/serviceAccounts/${sa.email}`,
  ]);
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
    ...(row.delete_time === null ? {} : { deleteTime: row.delete_time }),
  };
}

export function serviceAccountDisabled(sa: ServiceAccount): IamError {
  return new IamError('ERR_IAM_SERVICE_ACCOUNT_DISABLED', `Service account ${sa.email} is disabled.`);
}
