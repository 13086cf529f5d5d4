// The sealed state file: opens only under the sealing key, and refuses alteration.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createSealedBlobStateStore, createSealedFileStateStore } from './sealed-state.ts';
import { createTally } from './tally.ts';
import { createFakeKms } from './test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'wordcount-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sealed file state', () => {
  it('restores the tally it saved, without plaintext words in the file', async () => {
    const kms = createFakeKms();
    const file = join(dir, 'a.json');
    const tally = createTally();
    tally.add('c1', 'm1', 'alice');
    await createSealedFileStateStore({ file, wrapper: kms.wrapperFor('k') }).save(tally.snapshot());
    assert.doesNotMatch(readFileSync(file, 'utf8'), /alice/);
    const restored = await createSealedFileStateStore({ file, wrapper: kms.wrapperFor('k') }).load();
    assert.deepEqual(createTally(restored).result(1).counts, { alice: 1 });
    assert.equal(createTally(restored).has('c1', 'm1'), true);
  });

  it('starts empty without a file', async () => {
    const kms = createFakeKms();
    assert.equal(
      await createSealedFileStateStore({ file: join(dir, 'none'), wrapper: kms.wrapperFor('k') }).load(),
      undefined,
    );
  });

  it('refuses an altered file and a file sealed under another key', async () => {
    const kms = createFakeKms();
    const file = join(dir, 'b.json');
    await createSealedFileStateStore({ file, wrapper: kms.wrapperFor('k') }).save(createTally().snapshot());
    await assert.rejects(createSealedFileStateStore({ file, wrapper: kms.wrapperFor('other') }).load(), {
      code: 'ERR_WORDCOUNT_STATE',
    });
    const sealed = JSON.parse(readFileSync(file, 'utf8')) as { c: string };
    const c = Buffer.from(sealed.c, 'base64');
    c[20] = (c[20] ?? 0) ^ 1;
    writeFileSync(file, JSON.stringify({ ...sealed, c: c.toString('base64') }));
    await assert.rejects(createSealedFileStateStore({ file, wrapper: kms.wrapperFor('k') }).load(), {
      code: 'ERR_WORDCOUNT_STATE',
    });
  });
});

describe('sealed blob state', () => {
  it('keeps only ciphertext in the blob store and restores from the latest blob with the same key', async () => {
    const kms = createFakeKms();
    const blobs: Buffer[] = [];
    const store = { read: async () => blobs.at(-1), write: async (b: Buffer) => void blobs.push(b) };
    const tally = createTally();
    tally.add('c1', 'm1', 'alice');
    await createSealedBlobStateStore({ blobs: store, wrapper: kms.wrapperFor('k') }).save(tally.snapshot());
    tally.add('c2', 'm2', 'alice');
    await createSealedBlobStateStore({ blobs: store, wrapper: kms.wrapperFor('k') }).save(tally.snapshot());
    assert.equal(blobs.length, 2);
    assert.ok(blobs.every((b) => !b.includes(Buffer.from('alice'))));
    const restored = await createSealedBlobStateStore({ blobs: store, wrapper: kms.wrapperFor('k') }).load();
    assert.deepEqual(createTally(restored).result(1).counts, { alice: 2 });
    await assert.rejects(createSealedBlobStateStore({ blobs: store, wrapper: kms.wrapperFor('x') }).load(), {
      code: 'ERR_WORDCOUNT_STATE',
    });
  });
});
