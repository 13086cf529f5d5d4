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
