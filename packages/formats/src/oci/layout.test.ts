import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { computeDigest } from '../digest.ts';
import { FormatsError } from '../errors.ts';
import { openOciLayout } from './layout.ts';
import { OCI_MANIFEST } from './media-types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-layout-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('OCI image layout', () => {
  it('creates oci-layout and an empty index, and refuses a folder that is not a layout', async () => {
    await openOciLayout(join(dir, 'new'), { create: true });
    assert.equal(readFileSync(join(dir, 'new', 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'new', 'index.json'), 'utf8')).manifests, []);
    await assert.rejects(openOciLayout(join(dir, 'absent')), FormatsError);
  });

  it('stores blobs under blobs/sha256/<hex> and refuses content that does not match the given digest', async () => {
    const layout = await openOciLayout(join(dir, 'blobs'), { create: true });
    const { digest } = await layout.putBlob(Buffer.from('hello'));
    assert.equal(digest, computeDigest(Buffer.from('hello')));
    assert.deepEqual(await layout.readBlob(digest), Buffer.from('hello'));
    const other = computeDigest(Buffer.from('other'));
    await assert.rejects(layout.putBlob(Buffer.from('hello'), other), /does not match/);
    assert.equal(await layout.hasBlob(other), false);
  });

  it('detects a blob altered on disk and refuses digests that are not sha256 hex', async () => {
    const layout = await openOciLayout(join(dir, 'tamper'), { create: true });
    const { digest } = await layout.putBlob(Buffer.from('original'));
    writeFileSync(layout.blobPath(digest), 'altered');
    await assert.rejects(layout.readBlob(digest), /does not match/);
    assert.throws(() => layout.blobPath('sha256:../../etc/passwd'), FormatsError);
  });

  it('names manifests by ref name; re-tagging moves the name', async () => {
    const layout = await openOciLayout(join(dir, 'tags'), { create: true });
    const one = await layout.putBlob(Buffer.from('{"m":1}'));
    const two = await layout.putBlob(Buffer.from('{"m":2}'));
    await layout.addManifest({ mediaType: OCI_MANIFEST, ...one }, 'v1');
    await layout.addManifest({ mediaType: OCI_MANIFEST, ...two }, 'v1');
    assert.equal((await layout.resolve('v1')).digest, two.digest);
    assert.equal((await layout.readIndex()).manifests.length, 1);
    await assert.rejects(layout.resolve('v2'), FormatsError);
  });
});
