// Test helpers (`@sealroom/kms/testing`): the KMS domain over a grant table authorizer, a memory audit log and
// fixed projects; and a KMS over the real iam layer, served by the REST adapter on loopback (wire tests, bench).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type AuditRecord,
  createFakeClock,
  createMemoryLogger,
  createSealer,
  type FakeClock,
  type MemoryLogger,
  openSqliteDatabase,
  type Sealer,
  type SqlDatabase,
} from '@sealroom/core';
import { createGrantTableAuthorizer, createIamTestContext, type IamTestContext } from '@sealroom/iam/testing';
import { type ApiRoute, buildRestApp } from '@sealroom/transport';
import type { KmsDeps } from './context.ts';
import { createKmsService } from './module.ts';
import { openSqlKmsStore } from './store.ts';

export interface KmsTestBed {
  readonly deps: KmsDeps;
  readonly db: SqlDatabase;
  readonly clock: FakeClock;
  readonly logger: MemoryLogger;
  readonly audit: AuditRecord[];
  /** Grants `permission` on `resource` and everything below it to `principal`. */
  grant(principal: string, permission: string, resource: string): void;
}

export { userCaller } from '@sealroom/iam/testing';

export async function createKmsTestBed(
  options: { db?: SqlDatabase; sealer?: Sealer; clock?: FakeClock } = {},
): Promise<KmsTestBed> {
  const db = options.db ?? openSqliteDatabase({ path: ':memory:' });
  const clock = options.clock ?? createFakeClock();
  const logger = createMemoryLogger();
  const audit: AuditRecord[] = [];
  const { authorizer, grant } = createGrantTableAuthorizer();
  const projects = new Map([
    ['proj-a', { projectId: 'proj-a', projectNumber: '111111111111' }],
    ['111111111111', { projectId: 'proj-a', projectNumber: '111111111111' }],
    ['proj-b', { projectId: 'proj-b', projectNumber: '222222222222' }],
  ]);
  const deps: KmsDeps = {
    store: await openSqlKmsStore(db, clock),
    sealer: options.sealer ?? createSealer(randomBytes(32)),
    clock,
    logger,
    audit: { record: async (entry) => void audit.push(entry) },
    projects: { resolve: async (id) => projects.get(id) },
    authorizer,
  };
  return {
    deps,
    db,
    clock,
    logger,
    audit,
    grant,
  };
}

export interface KmsHarness {
  readonly t: IamTestContext;
  readonly app: Awaited<ReturnType<typeof buildRestApp>>;
  readonly port: number;
  readonly module: Awaited<ReturnType<typeof createKmsService>>;
  /** A user who owns `proj-a` (administers keys but, by design, cannot use them without a grant). */
  readonly owner: { accessToken: string; email: string };
  close(): Promise<void>;
}

export async function startKmsHarness(
  options: { listen?: boolean; extraRoutes?: ApiRoute[] } = {},
): Promise<KmsHarness> {
  const t = await createIamTestContext();
  const email = 'owner@example.com';
  const owner = await t.createUser(email);
  await t.createProject('proj-a', email);
  const module = await createKmsService(t.context);
  const app = await buildRestApp({
    routes: [...module.routes, ...(options.extraRoutes ?? [])],
    authenticator: t.context.authenticator,
    logger: t.logger,
    logRequests: 'errors',
  });
  let port = 0;
  if (options.listen !== false) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  }
  return {
    t,
    app,
    port,
    module,
    owner: { accessToken: owner.accessToken, email },
    async close() {
      await app.close();
      await module.stop?.();
      await t.close();
    },
  };
}
