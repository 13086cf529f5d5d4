import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, it } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam/testing';
import { openDiskBlobStore } from './blob-store.ts';
import { createRegistry, UPLOAD_TTL_MS } from './service.ts';
import { openSqlRegistryStore } from './store.ts';

const root = mkdtempSync(join(tmpdir(), 'sealroom-registry-service-'));
after(() => rmSync(root, { recursive: true, force: true }));

it('sweeps uploads abandoned for longer than a day, files and rows', async () => {
  const clock = createFakeClock();
  const t = await createIamTestContext({ clock });
  const { caller } = await t.createUser('owner@example.com');
  await t.createProject('sweep-proj', 'owner@example.com');
  const registry = createRegistry({
    store: await openSqlRegistryStore(t.context.db),
    blobs: await openDiskBlobStore(root),
    authorizer: t.context.authorizer,
    audit: t.context.audit,
    projects: t.context.projects,
    clock,
  });
  await registry.createRepository(caller, { projectId: 'sweep-proj', location: 'us-central1' }, 'repo1', {});
  const old = await registry.startUpload(caller, 'sweep-proj/repo1/app');
  await registry.uploadChunk(caller, 'sweep-proj/repo1/app', old, Readable.from([Buffer.from('abandoned')]), undefined);
  clock.advance(UPLOAD_TTL_MS + 1);
  // The first access token expired with the day; sign in again.
  const later = (await t.createUser('owner@example.com')).caller;
  const fresh = await registry.startUpload(later, 'sweep-proj/repo1/app');
  assert.equal(await registry.sweepUploads(), 1);
  assert.deepEqual(readdirSync(join(root, 'uploads')), []);
  await assert.rejects(registry.uploadStatus(later, 'sweep-proj/repo1/app', old), {
    code: 'ERR_REGISTRY_UPLOAD_UNKNOWN',
  });
  assert.equal(await registry.uploadStatus(later, 'sweep-proj/repo1/app', fresh), 0);
  await t.close();
});
