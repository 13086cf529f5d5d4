import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { isSealroomError, mountSmallFilesystem } from '@sealroom/core';
import { openDiskBlobStore } from './blob-store.ts';
import { computeDigest } from '@sealroom/formats';
import { RegistryError } from './errors.ts';

const root = mkdtempSync(join(tmpdir(), 'sealroom-blobs-'));
after(() => rmSync(root, { recursive: true, force: true }));
const chunks = (...parts: string[]) => parts.map((p) => Readable.from([Buffer.from(p)]));

describe('disk blob store', () => {
  it('commits a chunked upload under its digest, and an empty one', async () => {
    const store = await openDiskBlobStore(root);
    const id = randomUUID();
    for (const part of chunks('hello ', 'world')) await store.appendUpload(id, part, 1000);
    const digest = computeDigest(Buffer.from('hello world'));
    assert.equal(await store.commitUpload(id, digest), 11);
    assert.deepEqual(await store.readBytes(digest), Buffer.from('hello world'));
    const empty = randomUUID();
    assert.equal(await store.commitUpload(empty, computeDigest(Buffer.alloc(0))), 0);
  });

  it('still checks the digest when the upload was begun by another process (no running hash)', async () => {
    const id = randomUUID();
    await (await openDiskBlobStore(root)).appendUpload(id, Readable.from([Buffer.from('part one,')]), 1000);
    const restarted = await openDiskBlobStore(root);
    await restarted.appendUpload(id, Readable.from([Buffer.from(' part two')]), 1000);
    const digest = computeDigest(Buffer.from('part one, part two'));
    assert.equal(await restarted.commitUpload(id, digest), 18);
  });

  it('deletes an upload whose bytes do not match the digest, leaving no blob', async () => {
    const store = await openDiskBlobStore(root);
    const id = randomUUID();
    await store.appendUpload(id, Readable.from([Buffer.from('real')]), 1000);
    const claimed = computeDigest(Buffer.from('claimed'));
    await assert.rejects(
      store.commitUpload(id, claimed),
      (e: unknown) => e instanceof RegistryError && e.code === 'ERR_REGISTRY_DIGEST_MISMATCH',
    );
    assert.equal(await store.size(claimed), undefined);
    assert.ok(!existsSync(join(root, 'uploads', id)));
  });

  it('refuses uploads over the size limit and upload ids that are not UUIDs', async () => {
    const store = await openDiskBlobStore(root);
    await assert.rejects(store.appendUpload(randomUUID(), Readable.from([Buffer.alloc(20)]), 10), /size limit/);
    await assert.rejects(store.appendUpload('../../escape', Readable.from([Buffer.alloc(1)]), 10), RegistryError);
    assert.ok(readdirSync(root).every((name) => ['blobs', 'uploads'].includes(name)));
  });

  it('on a full disk a chunk fails as ERR_STORAGE_FULL and is cut off again, so the upload resumes where it was', async (t) => {
    const fs = mountSmallFilesystem(2 * 1024 * 1024);
    if (typeof fs === 'string') return t.skip(fs);
    try {
      const store = await openDiskBlobStore(fs.dir);
      const id = randomUUID();
      const first = Buffer.alloc(10_000, 1);
      await store.appendUpload(id, Readable.from([first]), 10_000_000);
      fs.fill();
      const full = (e: unknown) => isSealroomError(e) && e.code === 'ERR_STORAGE_FULL' && e.httpStatus === 503;
      const chunk = Buffer.alloc(256 * 1024, 2);
      await assert.rejects(store.appendUpload(id, Readable.from([chunk]), 10_000_000), full);
      assert.equal(await store.uploadSize(id), first.length, 'no half chunk left behind');
      const manifest = Buffer.alloc(64 * 1024, 3);
      await assert.rejects(store.putBytes(manifest, computeDigest(manifest)), full);
      assert.deepEqual(readdirSync(join(fs.dir, 'uploads')), [id], 'no temporary file left behind');
      fs.release();
      await store.appendUpload(id, Readable.from([chunk]), 10_000_000);
      const digest = computeDigest(Buffer.concat([first, chunk]));
      assert.equal(await store.commitUpload(id, digest), first.length + chunk.length);
      await store.putBytes(manifest, computeDigest(manifest));
      assert.deepEqual(await store.readBytes(computeDigest(manifest)), manifest);
    } finally {
      fs.unmount();
    }
  });
});
