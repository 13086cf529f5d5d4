// What the iam routes share: stores, the authorizer and the deployment's settings.
import type { Clock, Logger, Sealer, SqlDatabase } from '@sealroom/core';
import type { DeploymentSettings, ServiceContext } from '@sealroom/transport';
import type { ProjectLog } from './audit.ts';
import type { IamAuthorizer } from './authorizer.ts';
import type { CredentialStore } from './credentials.ts';
import type { GroupStore } from './groups.ts';
import type { IdTokenIssuer } from './id-tokens.ts';
import type { PolicyStore } from './policy-store.ts';
import type { ProjectStore } from './projects.ts';
import type { ServiceAccountKeyStore } from './service-account-keys.ts';
import type { ServiceAccountStore } from './service-accounts.ts';

export interface IamDeps {
  readonly db: SqlDatabase;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sealer: Sealer;
  readonly settings: DeploymentSettings;
  readonly projects: ProjectStore;
  readonly policies: PolicyStore;
  readonly authorizer: IamAuthorizer;
  readonly credentials: CredentialStore;
  readonly serviceAccounts: ServiceAccountStore;
  readonly keys: ServiceAccountKeyStore;
  /** Deployment-managed groups: what `group:` members match. */
  readonly groups: GroupStore;
  readonly idTokens: IdTokenIssuer;
  readonly audit: ProjectLog;
  /** The context handed to every other service (and to the shared policy routes). */
  readonly serviceContext: ServiceContext;
}
