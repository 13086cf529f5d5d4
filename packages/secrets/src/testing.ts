// Test doubles for Secret Manager: a grant table authorizer, a memory audit log, two projects.
import { randomBytes } from 'node:crypto';
import {
  type AuditRecord,
  createFakeClock,
  createSealer,
  type FakeClock,
  openSqliteDatabase,
  type Sealer,
  type SqlDatabase,
} from '@sealroom/core';
import { createGrantTableAuthorizer } from '@sealroom/iam/testing';
import type { SecretsDeps } from './service.ts';
import { openSqlSecretsStore } from './store.ts';

export { userCaller } from '@sealroom/iam/testing';

export async function createSecretsTestBed(options: { db?: SqlDatabase; sealer?: Sealer } = {}) {
  const db = options.db ?? openSqliteDatabase({ path: ':memory:' });
  const clock: FakeClock = createFakeClock();
  const audit: AuditRecord[] = [];
  const { authorizer, grant } = createGrantTableAuthorizer();
  const project = { projectId: 'proj-a', projectNumber: '111111111111' };
  const deps: SecretsDeps = {
    store: await openSqlSecretsStore(db),
    sealer: options.sealer ?? createSealer(randomBytes(32)),
    clock,
    audit: { record: async (entry) => void audit.push(entry) },
    projects: { resolve: async (id) => (id === 'proj-a' || id === '111111111111' ? project : undefined) },
    authorizer,
  };
  return {
    deps,
    db,
    clock,
    audit,
    grant,
  };
}
