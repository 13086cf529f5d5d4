// `sealroom serve --database-url`: every service's migrations and stores on PostgreSQL, two replicas on one
// database under one root key, and a replica under another root key refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { createTestPostgres } from '@sealroom/postgres/testing';
import { resolveServerConfig } from './config.ts';
import { startServer } from './server.ts';

const skip = process.env.SEALROOM_TEST_POSTGRES === '0' ? 'SEALROOM_TEST_POSTGRES=0: no PostgreSQL' : false;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('every service starts on PostgreSQL, replicas share it, and another root key is refused', { skip }, async () => {
  const database = await createTestPostgres();
  try {
    const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-server-pg-'));
    dirs.push(stateDir);
    const config = (overrides: Record<string, unknown> = {}) =>
      resolveServerConfig({ port: 0, grpcPort: -1, stateDir, dev: true, databaseUrl: database.url, ...overrides }, {});
    const first = await startServer(config(), { logger: createMemoryLogger() });
    try {
      const ready = (await (await fetch(`${first.url}/readyz`)).json()) as { status: string; services: string[] };
      assert.equal(ready.status, 'ready');
      for (const service of ['iam', 'kms', 'secrets', 'pubsub', 'registry', 'verifier', 'compute']) {
        assert.ok(ready.services.includes(service), `${service} serves on PostgreSQL`);
      }
      const second = await startServer(config(), { logger: createMemoryLogger() });
      try {
        // A user created through one replica signs in through the other: the state is the database's.
        const issued = await first.iam.deps.credentials.issueRefreshToken('admin@sealroom.internal');
        const res = await fetch(`${second.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: issued }).toString(),
        });
        assert.equal(res.status, 200);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
    const otherDir = mkdtempSync(join(tmpdir(), 'sealroom-server-pg-'));
    dirs.push(otherDir);
    mkdirSync(join(otherDir, 'keys'), { mode: 0o700 });
    writeFileSync(join(otherDir, 'keys', 'root.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
    await assert.rejects(
      startServer(config({ stateDir: otherDir }), { logger: createMemoryLogger() }),
      (error: { code?: string; message?: string }) =>
        error.code === 'ERR_WRONG_ROOT_KEY' && /this database was sealed/.test(error.message ?? ''),
    );
  } finally {
    await database.drop();
  }
});
