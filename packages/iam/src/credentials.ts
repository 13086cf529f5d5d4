// Bearer credentials: opaque access tokens and user refresh tokens, stored only as SHA-256 digests.
import { createHash } from 'node:crypto';
import {
  type AccessTokenIssuer,
  type Authenticator,
  type Caller,
  type CallerKind,
  type Clock,
  CoreError,
  type FederatedIdentity,
  newSecretToken,
  type SqlDatabase,
} from '@sealroom/core';
import { IamError } from './errors.ts';

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
];

export const ACCESS_TOKEN_PREFIX = 'sr1';
export const REFRESH_TOKEN_PREFIX = 'srr1';
export const ACCESS_TOKEN_TTL_MS = 3600_000;
/** How long a validated token stays in the in-process cache; bounds revocation latency. */
const CACHE_TTL_MS = 30_000;
const CACHE_LIMIT = 50_000;

export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CredentialStore extends Authenticator, AccessTokenIssuer {
  ensureUser(email: string, origin: 'dev' | 'admin' | 'bootstrap', admin?: boolean): Promise<void>;
  isAdmin(email: string): Promise<boolean>;
  userExists(email: string): Promise<boolean>;
  issueRefreshToken(email: string): Promise<string>;
  /** Exchanges a refresh token for an access token of `user:EMAIL`. */
  refresh(refreshToken: string): Promise<{ accessToken: string; expiresAt: number; email: string }>;
  revokeRefreshTokens(email: string): Promise<number>;
  /** Looks a token up without throwing (introspection). */
  inspect(token: string): Promise<Caller | undefined>;
}

interface TokenRow {
  [key: string]: string | number | null;
  kind: string;
  principal: string;
  federation: string | null;
  expire_time: number;
}

export function createCredentialStore(db: SqlDatabase, clock: Clock): CredentialStore {
  const cache = new Map<string, { caller: Caller; until: number }>();
  let issuedSinceSweep = 0;

  const inspect = async (token: string): Promise<Caller | undefined> => {
    if (!token.startsWith(`${ACCESS_TOKEN_PREFIX}.`)) return undefined;
    const digest = digestToken(token);
    const now = clock.now();
    const hit = cache.get(digest);
    if (hit && hit.until > now && hit.caller.expiresAt > now) return hit.caller;
    const row = await db.get<TokenRow>(
      'SELECT kind, principal, federation, expire_time FROM iam_access_tokens WHERE digest = ?',
      [digest],
    );
    if (!row || row.expire_time <= now) return undefined;
    const federation = row.federation ? (JSON.parse(row.federation) as FederatedIdentity) : undefined;
    const caller: Caller = {
      kind: row.kind as CallerKind,
      principal: row.principal,
      credentialId: digest.slice(0, 16),
      expiresAt: row.expire_time,
      ...(federation ? { federation } : {}),
    };
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(digest, { caller, until: now + CACHE_TTL_MS });
    return caller;
  };

  return {
    inspect,
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
    async issueAccessToken(request) {
      const now = clock.now();
      const accessToken = newSecretToken(ACCESS_TOKEN_PREFIX);
      const expiresAt = now + Math.max(1000, Math.min(request.lifetimeMs, 12 * ACCESS_TOKEN_TTL_MS));
      await db.run(
        'INSERT INTO iam_access_tokens (digest, kind, principal, federation, scopes, create_time, expire_time) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          digestToken(accessToken),
          request.kind,
          request.principal,
          request.federation ? JSON.stringify(request.federation) : null,
          JSON.stringify(request.scopes ?? []),
          now,
          expiresAt,
        ],
      );
      if (++issuedSinceSweep >= 1000) {
        issuedSinceSweep = 0;
        await db.run('DELETE FROM iam_access_tokens WHERE expire_time < ?', [now]);
      }
      return { accessToken, expiresAt };
    },
    async ensureUser(email, origin, admin = false) {
      await db.run(
        'INSERT INTO iam_users (email, create_time, origin, admin) VALUES (?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET admin = CASE WHEN excluded.admin > iam_users.admin THEN excluded.admin ELSE iam_users.admin END',
        [email.toLowerCase(), clock.now(), origin, admin ? 1 : 0],
      );
    },
    async isAdmin(email) {
      const row = await db.get<{ admin: number }>('SELECT admin FROM iam_users WHERE email = ?', [email.toLowerCase()]);
      return row?.admin === 1;
    },
    async userExists(email) {
      return (await db.get('SELECT 1 AS x FROM iam_users WHERE email = ?', [email.toLowerCase()])) !== undefined;
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
      const row = await db.get<{ email: string; revoked: number }>(
        'SELECT email, revoked FROM iam_refresh_tokens WHERE digest = ?',
        [digestToken(refreshToken)],
      );
      if (row === undefined || row.revoked !== 0)
        throw new IamError('ERR_IAM_INVALID_GRANT', 'Token has been expired or revoked.');
      const issued = await this.issueAccessToken({
        kind: 'user',
        principal: `user:${row.email}`,
        lifetimeMs: ACCESS_TOKEN_TTL_MS,
      });
      return { ...issued, email: row.email };
    },
    async revokeRefreshTokens(email) {
      const result = await db.run('UPDATE iam_refresh_tokens SET revoked = 1 WHERE email = ? AND revoked = 0', [
        email.toLowerCase(),
      ]);
      cache.clear();
      return result.changes;
    },
  };
}
