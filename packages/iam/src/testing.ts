// An iam layer over an in-memory database, for services' tests: users, projects and grants in one line each.
import { randomBytes } from 'node:crypto';
import {
  type Authorizer,
  type Caller,
  type Clock,
  createMemoryLogger,
  createSealer,
  type MemoryLogger,
  openSqliteDatabase,
  permissionDenied,
  systemClock,
} from '@sealroom/core';
import { createOutboundClient, type OutboundPolicy } from '@sealroom/outbound';
import type { ServiceContext } from '@sealroom/transport';
import type { IamDeps } from './deps.ts';
import { createIam, type Iam } from './module.ts';
import { addBinding } from './policy.ts';
import type { Project } from './projects.ts';
import { canonicalResource } from './resource-canonical.ts';

export interface IamTestContext {
  readonly context: ServiceContext;
  readonly deps: IamDeps;
  readonly iam: Iam;
  readonly logger: MemoryLogger;
  createUser(email: string): Promise<{ caller: Caller; accessToken: string }>;
  createProject(projectId: string, ownerEmail: string): Promise<Project>;
  grant(resource: string, role: string, member: string): Promise<void>;
  close(): Promise<void>;
}

export async function createIamTestContext(
  options: {
    clock?: Clock;
    dev?: boolean;
    baseUrl?: string;
    universeDomain?: string;
    /** The outbound policy; by default the server's: loopback reachable in dev mode only. */
    outbound?: OutboundPolicy;
  } = {},
): Promise<IamTestContext> {
  const db = openSqliteDatabase({ path: ':memory:' });
  const logger = createMemoryLogger();
  const clock = options.clock ?? systemClock;
  const dev = options.dev ?? true;
  const iam = await createIam({
    db,
    logger,
    clock,
    sealer: createSealer(randomBytes(32)),
    settings: {
      baseUrl: options.baseUrl ?? 'http://127.0.0.1:8080',
      universeDomain: options.universeDomain ?? 'googleapis.com',
      stateDir: '.',
      dev,
    },
    outbound: createOutboundClient({ policy: options.outbound ?? { allowLoopback: dev } }),
  });
  const { deps } = iam;
  return {
    iam,
    deps,
    context: iam.context,
    logger,
    async createUser(email) {
      await deps.credentials.ensureUser(email, 'dev');
      const issued = await deps.credentials.issueAccessToken({
        kind: 'user',
        principal: `user:${email.toLowerCase()}`,
        lifetimeMs: 3600_000,
      });
      return { accessToken: issued.accessToken, caller: await deps.credentials.authenticate(issued.accessToken) };
    },
    async createProject(projectId, ownerEmail) {
      return deps.projects.create(projectId, projectId, `user:${ownerEmail.toLowerCase()}`, clock.now());
    },
    async grant(resource, role, member) {
      const canonical = await canonicalResource(deps.projects, resource);
      if (!canonical) throw new Error(`Unknown project in ${resource}`);
      await deps.policies.update(canonical, (current) => addBinding(current, role, member), clock.now());
    },
    close: () => db.close(),
  };
}

/** A test caller for `user:EMAIL`, valid until 2030. */
export function userCaller(email: string): Caller {
  return { kind: 'user', principal: `user:${email}`, credentialId: `cred-${email}`, expiresAt: Date.UTC(2030, 0, 1) };
}

export interface GrantTableAuthorizer {
  /** Allows exactly what `grant` added; refuses with PERMISSION_DENIED otherwise. */
  readonly authorizer: Authorizer;
  /** Grants `permission` on `resource` and everything below it to `principal`. */
  grant(principal: string, permission: string, resource: string): void;
}

/** An authorizer over a table of grants, for a service's domain tests without the iam layer. */
export function createGrantTableAuthorizer(): GrantTableAuthorizer {
  const grants: { principal: string; permission: string; resource: string }[] = [];
  const isAllowed = async (caller: Caller | undefined, permission: string, resource: string) =>
    caller !== undefined &&
    grants.some(
      (g) =>
        g.principal === caller.principal &&
        g.permission === permission &&
        (resource === g.resource || resource.startsWith(`${g.resource}/`)),
    );
  return {
    authorizer: {
      isAllowed,
      authorize: async (caller, permission, resource) => {
        if (!(await isAllowed(caller, permission, resource))) throw permissionDenied(permission, resource);
      },
    },
    grant: (principal, permission, resource) => void grants.push({ principal, permission, resource }),
  };
}
