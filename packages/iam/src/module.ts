// Builds the iam layer over one database: stores, authenticator, authorizer, log, routes, and the ServiceContext.
import { createPublicKey } from 'node:crypto';
import {
  type Authenticator,
  type Clock,
  CoreError,
  createLeases,
  type Logger,
  type Sealer,
  type SqlDatabase,
} from '@sealroom/core';
import type { OutboundClient } from '@sealroom/outbound';
import type { DeploymentSettings, ServiceContext, ServiceModule } from '@sealroom/transport';
import { decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { AUDIT_MIGRATIONS, type AuditSink, createProjectLog } from './audit.ts';
import { type ConditionEvaluator, createAuthorizer } from './authorizer.ts';
import { createDecisionCache, iamChangesOf } from './decisions.ts';
import { CREDENTIAL_MIGRATIONS, createCredentialStore, type CredentialStore } from './credentials.ts';
import type { IamDeps } from './deps.ts';
import { GROUP_MIGRATIONS, createSqlGroupStore } from './groups.ts';
import { adminRoutes } from './http-admin.ts';
import { authRoutes } from './http-auth.ts';
import { loggingRoutes } from './http-logging.ts';
import { projectRoutes } from './http-projects.ts';
import { serviceAccountKeyRoutes } from './http-service-account-keys.ts';
import { serviceAccountRoutes } from './http-service-accounts.ts';
import { createIdTokenIssuer, ID_TOKEN_MIGRATIONS } from './id-tokens.ts';
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
  const authenticator = createAuthenticator(credentials, serviceAccounts, keys, clock, selfSignedAudience(settings));
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
export function selfSignedAudience(settings: DeploymentSettings): (claims: JWTPayload) => boolean {
  const universe = settings.universeDomain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const service = new RegExp(`^https://[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.${universe}/$`);
  const own = new Set([settings.baseUrl, `${settings.baseUrl}/`]);
  return (claims) => {
    const aud = claims.aud;
    if (aud === undefined) return typeof claims.scope === 'string' && claims.scope.trim() !== '';
    return (Array.isArray(aud) ? aud : [aud]).some((a) => own.has(a) || service.test(a));
  };
}

/**
 * Opaque access tokens from the credential store, and self-signed service-account JWTs (as
 * google-auth-library sends when it skips the token exchange), verified against the account's keys.
 */
function createAuthenticator(
  credentials: CredentialStore,
  serviceAccounts: ServiceAccountStore,
  keys: ServiceAccountKeyStore,
  clock: Clock,
  madeForUs: (claims: JWTPayload) => boolean,
): Authenticator {
  const unauthenticated = () =>
    new CoreError(
      'ERR_UNAUTHENTICATED',
      'Request had invalid authentication credentials. Expected OAuth 2 access token.',
    );
  return {
    async authenticate(token) {
      if (token.split('.').length !== 3 || token.startsWith('sr')) return credentials.authenticate(token);
      try {
        const kid = decodeProtectedHeader(token).kid;
        const claims = decodeJwt(token);
        const email = typeof claims.iss === 'string' ? claims.iss : '';
        if (!kid || !email || claims.sub !== email) throw unauthenticated();
        const account = await serviceAccounts.get(email);
        const pem = account && !account.disabled ? await keys.publicKey(account, kid) : undefined;
        if (!pem) throw unauthenticated();
        const { payload } = await jwtVerify(token, createPublicKey(pem), {
          algorithms: ['RS256'],
          issuer: email,
          maxTokenAge: '1h',
          clockTolerance: 60,
          currentDate: new Date(clock.now()),
          requiredClaims: ['exp', 'iat'],
        });
        if (!madeForUs(payload) || (payload.exp as number) - (payload.iat as number) > 3600) throw unauthenticated();
        return {
          kind: 'serviceAccount',
          principal: `serviceAccount:${email}`,
          credentialId: `${kid.slice(0, 16)}`,
          expiresAt: (payload.exp as number) * 1000,
        };
      } catch {
        throw unauthenticated();
      }
    },
  };
}
