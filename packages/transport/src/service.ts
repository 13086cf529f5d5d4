// What a service offers the server (routes, gRPC bindings, lifecycle) and what the server gives it.
import type {
  AccessTokenIssuer,
  AuditLog,
  Authenticator,
  Authorizer,
  Clock,
  Leases,
  Logger,
  ProjectRef,
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
  /** The registry's blob directory, shared by every replica; `<stateDir>/registry` when unset. */
  readonly blobDir?: string;
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
  /** Leases in `db`: background work (sweeps, rotations) runs in one replica at a time. */
  readonly leases: Leases;
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
  /** Called once every listener is up, with where they listen (instances hand these to their workloads). */
  serving?(endpoints: ServingEndpoints): void;
  /**
   * The module's current values for the deployment's `/metrics` (a Pub/Sub backlog, instances by
   * state), read at scrape time across the projects given.
   */
  gauges?(projects: readonly ProjectRef[]): Promise<readonly ModuleGauge[]>;
}

/** One gauge a module reports: a name (`sealroom_…`), what it measures, and a value per label set. */
export interface ModuleGauge {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly samples: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[];
}

/** One answered request, for the deployment's metrics: REST (method, route template, HTTP status) or gRPC. */
export interface RequestSample {
  readonly transport: 'http' | 'grpc';
  /** HTTP method, or the gRPC method's full name (`google.pubsub.v1.Publisher/Publish`). */
  readonly method: string;
  /** The route's path template (`/v1/{name=projects/*}`), `unmatched`, or the gRPC method. */
  readonly route: string;
  /** HTTP status (`200`), or the gRPC status name (`OK`, `PERMISSION_DENIED`). */
  readonly code: string;
  readonly seconds: number;
}

/** Where a started deployment listens, and the CA its TLS certificates chain to. */
export interface ServingEndpoints {
  readonly rest: string;
  readonly grpc?: { readonly host: string; readonly port: number };
  readonly caPem: string;
}

/**
 * How a service package plugs into `sealroom serve`: given the deployment's context it returns its
 * routes (and gRPC bindings). `packages/server/src/services.ts` lists the factories the server composes.
 *
 * @example
 * ```ts
 * // A service alone, as its tests run it: an IAM context, the factory, a REST app around its routes.
 * const { context } = await createIamTestContext({ dev: true });
 * const kms = await createKmsService(context);
 * const app = await buildRestApp({ routes: kms.routes, authenticator: context.authenticator, logger: context.logger });
 * await kms.start?.();
 * ```
 */
export type ServiceFactory = (context: ServiceContext) => Promise<ServiceModule>;
