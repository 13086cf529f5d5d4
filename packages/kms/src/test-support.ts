// Test doubles for the KMS domain: a grant table authorizer, a memory audit log, fixed projects.
import { randomBytes } from 'node:crypto';
import {
  type AuditRecord,
  type Caller,
  createFakeClock,
  createMemoryLogger,
  createSealer,
  type FakeClock,
  type MemoryLogger,
  openSqliteDatabase,
  permissionDenied,
  type Sealer,
  type SqlDatabase,
} from '@sealroom/core';
import type { KmsDeps } from './context.ts';
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

export function userCaller(email: string): Caller {
  return { kind: 'user', principal: `user:${email}`, credentialId: `cred-${email}`, expiresAt: Date.UTC(2030, 0, 1) };
}

export async function createKmsTestBed(
  options: { db?: SqlDatabase; sealer?: Sealer; clock?: FakeClock } = {},
): Promise<KmsTestBed> {
  const db = options.db ?? openSqliteDatabase({ path: ':memory:' });
  const clock = options.clock ?? createFakeClock();
  const logger = createMemoryLogger();
  const audit: AuditRecord[] = [];
  const grants: { principal: string; permission: string; resource: string }[] = [];
  const isAllowed = async (caller: Caller | undefined, permission: string, resource: string) =>
    caller !== undefined &&
    grants.some(
      (g) =>
        g.principal === caller.principal &&
        g.permission === permission &&
        (resource === g.resource || resource.startsWith(`${g.resource}/`)),
    );
  const projects = new Map([
    ['proj-a', { projectId: 'proj-a', projectNumber: '111111111111' }],
    ['111111111111', { projectId: 'proj-a', projectNumber: '111111111111' }],
    ['proj-b', { projectId: 'proj-b', projectNumber: '222222222222' }],
  ]);
  const deps: KmsDeps = {
    store: await openSqlKmsStore(db),
    sealer: options.sealer ?? createSealer(randomBytes(32)),
    clock,
    logger,
    audit: { record: async (entry) => void audit.push(entry) },
    projects: { resolve: async (id) => projects.get(id) },
    authorizer: {
      isAllowed,
      authorize: async (caller, permission, resource) => {
        if (!(await isAllowed(caller, permission, resource))) throw permissionDenied(permission, resource);
      },
    },
  };
  return {
    deps,
    db,
    clock,
    logger,
    audit,
    grant: (principal, permission, resource) => void grants.push({ principal, permission, resource }),
  };
}
