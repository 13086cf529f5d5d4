// Test helpers: a service over in-memory SQLite with a fake clock and a table-driven authorizer.
import type { AuditRecord, Authenticator, Authorizer, Caller, FakeClock } from '@sealroom/core';
import { CoreError, createFakeClock, createMemoryLogger, openSqliteDatabase, permissionDenied } from '@sealroom/core';
import { AccessControl } from './access.ts';
import { PubsubService } from './service.ts';
import { SqlPubsubStore } from './sql-store.ts';
import { Wakeup } from './wakeup.ts';

export function testCaller(email: string): Caller {
  return { kind: 'user', principal: `user:${email}`, credentialId: `cred-${email}`, expiresAt: Date.UTC(2100, 0, 1) };
}

/** Grants are `principal permission` strings; `principal *` grants everything. */
export function tableAuthorizer(grants: Set<string>): Authorizer {
  const isAllowed = async (caller: Caller | undefined, permission: string) =>
    caller !== undefined && (grants.has(`${caller.principal} ${permission}`) || grants.has(`${caller.principal} *`));
  return {
    isAllowed,
    authorize: async (caller, permission, resource) => {
      if (!(await isAllowed(caller, permission))) throw permissionDenied(permission, resource);
    },
  };
}

export interface TestPubsub {
  readonly service: PubsubService;
  readonly store: SqlPubsubStore;
  readonly clock: FakeClock;
  readonly grants: Set<string>;
  readonly audit: AuditRecord[];
  readonly admin: { caller: Caller };
}

export async function createTestPubsub(options: { path?: string; clock?: FakeClock } = {}): Promise<TestPubsub> {
  const db = openSqliteDatabase({ path: options.path ?? ':memory:' });
  const store = new SqlPubsubStore(db);
  await store.init();
  const clock = options.clock ?? createFakeClock();
  const grants = new Set(['user:admin@example.com *']);
  const audit: AuditRecord[] = [];
  const access = new AccessControl(tableAuthorizer(grants), { record: async (e) => void audit.push(e) }, clock);
  const service = new PubsubService({
    store,
    access,
    clock,
    logger: createMemoryLogger(),
    wakeup: new Wakeup(),
    pullWaitMs: 20,
  });
  return { service, store, clock, grants, audit, admin: { caller: testCaller('admin@example.com') } };
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

export function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** A clock that follows real time, for tests over real sockets (advance/set are no-ops). */
export function realClock(): FakeClock {
  return { now: () => Date.now(), set: () => {}, advance: () => {} };
}

/** Bearer tokens `tok-<name>` authenticate as user `<name>@example.com`. */
export const testAuthenticator: Authenticator = {
  authenticate: async (token) => {
    const match = /^tok-([a-z]+)$/.exec(token);
    if (!match) throw new CoreError('ERR_UNAUTHENTICATED', 'Invalid credentials.');
    return testCaller(`${match[1]}@example.com`);
  },
};
