// The deployment's OIDC issuer for service-account ID tokens: RS256 keys sealed at rest, rotated with overlap.
import { type KeyObject, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { type Clock, type Sealer, type SqlDatabase, generateRsaKeyPair, signRs256Jwt } from '@sealroom/core';
import { type JWK, exportJWK } from 'jose';

export const ID_TOKEN_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_signing_keys (
     kid TEXT PRIMARY KEY,
     sealed_private BLOB NOT NULL,
     public_jwk TEXT NOT NULL,
     create_time INTEGER NOT NULL
   );`,
];

export const ID_TOKEN_TTL_MS = 3600_000;
/** A new signing key is made after this age; the previous one stays published until its tokens expire. */
export const SIGNING_KEY_ROTATION_MS = 30 * 24 * 3600_000;
/** The lock a new signing key is made under (`TransactionOptions.serializeOn`): one key at a time, everywhere. */
const SIGNING_KEY_LOCK = 'sealroom-iam-signing-key';

export interface IdTokenClaims {
  readonly audience: string;
  readonly subject: string;
  readonly email?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface IdTokenIssuer {
  /** The `iss` of the tokens: `{baseUrl}/accounts`. */
  readonly issuer: string;
  sign(claims: IdTokenClaims): Promise<string>;
  jwks(): Promise<{ keys: JWK[] }>;
  discovery(): Record<string, unknown>;
}

interface KeyRow {
  [key: string]: string | number | Uint8Array;
  kid: string;
  sealed_private: Uint8Array;
  public_jwk: string;
  create_time: number;
}

export function createIdTokenIssuer(options: {
  db: SqlDatabase;
  sealer: Sealer;
  clock: Clock;
  baseUrl: string;
}): IdTokenIssuer {
  const issuer = `${options.baseUrl}/accounts`;
  let current: { kid: string; key: KeyObject; createTime: number } | undefined;

  const usable = (row: KeyRow | undefined, now: number): row is KeyRow =>
    row !== undefined && now - row.create_time < SIGNING_KEY_ROTATION_MS;
  const fromRow = (row: KeyRow) => ({
    kid: row.kid,
    key: createPrivateKey(options.sealer.open(row.sealed_private, `iam/signing-key/${row.kid}`)),
    createTime: row.create_time,
  });
  const LATEST = 'SELECT * FROM iam_signing_keys ORDER BY create_time DESC, kid ASC LIMIT 1';

  /**
   * The newest key, or a new one when it is due. Every issuer over the database (IAM's, the metadata server's,
   * other replicas') signs with the same key: a key is inserted only inside a transaction serialized on one lock
   * that finds no usable key, and a caller that lost the race takes the winner's. Tokens signed with a key made
   * seconds after a verifier fetched the key set would otherwise be refused until its next fetch.
   */
  const loadOrCreate = async (): Promise<{ kid: string; key: KeyObject; createTime: number }> => {
    const found = await options.db.get<KeyRow>(LATEST);
    if (usable(found, options.clock.now())) return fromRow(found);
    const { privateKey, publicKey } = await generateRsaKeyPair();
    const kid = randomBytes(20).toString('hex');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    return options.db.transaction(
      async (tx) => {
        const now = options.clock.now();
        const latest = await tx.get<KeyRow>(LATEST);
        if (usable(latest, now)) return fromRow(latest);
        await tx.run(
          'INSERT INTO iam_signing_keys (kid, sealed_private, public_jwk, create_time) VALUES (?, ?, ?, ?)',
          [kid, options.sealer.seal(Buffer.from(pem), `iam/signing-key/${kid}`), JSON.stringify(jwk), now],
        );
        return { kid, key: privateKey, createTime: now };
      },
      { serializeOn: SIGNING_KEY_LOCK },
    );
  };

  let loading: Promise<{ kid: string; key: KeyObject; createTime: number }> | undefined;
  const activeKey = async () => {
    if (current && options.clock.now() - current.createTime < SIGNING_KEY_ROTATION_MS) return current;
    // One look (and at most one new key) at a time in this process, however many tokens are asked for at once.
    loading ??= loadOrCreate().finally(() => {
      loading = undefined;
    });
    current = await loading;
    return current;
  };

  return {
    issuer,
    async sign(claims) {
      const { kid, key } = await activeKey();
      const now = Math.floor(options.clock.now() / 1000);
      return signRs256Jwt(
        { alg: 'RS256', kid, typ: 'JWT' },
        {
          ...claims.extra,
          ...(claims.email ? { email: claims.email, email_verified: true } : {}),
          iss: issuer,
          aud: claims.audience,
          sub: claims.subject,
          iat: now,
          exp: now + ID_TOKEN_TTL_MS / 1000,
        },
        key,
      );
    },
    async jwks() {
      await activeKey();
      // A retired key stays published until every token it signed has expired.
      const since = options.clock.now() - SIGNING_KEY_ROTATION_MS - ID_TOKEN_TTL_MS;
      const rows = await options.db.all<KeyRow>(
        'SELECT public_jwk FROM iam_signing_keys WHERE create_time >= ? ORDER BY create_time DESC',
        [since],
      );
      return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
    },
    discovery() {
      return {
        issuer,
        jwks_uri: `${issuer}/v3/certs`,
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'sub'],
      };
    },
  };
}

/** Public key of a JWK, for tests and verifiers. */
export function publicKeyFromJwk(jwk: JWK): KeyObject {
  return createPublicKey({ key: jwk as Record<string, unknown> as import('node:crypto').JsonWebKey, format: 'jwk' });
}
