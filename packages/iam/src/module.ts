// Builds the iam layer over one database: stores, authenticator, authorizer, log, routes, and the ServiceContext.
import {
  type Authenticator,
  type Clock,
  CoreError,
  createLeases,
  type Logger,
  publicKeyFromPem,
  type Sealer,
  type SqlDatabase,
  verifyRs256,
} from '@sealroom/core';
import type { OutboundClient } from '@sealroom/outbound';
import type { DeploymentSettings, ServiceContext, ServiceModule } from '@sealroom/transport';
import { AUDIT_MIGRATIONS, type AuditSink, createProjectLog } from './audit.ts';
import { type ConditionEvaluator, createAuthorizer } from './authorizer.ts';
import { createDecisionCache, type IamChanges, iamChangesOf } from './decisions.ts';
import { createChangeCache } from './change-cache.ts';
import { CREDENTIAL_MIGRATIONS, createCredentialStore, type CredentialStore, digestToken } from './credentials.ts';
import type { IamDeps } from './deps.ts';
import { GROUP_MIGRATIONS, createSqlGroupStore } from './groups.ts';
import { adminRoutes } from './http-admin.ts';
import { authRoutes } from './http-auth.ts';
import { loggingRoutes } from './http-logging.ts';
import { projectRoutes } from './http-projects.ts';
import { serviceAccountKeyRoutes } from './http-service-account-keys.ts';
import { serviceAccountRoutes } from './http-service-accounts.ts';
import { createIdTokenIssuer, ID_TOKEN_MIGRATIONS } from './id-tokens.ts';
import { CLOCK_SKEW_S, decodeRs256Jwt, shortLived } from './jwt-grant.ts';
import { createSqlPolicyStore, POLICY_MIGRATIONS } from './policy-store.ts';
import { createSqlProjectStore, PROJECT_MIGRATIONS } from './projects.ts';
import { createSqlServiceAccountKeyStore, type ServiceAccountKeyStore } from './service-account-keys.ts';
import {
  createSqlServiceAccountStore,
  SERVICE_ACCOUNT_MIGRATIONS,
  type ServiceAccountStore,
} from './service-accounts.ts';

export interface IamOptions {
  readonly db: SqlDatabase;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sealer: Sealer;
  readonly settings: DeploymentSettings;
  /** The deployment's outbound client, handed to every service in its context. */
  readonly outbound: OutboundClient;
  readonly evaluateCondition?: ConditionEvaluator;
  /** Also receives every audit record (the transparency log's hook). */
  readonly auditSink?: AuditSink;
}

export interface Iam {
  readonly deps: IamDeps;
  /** The context every other service receives. */
  readonly context: ServiceContext;
  /** The routes of resource manager, IAM, IAM Credentials, OAuth token endpoint and logging. */
  readonly module: ServiceModule;
}

/**
 * Applies the iam migrations (idempotent) and wires the stores. Its `context` is the ServiceContext
 * every other service is built with; its `module` serves projects, IAM, IAM Credentials, OAuth and logging.
 *
 * @example
 * ```ts
 * const iam = await createIam({
 *   db: openSqliteDatabase({ path: '.sealroom/sealroom.db' }),
 *   sealer: loadOrCreateRootKey('.sealroom/root.key'),
 *   settings: { baseUrl: 'http://127.0.0.1:8080', universeDomain: 'googleapis.com', stateDir: '.sealroom', dev: true },
 *   outbound: createOutboundClient(),
 *   logger, clock: systemClock,
 * });
 * const kms = await createKmsService(iam.context);
 * await iam.context.authorizer.isAllowed(caller, 'cloudkms.cryptoKeyVersions.useToDecrypt', keyName);
 * ```
 */
export async function createIam(options: IamOptions): Promise<Iam> {
  const { db, clock, sealer, settings, logger } = options;
  await db.migrate('resourcemanager', PROJECT_MIGRATIONS);
  await db.migrate('iam-policies', POLICY_MIGRATIONS);
  await db.migrate('iam-credentials', CREDENTIAL_MIGRATIONS);
  await db.migrate('iam-service-accounts', SERVICE_ACCOUNT_MIGRATIONS);
  await db.migrate('iam-id-tokens', ID_TOKEN_MIGRATIONS);
  await db.migrate('logging', AUDIT_MIGRATIONS);
  await db.migrate('iam-groups', GROUP_MIGRATIONS);
  const projects = createSqlProjectStore(db);
  const policies = createSqlPolicyStore(db, clock);
  const credentials = createCredentialStore(db, clock);
  const serviceAccounts = createSqlServiceAccountStore(db, clock);
  const keys = createSqlServiceAccountKeyStore(db, clock);
  const groups = createSqlGroupStore(db, clock);
  const authorizer = createAuthorizer({
    policies,
    projects,
    universe: settings.universeDomain,
    now: () => clock.now(),
    groupsOf: (principal) => groups.groupsOf(principal),
    ...(options.evaluateCondition ? { evaluateCondition: options.evaluateCondition } : {}),
    // Every service's allowed decisions, reused until any replica changes IAM state (5 s at most).
    decisions: createDecisionCache({ clock, changes: iamChangesOf(db) }),
  });
  const audit = createProjectLog({
    db,
    sealer,
    clock,
    projects,
    ...(options.auditSink ? { sink: options.auditSink } : {}),
  });
  const idTokens = createIdTokenIssuer({ db, sealer, clock, baseUrl: settings.baseUrl });
  const authenticator = createAuthenticator(
    credentials,
    serviceAccounts,
    keys,
    clock,
    selfSignedAudience(settings),
    iamChangesOf(db),
  );
  const context: ServiceContext = {
    db,
    logger,
    clock,
    sealer,
    authenticator,
    authorizer,
    audit,
    projects,
    tokens: credentials,
    settings,
    outbound: options.outbound,
    leases: createLeases({ db, clock }),
  };
  const deps: IamDeps = {
    db,
    clock,
    logger,
    sealer,
    settings,
    projects,
    policies,
    authorizer,
    credentials,
    serviceAccounts,
    keys,
    groups,
    idTokens,
    audit,
    serviceContext: context,
  };
  const module: ServiceModule = {
    name: 'iam',
    routes: [
      ...authRoutes(deps),
      ...adminRoutes(deps),
      ...projectRoutes(deps),
      ...serviceAccountRoutes(deps),
      ...serviceAccountKeyRoutes(deps),
      ...loggingRoutes(deps),
    ],
  };
  return { deps, context, module };
}

/**
 * Whether a self-signed JWT was made for this deployment: its `aud` is the server's configured public URL,
 * or a service URL of the universe (`https://cloudkms.googleapis.com/`, as google-auth-library's
 * JWTAccess sets it); with no `aud`, it must carry `scope` (useJWTAccessWithScope). A JWT the account
 * made for another relying party is not a credential here.
 */
export function selfSignedAudience(settings: DeploymentSettings): (claims: Record<string, unknown>) => boolean {
  const universe = settings.universeDomain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const service = new RegExp(`^https://[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.${universe}/$`);
  const own = new Set([settings.baseUrl, `${settings.baseUrl}/`]);
  return (claims) => {
    const aud = claims.aud;
    if (aud === undefined) return typeof claims.scope === 'string' && claims.scope.trim() !== '';
    return (Array.isArray(aud) ? aud : [aud]).some((a) => typeof a === 'string' && (own.has(a) || service.test(a)));
  };
}

/** A self-signed JWT found good: who sent it, and its claims (its times are checked again on every use). */
interface SelfSignedCaller {
  readonly email: string;
  readonly kid: string;
  readonly payload: Record<string, unknown> & { iat: number; exp: number };
}

/**
 * Opaque access tokens from the credential store, and self-signed service-account JWTs (as
 * google-auth-library sends when it skips the token exchange), verified against the account's keys. A client
 * sends the same JWT for up to an hour: a verified one is kept (by digest) until any IAM change — an account or
 * key disabled or deleted — or 5 s, whichever comes first, like the opaque tokens' rows.
 */
function createAuthenticator(
  credentials: CredentialStore,
  serviceAccounts: ServiceAccountStore,
  keys: ServiceAccountKeyStore,
  clock: Clock,
  madeForUs: (claims: Record<string, unknown>) => boolean,
  changes: IamChanges,
): Authenticator {
  const unauthenticated = () =>
    new CoreError(
      'ERR_UNAUTHENTICATED',
      'Request had invalid authentication credentials. Expected OAuth 2 access token.',
    );
  const verified = createChangeCache<SelfSignedCaller | null>({ counter: changes, clock });
  const verifySelfSigned = async (token: string): Promise<SelfSignedCaller | null> => {
    const { header, payload, signingInput, signature } = decodeRs256Jwt(token);
    const kid = header.kid;
    const email = typeof payload.iss === 'string' ? payload.iss : '';
    if (typeof kid !== 'string' || !kid || !email || payload.sub !== email) return null;
    const account = await serviceAccounts.get(email);
    const pem = account && !account.disabled ? await keys.publicKey(account, kid) : undefined;
    if (!pem || !verifyRs256(signingInput, signature, publicKeyFromPem(pem))) return null;
    if (!timely(payload, Math.floor(clock.now() / 1000)) || !madeForUs(payload)) return null;
    return { email, kid, payload };
  };
  return {
    async authenticate(token) {
      if (token.split('.').length !== 3 || token.startsWith('sr')) return credentials.authenticate(token);
      let found: SelfSignedCaller | null;
      try {
        found = await verified.read(
          digestToken(token),
          () => verifySelfSigned(token),
          (value) => value !== null,
        );
      } catch {
        throw unauthenticated();
      }
      if (!found || !timely(found.payload, Math.floor(clock.now() / 1000))) throw unauthenticated();
      return {
        kind: 'serviceAccount',
        principal: `serviceAccount:${found.email}`,
        credentialId: found.kid.slice(0, 16),
        expiresAt: found.payload.exp * 1000,
      };
    },
  };
}

/**
 * A self-signed JWT's times, as Google checks them: `iat` and `exp` numbers within the assertions' rule
 * (`shortLived`), and any `nbf` passed (within the same skew).
 */
function timely(
  payload: Record<string, unknown>,
  nowSeconds: number,
): payload is Record<string, unknown> & { iat: number; exp: number } {
  const { iat, exp, nbf } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) {
    return false;
  }
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds + CLOCK_SKEW_S)) return false;
  return shortLived(iat, exp, nowSeconds);
}
