import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createSealer, openSqliteDatabase, systemClock } from '@sealroom/core';
import { createProjectLog } from './audit.ts';

test('concurrent appends are group-committed and still form one unbroken chain per project', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  const { AUDIT_MIGRATIONS } = await import('./audit.ts');
  await db.migrate('logging', AUDIT_MIGRATIONS);
  const log = createProjectLog({
    db,
    sealer: createSealer(randomBytes(32)),
    clock: systemClock,
    projects: { resolve: async (p) => ({ projectId: p, projectNumber: p }) },
  });
  const entry = (n: number) => ({
    logId: 'workload',
    severity: 'INFO' as const,
    payload: { textPayload: `line ${n}` },
  });
  await Promise.all(
    Array.from({ length: 200 }, (_, n) => log.append(n % 2 === 0 ? '111111111111' : '222222222222', [entry(n)])),
  );
  assert.deepEqual(await log.verify('111111111111'), { ok: true, entries: 100 });
  assert.deepEqual(await log.verify('222222222222'), { ok: true, entries: 100 });
  const lines = (await log.list('111111111111', { pageSize: 1000 })).map(
    (e) => (e.body as { textPayload: string }).textPayload,
  );
  assert.equal(new Set(lines).size, 100);
  await db.close();
});

test('administrator actions go to the deployment log: its own chain, apart from every project, and verified', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  const { AUDIT_MIGRATIONS, DEPLOYMENT_LOG } = await import('./audit.ts');
  await db.migrate('logging', AUDIT_MIGRATIONS);
  const log = createProjectLog({
    db,
    sealer: createSealer(randomBytes(32)),
    clock: systemClock,
    projects: { resolve: async () => undefined },
  });
  const admin = { kind: 'user' as const, principal: 'user:admin@example.com', credentialId: 'c1', expiresAt: 1 };
  await log.recordDeployment({
    method: 'sealroom.admin.v1.Admin.DisableUser',
    resource: 'users/a@example.com',
    caller: admin,
    outcome: 'ALLOWED',
  });
  await log.recordDeployment({
    method: 'google.identity.oauth2.RevokeToken',
    resource: 'users/b@example.com',
    caller: undefined,
    outcome: 'ALLOWED',
  });
  // A project-scoped record for an unknown project goes nowhere; it never lands in the deployment log.
  await log.record({ project: '999', method: 'x.Y', resource: 'projects/999', caller: admin, outcome: 'ALLOWED' });
  const entries = await log.list(DEPLOYMENT_LOG, { pageSize: 10 });
  assert.deepEqual(
    entries.map((e) => [e.logName, (e.body.protoPayload as { methodName: string }).methodName]),
    [
      ['deployment/logs/cloudaudit.googleapis.com%2Factivity', 'sealroom.admin.v1.Admin.DisableUser'],
      ['deployment/logs/cloudaudit.googleapis.com%2Factivity', 'google.identity.oauth2.RevokeToken'],
    ],
  );
  assert.deepEqual(await log.verify(DEPLOYMENT_LOG), { ok: true, entries: 2 });
  await db.run("UPDATE log_entries SET payload = replace(payload, 'a@example.com', 'z@example.com') WHERE seq = 1");
  assert.equal((await log.verify(DEPLOYMENT_LOG)).ok, false);
  await db.close();
});

test('an audit sink receives each record with its resolved project number, and a failing sink fails the record', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  const { AUDIT_MIGRATIONS } = await import('./audit.ts');
  await db.migrate('logging', AUDIT_MIGRATIONS);
  const seen: [string, string][] = [];
  let fail = false;
  const log = createProjectLog({
    db,
    sealer: createSealer(randomBytes(32)),
    clock: systemClock,
    projects: { resolve: async (p) => (p === 'p1' ? { projectId: 'p1', projectNumber: '123456789012' } : undefined) },
    sink: {
      async accept(record, projectNumber) {
        if (fail) throw new Error('sink down');
        seen.push([record.method, projectNumber]);
      },
    },
  });
  const record = { project: 'p1', method: 'm.Decrypt', resource: 'r', caller: undefined, outcome: 'ALLOWED' as const };
  await log.record(record);
  await log.record({ ...record, project: 'unknown' });
  assert.deepEqual(seen, [['m.Decrypt', '123456789012']]);
  fail = true;
  await assert.rejects(log.record(record), /sink down/);
  await db.close();
});
