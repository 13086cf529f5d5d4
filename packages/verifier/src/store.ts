// What the verifier keeps: challenges (single-use, expiring) and its token-signing keys (sealed), over SQL.
import { createGroupCommitter, type SqlDatabase } from '@sealroom/core';

export interface ChallengeRecord {
  readonly name: string;
  readonly nonce: Uint8Array;
  readonly createTime: number;
  readonly expireTime: number;
  readonly used: boolean;
}

export interface SigningKeyRecord {
  readonly kid: string;
  /** Sealed PKCS#8 DER of the RSA private key. */
  readonly sealedPrivateKey: Uint8Array;
  readonly publicJwk: string;
  /** DER of the certificate the verifier's PKI root issued for this key (PKI tokens). */
  readonly certificate: Uint8Array;
  readonly createTime: number;
}

export interface VerifierStore {
  insertChallenge(challenge: ChallengeRecord): Promise<void>;
  getChallenge(name: string): Promise<ChallengeRecord | undefined>;
  /** Marks the challenge used; false when it already was (the single-use guarantee, atomic). */
  markChallengeUsed(name: string): Promise<boolean>;
  /**
   * Marks the challenge used and returns it as it was, in one round trip; undefined when it is missing or
   * was already used (atomic across replicas: of racing calls, exactly one gets the record).
   */
  useChallenge(name: string): Promise<ChallengeRecord | undefined>;
  deleteChallengesExpiredBefore(time: number): Promise<number>;
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  deleteSigningKeysCreatedBefore(time: number): Promise<number>;
  getSecret(name: string): Promise<Uint8Array | undefined>;
  putSecretIfAbsent(name: string, value: Uint8Array): Promise<void>;
}

const MIGRATIONS = [
  `CREATE TABLE verifier_challenges (
     name TEXT PRIMARY KEY,
     nonce BLOB NOT NULL,
     create_time INTEGER NOT NULL,
     expire_time INTEGER NOT NULL,
     used INTEGER NOT NULL
   )`,
  `CREATE TABLE verifier_signing_keys (
     kid TEXT PRIMARY KEY,
     sealed_private BLOB NOT NULL,
     public_jwk TEXT NOT NULL,
     certificate BLOB NOT NULL,
     create_time INTEGER NOT NULL
   )`,
  `CREATE TABLE verifier_secrets (
     name TEXT PRIMARY KEY,
     value BLOB NOT NULL
   )`,
];

type Row = Record<string, string | number | bigint | Uint8Array | null>;

export async function createSqlVerifierStore(db: SqlDatabase): Promise<VerifierStore> {
  await db.migrate('verifier', MIGRATIONS);
  // Every attestation creates one challenge and uses one: those writes are group-committed.
  const grouped = createGroupCommitter(db);
  const toChallenge = (row: Row): ChallengeRecord => ({
    name: String(row.name),
    nonce: row.nonce as Uint8Array,
    createTime: Number(row.create_time),
    expireTime: Number(row.expire_time),
    used: Number(row.used) === 1,
  });
  return {
    async insertChallenge(c) {
      await grouped.run(
        'INSERT INTO verifier_challenges (name, nonce, create_time, expire_time, used) VALUES (?, ?, ?, ?, ?)',
        [c.name, c.nonce, c.createTime, c.expireTime, c.used ? 1 : 0],
      );
    },
    async getChallenge(name) {
      const row = await db.get<Row>('SELECT * FROM verifier_challenges WHERE name = ?', [name]);
      return row === undefined ? undefined : toChallenge(row);
    },
    async markChallengeUsed(name) {
      const { changes } = await db.run('UPDATE verifier_challenges SET used = 1 WHERE name = ? AND used = 0', [name]);
      return changes === 1;
    },
    async useChallenge(name) {
      // RETURNING gives the row after the update; only a row that was unused matches, so `used` was false.
      const row = (await grouped.get(
        'UPDATE verifier_challenges SET used = 1 WHERE name = ? AND used = 0 RETURNING name, nonce, create_time, expire_time',
        [name],
      )) as Row | undefined;
      return row === undefined ? undefined : toChallenge({ ...row, used: 0 });
    },
    async deleteChallengesExpiredBefore(time) {
      return (await db.run('DELETE FROM verifier_challenges WHERE expire_time < ?', [time])).changes;
    },
    async listSigningKeys() {
      const rows = await db.all<Row>('SELECT * FROM verifier_signing_keys ORDER BY create_time ASC');
      return rows.map((row) => ({
        kid: String(row.kid),
        sealedPrivateKey: row.sealed_private as Uint8Array,
        publicJwk: String(row.public_jwk),
        certificate: row.certificate as Uint8Array,
        createTime: Number(row.create_time),
      }));
    },
    async insertSigningKey(k) {
      await db.run(
        'INSERT INTO verifier_signing_keys (kid, sealed_private, public_jwk, certificate, create_time) VALUES (?, ?, ?, ?, ?)',
        [k.kid, k.sealedPrivateKey, k.publicJwk, k.certificate, k.createTime],
      );
    },
    async deleteSigningKeysCreatedBefore(time) {
      return (await db.run('DELETE FROM verifier_signing_keys WHERE create_time < ?', [time])).changes;
    },
    async getSecret(name) {
      const row = await db.get<Row>('SELECT value FROM verifier_secrets WHERE name = ?', [name]);
      return row === undefined ? undefined : (row.value as Uint8Array);
    },
    async putSecretIfAbsent(name, value) {
      await db.run('INSERT INTO verifier_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [
        name,
        value,
      ]);
    },
  };
}
