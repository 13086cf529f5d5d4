// Bearer credentials: opaque access tokens and user refresh tokens, stored only as SHA-256 digests, and
// checked against their principal on every use; a checked token is reused from memory until any IAM change
// (a disable, a revocation, in this replica or another) drops it, so disabling or revoking takes effect at once.
import { hash } from 'node:crypto';
import {
  type AccessTokenIssuer,
  type AccessTokenRequest,
  type Authenticator,
  type Caller,
  type CallerKind,
  type Clock,
  CoreError,
  createGroupCommitter,
  type FederatedIdentity,
  newSecretToken,
  pooledRandomBytes,
  type SqlDatabase,
  writeMillis48,
} from '@sealroom/core';
import { IamError } from './errors.ts';
import { createChangeCache } from './change-cache.ts';
import { iamChangesOf, signalIamChange } from './decisions.ts';

export const CREDENTIAL_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_access_tokens (
     digest TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     principal TEXT NOT NULL,
     federation TEXT,
     scopes TEXT NOT NULL,
     create_time INTEGER NOT NULL,
     expire_time INTEGER NOT NULL
   );
   CREATE INDEX iam_access_tokens_expiry ON iam_access_tokens (expire_time);
   CREATE TABLE iam_users (
     email TEXT PRIMARY KEY,
     create_time INTEGER NOT NULL,
     origin TEXT NOT NULL,
     admin INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE iam_refresh_tokens (
     digest TEXT PRIMARY KEY,
     email TEXT NOT NULL REFERENCES iam_users (email),
     create_time INTEGER NOT NULL,
     revoked INTEGER NOT NULL DEFAULT 0
   );`,
  // What an access token stands on: the user (by email), the service account (by unique id, so a recreated
  // account with the same email inherits nothing), and the key or refresh token it was obtained with.
  `ALTER TABLE iam_access_tokens ADD COLUMN subject TEXT;
   ALTER TABLE iam_access_tokens ADD COLUMN subject_uid TEXT;
   ALTER TABLE iam_access_tokens ADD COLUMN key_id TEXT;
   ALTER TABLE iam_access_tokens ADD COLUMN refresh_digest TEXT;
   ALTER TABLE iam_users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
   UPDATE iam_access_tokens SET subject = substr(principal, 6) WHERE kind = 'user';
   CREATE INDEX iam_refresh_tokens_email ON iam_refresh_tokens (email);
   CREATE INDEX iam_access_tokens_refresh ON iam_access_tokens (refresh_digest)`,
];

export const ACCESS_TOKEN_PREFIX = 'sr1';
export const REFRESH_TOKEN_PREFIX = 'srr1';
export const ACCESS_TOKEN_TTL_MS = 3600_000;

/**
 * An access token: its issue order (48 bits of milliseconds, 16 of a sequence), then 32 random bytes, in
 * base64url after the prefix. Its row key starts with that order, so a batch of new tokens adds to the right
 * end of the key index instead of one random page each (a page read and written again per token, which made
 * a token's insert several times dearer than the rest of its batch's).
 */
const ORDER_BYTES = 8;
const ORDERED_TOKEN_LENGTH = ACCESS_TOKEN_PREFIX.length + 1 + Math.ceil(((ORDER_BYTES + 32) * 4) / 3);
/** base64url characters that hold the order's bytes exactly (6 bits each, from the first). */
const ORDER_CHARS = Math.ceil((ORDER_BYTES * 8) / 6);
let issueSequence = 0;

function newAccessToken(now: number): string {
  const bytes = Buffer.allocUnsafe(ORDER_BYTES + 32);
  writeMillis48(bytes, now);
  bytes.writeUInt16BE(issueSequence, 6);
  issueSequence = (issueSequence + 1) & 0xffff;
  pooledRandomBytes(32).copy(bytes, ORDER_BYTES);
  return `${ACCESS_TOKEN_PREFIX}.${bytes.toString('base64url')}`;
}

/**
 * The key a token's row is stored under: SHA-256 of the whole token in hex, after an access token's issue
 * order in hex. A token of any other shape (refresh tokens, access tokens issued before the order was added,
 * anything presented) is keyed by its digest alone; the two shapes differ in length, so they never meet.
 */
export function digestToken(token: string): string {
  const digest = hash('sha256', token, 'hex');
  if (token.length !== ORDERED_TOKEN_LENGTH || !token.startsWith(`${ACCESS_TOKEN_PREFIX}.`)) return digest;
  const start = ACCESS_TOKEN_PREFIX.length + 1;
  const order = Buffer.from(token.slice(start, start + ORDER_CHARS), 'base64url').subarray(0, ORDER_BYTES);
  return order.length === ORDER_BYTES ? order.toString('hex') + digest : digest;
}

/** The token's own digest within its key (the key's last 64 characters). */
function digestPart(key: string): string {
  return key.slice(key.length - 64);
}

/** What else an access token depends on besides its principal: the key or refresh token it came from. */
export interface TokenOrigin {
  readonly keyId?: string;
  readonly refreshDigest?: string;
}

export interface UserRecord {
  readonly email: string;
  readonly origin: string;
  readonly admin: boolean;
  readonly disabled: boolean;
  readonly createTime: number;
}

export interface CredentialStore extends Authenticator, AccessTokenIssuer {
  /** Mints an access token; refused for a missing or disabled user or service account. */
  issueAccessToken(
    request: AccessTokenRequest,
    origin?: TokenOrigin,
  ): Promise<{ accessToken: string; expiresAt: number }>;
  ensureUser(email: string, origin: 'dev' | 'admin' | 'bootstrap', admin?: boolean): Promise<void>;
  isAdmin(email: string): Promise<boolean>;
  userExists(email: string): Promise<boolean>;
  getUser(email: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Disabling a user stops its access tokens at once and refuses its refresh tokens until enabled again. */
  setUserDisabled(email: string, disabled: boolean): Promise<boolean>;
  issueRefreshToken(email: string): Promise<string>;
  /** Exchanges a refresh token for an access token of `user:EMAIL`. */
  refresh(refreshToken: string): Promise<{ accessToken: string; expiresAt: number; email: string }>;
  /** Revokes every refresh token of the user (and so every access token obtained with them). */
  revokeRefreshTokens(email: string): Promise<number>;
  /**
   * RFC 7009 revocation: a refresh token is revoked with the access tokens obtained with it; an access
   * token alone. Returns the account the token belonged to, or undefined for an unknown token.
   */
  revoke(token: string): Promise<{ email: string; kind: 'refresh' | 'access' } | undefined>;
  /** Looks a token up without throwing (introspection). */
  inspect(token: string): Promise<Caller | undefined>;
}

interface TokenRow {
  [key: string]: string | number | null;
  kind: string;
  principal: string;
  federation: string | null;
  expire_time: number;
  key_id: string | null;
  refresh_digest: string | null;
  user_ok: number | null;
  account_ok: number | null;
  key_ok: number | null;
  refresh_ok: number | null;
}

// One indexed lookup per request: the token joined with everything it stands on. A row that the principal,
// key or refresh token no longer supports is refused, so there is nothing to invalidate anywhere.
const LOOKUP = `
  SELECT t.kind, t.principal, t.federation, t.expire_time, t.key_id, t.refresh_digest,
    u.disabled AS user_ok, sa.disabled AS account_ok, k.disabled AS key_ok, r.revoked AS refresh_ok
  FROM iam_access_tokens t
  LEFT JOIN iam_users u ON t.kind = 'user' AND u.email = t.subject AND u.disabled = 0
  LEFT JOIN iam_service_accounts sa ON t.kind = 'serviceAccount' AND sa.unique_id = t.subject_uid
    AND 'serviceAccount:' || sa.email = t.principal AND sa.disabled = 0 AND sa.delete_time IS NULL
  LEFT JOIN iam_service_account_keys k ON k.key_id = t.key_id AND k.disabled = 0
  LEFT JOIN iam_refresh_tokens r ON r.digest = t.refresh_digest AND r.revoked = 0
  WHERE t.digest = ?`;

function stillValid(row: TokenRow): boolean {
  if (row.key_id !== null && row.key_ok === null) return false;
  if (row.refresh_digest !== null && row.refresh_ok === null) return false;
  if (row.kind === 'user') return row.user_ok !== null;
  if (row.kind === 'serviceAccount') return row.account_ok !== null;
  return row.kind === 'federated';
}

/** What a valid token's row says, kept by `inspect` between uses. */
type CheckedToken = {
  readonly kind: CallerKind;
  readonly principal: string;
  readonly expiresAt: number;
  readonly federation: FederatedIdentity | undefined;
} | null;

interface UserRow {
  [key: string]: string | number;
  email: string;
  origin: string;
  admin: number;
  disabled: number;
  create_time: number;
}

const toUser = (row: UserRow): UserRecord => ({
  email: row.email,
  origin: row.origin,
  admin: row.admin === 1,
  disabled: row.disabled !== 0,
  createTime: row.create_time,
});

const revokedGrant = () => new IamError('ERR_IAM_INVALID_GRANT', 'Token has been expired or revoked.');

export function createCredentialStore(db: SqlDatabase, clock: Clock): CredentialStore {
  let issuedSinceSweep = 0;
  // Every exchange, refresh and impersonation inserts a token: those inserts are group-committed.
  const grouped = createGroupCommitter(db);
  /** Asked on every use of a federated token: is its pool (and provider) still active? */
  let federatedActive: ((identity: FederatedIdentity) => Promise<boolean>) | undefined;

  // Valid tokens only (a refusal is always asked again), by digest; every IAM change clears it.
  const checked = createChangeCache<CheckedToken>({ counter: iamChangesOf(db), clock });

  const inspect = async (token: string): Promise<Caller | undefined> => {
    if (!token.startsWith(`${ACCESS_TOKEN_PREFIX}.`)) return undefined;
    const digest = digestToken(token);
    const found = await checked.read(
      digest,
      async () => {
        const row = await db.get<TokenRow>(LOOKUP, [digest]);
        if (!row || !stillValid(row)) return null;
        return {
          kind: row.kind as CallerKind,
          principal: row.principal,
          expiresAt: row.expire_time,
          federation: row.federation ? (JSON.parse(row.federation) as FederatedIdentity) : undefined,
        };
      },
      (value) => value !== null,
    );
    if (!found || found.expiresAt <= clock.now()) return undefined;
    const { federation } = found;
    if (found.kind === 'federated' && (!federation || (federatedActive && !(await federatedActive(federation))))) {
      return undefined;
    }
    return {
      kind: found.kind,
      principal: found.principal,
      credentialId: digestPart(digest).slice(0, 16),
      expiresAt: found.expiresAt,
      ...(federation ? { federation } : {}),
    };
  };

  /** The column values that tie a new token to its principal; throws when the principal cannot hold one. */
  const subjectOf = async (request: AccessTokenRequest): Promise<{ subject: string | null; uid: string | null }> => {
    const email = request.principal.slice(request.principal.indexOf(':') + 1).toLowerCase();
    if (request.kind === 'user') {
      const row = await db.get<{ disabled: number }>('SELECT disabled FROM iam_users WHERE email = ?', [email]);
      if (row?.disabled !== 0) throw new IamError('ERR_IAM_USER_DISABLED', `User ${email} is disabled.`);
      return { subject: email, uid: null };
    }
    if (request.kind === 'serviceAccount') {
      const row = await db.get<{ unique_id: string }>(
        'SELECT unique_id FROM iam_service_accounts WHERE email = ? AND disabled = 0 AND delete_time IS NULL',
        [email],
      );
      if (!row)
        throw new IamError('ERR_IAM_SERVICE_ACCOUNT_DISABLED', `Service account ${email} is disabled or deleted.`);
      return { subject: email, uid: row.unique_id };
    }
    return { subject: null, uid: null };
  };

  const issueAccessToken: CredentialStore['issueAccessToken'] = async (request, origin = {}) => {
    const now = clock.now();
    const { subject, uid } = await subjectOf(request);
    const accessToken = newAccessToken(now);
    const expiresAt = now + Math.max(1000, Math.min(request.lifetimeMs, 12 * ACCESS_TOKEN_TTL_MS));
    await grouped.run(
      `INSERT INTO iam_access_tokens (digest, kind, principal, federation, scopes, create_time, expire_time, subject, subject_uid, key_id, refresh_digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        digestToken(accessToken),
        request.kind,
        request.principal,
        request.federation ? JSON.stringify(request.federation) : null,
        JSON.stringify(request.scopes ?? []),
        now,
        expiresAt,
        subject,
        uid,
        origin.keyId ?? null,
        origin.refreshDigest ?? null,
      ],
    );
    if (++issuedSinceSweep >= 1000) {
      issuedSinceSweep = 0;
      await db.run('DELETE FROM iam_access_tokens WHERE expire_time < ?', [now]);
    }
    return { accessToken, expiresAt };
  };

  return {
    inspect,
    issueAccessToken,
    checkFederatedTokensWith(isActive) {
      federatedActive = isActive;
    },
    async authenticate(token) {
      const caller = await inspect(token);
      if (!caller) {
        throw new CoreError(
          'ERR_UNAUTHENTICATED',
          'Request had invalid authentication credentials. Expected OAuth 2 access token.',
        );
      }
      return caller;
    },
    async ensureUser(email, origin, admin = false) {
      await db.run(
        'INSERT INTO iam_users (email, create_time, origin, admin) VALUES (?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET admin = CASE WHEN excluded.admin > iam_users.admin THEN excluded.admin ELSE iam_users.admin END',
        [email.toLowerCase(), clock.now(), origin, admin ? 1 : 0],
      );
    },
    async isAdmin(email) {
      const row = await db.get<{ admin: number; disabled: number }>(
        'SELECT admin, disabled FROM iam_users WHERE email = ?',
        [email.toLowerCase()],
      );
      return row?.admin === 1 && row.disabled === 0;
    },
    async userExists(email) {
      return (await db.get('SELECT 1 AS x FROM iam_users WHERE email = ?', [email.toLowerCase()])) !== undefined;
    },
    async getUser(email) {
      const row = await db.get<UserRow>('SELECT * FROM iam_users WHERE email = ?', [email.toLowerCase()]);
      return row ? toUser(row) : undefined;
    },
    async listUsers() {
      return (await db.all<UserRow>('SELECT * FROM iam_users ORDER BY email')).map(toUser);
    },
    async setUserDisabled(email, disabled) {
      const { changes } = await db.run('UPDATE iam_users SET disabled = ? WHERE email = ?', [
        disabled ? 1 : 0,
        email.toLowerCase(),
      ]);
      signalIamChange(db);
      return changes === 1;
    },
    async issueRefreshToken(email) {
      const token = newSecretToken(REFRESH_TOKEN_PREFIX);
      await db.run('INSERT INTO iam_refresh_tokens (digest, email, create_time) VALUES (?, ?, ?)', [
        digestToken(token),
        email.toLowerCase(),
        clock.now(),
      ]);
      return token;
    },
    async refresh(refreshToken) {
      const digest = digestToken(refreshToken);
      const row = await db.get<{ email: string; revoked: number; disabled: number }>(
        `SELECT r.email, r.revoked, u.disabled FROM iam_refresh_tokens r JOIN iam_users u ON u.email = r.email
         WHERE r.digest = ?`,
        [digest],
      );
      if (row === undefined || row.revoked !== 0 || row.disabled !== 0) throw revokedGrant();
      const issued = await issueAccessToken(
        { kind: 'user', principal: `user:${row.email}`, lifetimeMs: ACCESS_TOKEN_TTL_MS },
        { refreshDigest: digest },
      );
      return { ...issued, email: row.email };
    },
    async revokeRefreshTokens(email) {
      const result = await db.run('UPDATE iam_refresh_tokens SET revoked = 1 WHERE email = ? AND revoked = 0', [
        email.toLowerCase(),
      ]);
      signalIamChange(db);
      return result.changes;
    },
    async revoke(token) {
      const digest = digestToken(token.trim());
      if (token.startsWith(`${REFRESH_TOKEN_PREFIX}.`)) {
        const row = await db.get<{ email: string }>(
          'SELECT email FROM iam_refresh_tokens WHERE digest = ? AND revoked = 0',
          [digest],
        );
        if (!row) return undefined;
        await db.run('UPDATE iam_refresh_tokens SET revoked = 1 WHERE digest = ?', [digest]);
        await db.run('DELETE FROM iam_access_tokens WHERE refresh_digest = ?', [digest]);
        signalIamChange(db);
        return { email: row.email, kind: 'refresh' };
      }
      const row = await db.get<{ principal: string }>('SELECT principal FROM iam_access_tokens WHERE digest = ?', [
        digest,
      ]);
      if (!row) return undefined;
      await db.run('DELETE FROM iam_access_tokens WHERE digest = ?', [digest]);
      signalIamChange(db);
      return { email: row.principal.slice(row.principal.indexOf(':') + 1), kind: 'access' };
    },
  };
}
