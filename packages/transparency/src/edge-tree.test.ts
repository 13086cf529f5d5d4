// The bounded-memory tree gives the same roots and proofs, byte for byte, as the whole tree in memory, and
// refuses to serve proofs from stored leaves that no longer hash to it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_LEVEL, createEdgeTree } from './edge-tree.ts';
import { TransparencyError } from './errors.ts';
import { hashLeaf } from './merkle.ts';
import { createMemoryTree } from './tree.ts';

const LEAVES = 3000;
const leafHashes = Array.from({ length: LEAVES }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
const chunk = 2 ** CHUNK_LEVEL;
const sizes = [1, 2, 3, chunk - 1, chunk, chunk + 1, 2 * chunk, 1000, 2047, 2048, 2049, LEAVES - 1, LEAVES];

test('roots, inclusion and consistency proofs match the whole tree in memory at every size tried', async () => {
  let reads = 0;
  const edge = createEdgeTree(async (from, count) => {
    reads += 1;
    return leafHashes.slice(from, from + count);
  });
  const whole = createMemoryTree();
  for (const hash of leafHashes) {
    edge.append(hash);
    whole.append(hash);
  }
  assert.equal(edge.size, LEAVES);
  for (const size of sizes) {
    assert.deepEqual(await edge.root(size), whole.root(size), `root at ${size}`);
    for (const index of new Set([0, 1, size >> 1, size - 2, size - 1].filter((i) => i >= 0 && i < size))) {
      assert.deepEqual(
        await edge.inclusionProof(index, size),
        whole.inclusionProof(index, size),
        `${index} in ${size}`,
      );
    }
    for (const first of sizes.filter((f) => f <= size)) {
      assert.deepEqual(
        await edge.consistencyProof(first, size),
        whole.consistencyProof(first, size),
        `${first}→${size}`,
      );
    }
  }
  assert.ok(reads > 0, 'closed chunks were read from storage');
});

test('a proof over stored leaves that no longer hash to the tree is refused as corruption', async () => {
  const stored = [...leafHashes];
  const edge = createEdgeTree(async (from, count) => stored.slice(from, from + count));
  for (const hash of leafHashes) edge.append(hash);
  stored[5] = hashLeaf(Buffer.from('altered'));
  await assert.rejects(
    edge.inclusionProof(4, LEAVES),
    (e: unknown) => e instanceof TransparencyError && e.code === 'ERR_TRANSPARENCY_LOG_CORRUPT',
  );
  // Proofs that read only other chunks, or the open one in memory, are still served.
  assert.equal((await edge.inclusionProof(LEAVES - 1, LEAVES)).length > 0, true);
  stored.splice(chunk + 3, 1);
  await assert.rejects(
    edge.inclusionProof(chunk + 3, LEAVES),
    (e: unknown) => e instanceof TransparencyError && e.code === 'ERR_TRANSPARENCY_LOG_CORRUPT',
  );
});
