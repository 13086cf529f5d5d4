// Test doubles for Secret Manager: a grant table authorizer, a memory audit log, two projects.
import { randomBytes } from 'node:crypto';
import {
  type AuditRecord,
  type Caller,
  createFakeClock,
  createSealer,
  type FakeClock,
  openSqliteDatabase,
  permissionDenied,
  type Sealer,
  type SqlDatabase,
} from '@sealroom/core';
import type { SecretsDeps } from './service.ts';
import { openSqlSecretsStore } from './store.ts';

export function userCaller(email: string): Caller {
  return { kind: 'user', principal: `user:${email}`, credentialId: `cred-${email}`, expiresAt: Date.UTC(2030, 0, 1) };
}

export async function createSecretsTestBed(options: { db?: SqlDatabase; sealer?: Sealer } = {}) {
  const db = options.db ?? openSqliteDatabase({ path: ':memory:' });
  const clock: FakeClock = createFakeClock();
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
  const project = { projectId: 'proj-a', projectNumber: '111111111111' };
  const deps: SecretsDeps = {
    store: await openSqlSecretsStore(db),
    sealer: options.sealer ?? createSealer(randomBytes(32)),
    clock,
    audit: { record: async (entry) => void audit.push(entry) },
    projects: { resolve: async (id) => (id === 'proj-a' || id === '111111111111' ? project : undefined) },
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
    audit,
    grant: (principal: string, permission: string, resource: string) =>
      void grants.push({ principal, permission, resource }),
  };
}
