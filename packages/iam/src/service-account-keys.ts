// Service-account keys: only the public halves are kept; list, disable, enable and delete as Google offers them.
import { createHash, randomBytes } from 'node:crypto';
import { type Clock, CoreError, type SqlDatabase, generateRsaKeyPair, toBase64, toRfc3339 } from '@sealroom/core';
import type { ServiceAccount } from './service-accounts.ts';
import { signalIamChange } from './decisions.ts';

/** Google allows at most 10 keys per service account; it also bounds the keys a kid-less JWT is tried against. */
export const MAX_KEYS_PER_SERVICE_ACCOUNT = 10;

export interface ServiceAccountKeyMaterial {
  readonly keyId: string;
  /** The JSON key file (google-auth-library's `service_account` type), returned once, never stored. */
  readonly keyFile: Record<string, string>;
  readonly createTime: number;
}

export interface ServiceAccountKeyInfo {
  readonly keyId: string;
  readonly createTime: number;
  readonly disabled: boolean;
}

export interface ServiceAccountKeyStore {
  create(sa: ServiceAccount, tokenUri: string): Promise<ServiceAccountKeyMaterial>;
  /** Every key of the account, disabled ones included. */
  list(sa: ServiceAccount): Promise<ServiceAccountKeyInfo[]>;
  get(sa: ServiceAccount, keyId: string): Promise<ServiceAccountKeyInfo | undefined>;
  setDisabled(sa: ServiceAccount, keyId: string, disabled: boolean): Promise<void>;
  delete(sa: ServiceAccount, keyId: string): Promise<void>;
  /** The public key of an enabled key of the account, or undefined. */
  publicKey(sa: ServiceAccount, keyId: string): Promise<string | undefined>;
  /** The enabled keys of the account (at most MAX_KEYS_PER_SERVICE_ACCOUNT). */
  publicKeys(sa: ServiceAccount): Promise<{ keyId: string; pem: string }[]>;
}

interface KeyRow {
  [key: string]: string | number;
  key_id: string;
  public_pem: string;
  create_time: number;
  disabled: number;
}

const toInfo = (row: KeyRow): ServiceAccountKeyInfo => ({
  keyId: row.key_id,
  createTime: row.create_time,
  disabled: row.disabled !== 0,
});

export function createSqlServiceAccountKeyStore(db: SqlDatabase, clock: Clock): ServiceAccountKeyStore {
  return {
    async create(sa, tokenUri) {
      const { privateKey, publicKey } = await generateRsaKeyPair();
      const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const keyId = createHash('sha1').update(randomBytes(20)).digest('hex');
      const now = clock.now();
      await db.transaction(async (tx) => {
        const count = await tx.get<{ n: number }>(
          'SELECT COUNT(*) AS n FROM iam_service_account_keys WHERE email = ?',
          [sa.email],
        );
        if (Number(count?.n ?? 0) >= MAX_KEYS_PER_SERVICE_ACCOUNT) {
          throw new CoreError(
            'ERR_FAILED_PRECONDITION',
            `Precondition check failed: service account ${sa.email} already has ${MAX_KEYS_PER_SERVICE_ACCOUNT} keys; delete one first.`,
          );
        }
        await tx.run(
          'INSERT INTO iam_service_account_keys (key_id, email, public_pem, create_time) VALUES (?, ?, ?, ?)',
          [keyId, sa.email, publicPem, now],
        );
      });
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
    async list(sa) {
      const rows = await db.all<KeyRow>(
        'SELECT key_id, public_pem, create_time, disabled FROM iam_service_account_keys WHERE email = ? ORDER BY create_time, key_id',
        [sa.email],
      );
      return rows.map(toInfo);
    },
    async get(sa, keyId) {
      const row = await db.get<KeyRow>(
        'SELECT key_id, public_pem, create_time, disabled FROM iam_service_account_keys WHERE email = ? AND key_id = ?',
        [sa.email, keyId],
      );
      return row ? toInfo(row) : undefined;
    },
    async setDisabled(sa, keyId, disabled) {
      await db.run('UPDATE iam_service_account_keys SET disabled = ? WHERE email = ? AND key_id = ?', [
        disabled ? 1 : 0,
        sa.email,
        keyId,
      ]);
      signalIamChange(db);
    },
    async delete(sa, keyId) {
      await db.run('DELETE FROM iam_service_account_keys WHERE email = ? AND key_id = ?', [sa.email, keyId]);
      signalIamChange(db);
    },
    async publicKey(sa, keyId) {
      const row = await db.get<{ public_pem: string }>(
        'SELECT public_pem FROM iam_service_account_keys WHERE email = ? AND key_id = ? AND disabled = 0',
        [sa.email, keyId],
      );
      return row?.public_pem;
    },
    async publicKeys(sa) {
      const rows = await db.all<{ key_id: string; public_pem: string }>(
        'SELECT key_id, public_pem FROM iam_service_account_keys WHERE email = ? AND disabled = 0 ORDER BY create_time DESC LIMIT ?',
        [sa.email, MAX_KEYS_PER_SERVICE_ACCOUNT],
      );
      return rows.map((r) => ({ keyId: r.key_id, pem: r.public_pem }));
    },
  };
}

/** The REST shape of a key (ServiceAccountKey); a created key also carries its key file in privateKeyData. */
export function toKeyJson(
  sa: ServiceAccount,
  key: ServiceAccountKeyInfo,
  material?: ServiceAccountKeyMaterial,
): Record<string, unknown> {
  return {
    name: `projects/${sa.projectId}/serviceAccounts/${sa.email}/keys/${key.keyId}`,
    ...(material
      ? {
          privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE',
          privateKeyData: toBase64(Buffer.from(JSON.stringify(material.keyFile, null, 2))),
        }
      : {}),
    keyAlgorithm: 'KEY_ALG_RSA_2048',
    keyOrigin: 'GOOGLE_PROVIDED',
    keyType: 'USER_MANAGED',
    validAfterTime: toRfc3339(key.createTime),
    ...(key.disabled ? { disabled: true } : {}),
  };
}
