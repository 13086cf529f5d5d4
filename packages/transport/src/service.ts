// What a service offers the server (routes, gRPC bindings, lifecycle) and what the server gives it.
import type {
  AccessTokenIssuer,
  AuditLog,
  Authenticator,
  Authorizer,
  Clock,
  Logger,
  ProjectResolver,
  Sealer,
  SqlDatabase,
} from '@sealroom/core';
import type { OutboundClient } from '@sealroom/outbound';
import type { ApiRoute } from './api.ts';
import type { GrpcServiceBinding } from './grpc-types.ts';

/** Deployment-wide settings every service may read. */
export interface DeploymentSettings {
  /** The server's public base URL, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  readonly baseUrl: string;
  /** Universe domain used in identifiers (`//iam.<universe>/…`, `https://sts.<universe>`). */
  readonly universeDomain: string;
  readonly stateDir: string;
  /** Dev mode: dev login and the soft platform's CA trusted; announced loudly at start. */
  readonly dev: boolean;
}

export interface ServiceContext {
  readonly db: SqlDatabase;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sealer: Sealer;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly audit: AuditLog;
  readonly projects: ProjectResolver;
  readonly tokens: AccessTokenIssuer;
  readonly settings: DeploymentSettings;
  /** The deployment's one outbound HTTP(S) client: every request a service makes goes through its policy. */
  readonly outbound: OutboundClient;
}

export interface ServiceModule {
  /** Short name used by `sealroom serve --only` (e.g. `kms`). */
  readonly name: string;
  readonly routes: readonly ApiRoute[];
  readonly grpc?: readonly GrpcServiceBinding[];
  /** Called after every service is created and before the server listens. */
  start?(): Promise<void>;
  /** Called on shutdown, after the listeners stopped accepting requests. */
  stop?(): Promise<void>;
}

export type ServiceFactory = (context: ServiceContext) => Promise<ServiceModule>;
