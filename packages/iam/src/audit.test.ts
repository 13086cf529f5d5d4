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

test('an audit sink writes in the audit transaction: each record with its project number, both or neither', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  const { AUDIT_MIGRATIONS } = await import('./audit.ts');
  await db.migrate('logging', AUDIT_MIGRATIONS);
  await db.migrate('sink', ['CREATE TABLE sink_rows (method TEXT NOT NULL, project_number TEXT NOT NULL);']);
  let failWrite = false;
  const committed: string[][] = [];
  const log = createProjectLog({
    db,
    sealer: createSealer(randomBytes(32)),
    clock: systemClock,
    projects: { resolve: async (p) => (p === 'p1' ? { projectId: 'p1', projectNumber: '123456789012' } : undefined) },
    sink: {
      serializeOn: 'test-sink',
      prepare(record, projectNumber) {
        if (record.method === 'm.Bad') throw new Error('bad record');
        return record.method === 'm.Unlogged' ? undefined : [record.method, projectNumber];
      },
      async write(tx, items) {
        for (const item of items) await tx.run('INSERT INTO sink_rows VALUES (?, ?)', item as string[]);
        if (failWrite) throw new Error('sink down');
        return async () => {
          committed.push(...(items as string[][]));
        };
      },
    },
  });
  const record = { project: 'p1', method: 'm.Decrypt', resource: 'r', caller: undefined, outcome: 'ALLOWED' as const };
  const entries = async () => (await log.list('123456789012', { pageSize: 100 })).length;
  // Concurrent records share one batch, one transaction.
  await Promise.all([log.record(record), log.record({ ...record, method: 'm.Unlogged' }), log.record(record)]);
  await log.record({ ...record, project: 'unknown' });
  assert.deepEqual(
    (await db.all('SELECT method, project_number FROM sink_rows')).map((row) => ({ ...row })),
    [
      { method: 'm.Decrypt', project_number: '123456789012' },
      { method: 'm.Decrypt', project_number: '123456789012' },
    ],
  );
  assert.deepEqual(committed, [
    ['m.Decrypt', '123456789012'],
    ['m.Decrypt', '123456789012'],
  ]);
  assert.equal(await entries(), 3);
  // A record the sink cannot take fails its caller alone, before anything is written.
  await assert.rejects(log.record({ ...record, method: 'm.Bad' }), /bad record/);
  assert.equal(await entries(), 3);
  // A failing sink write rolls the audit entries back with it.
  failWrite = true;
  await assert.rejects(log.record(record), /sink down/);
  assert.equal(await entries(), 3);
  assert.equal((await db.all('SELECT * FROM sink_rows')).length, 2);
  assert.deepEqual(await log.verify('123456789012'), { ok: true, entries: 3 });
  await db.close();
});
