import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { TransparencyError } from './errors.ts';
import {
  EMPTY_ROOT,
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionProof,
  rootAt,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
import { createMemoryTree } from './tree.ts';

// The RFC 9162 §2.1 definitions, written as literally as the text gives them, to check the tree against.
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const k = (n: number) => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};
const mth = (d: Buffer[]): Buffer => {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.of(0), d[0] as Buffer);
  const s = k(d.length);
  return sha(Buffer.of(1), mth(d.slice(0, s)), mth(d.slice(s)));
};
const path = (m: number, d: Buffer[]): Buffer[] => {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
};
const subproof = (m: number, d: Buffer[], b: boolean): Buffer[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s
    ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))]
    : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
};
const proof = (m: number, d: Buffer[]) => (m === 0 || m === d.length ? [] : subproof(m, d, true));

const leaves = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
const treeOf = (data: Buffer[]) => {
  const tree = createMemoryTree();
  for (const leaf of data) tree.append(hashLeaf(leaf));
  return tree;
};

// @sigstore/verify's RFC 6962 inclusion verifier: an independent implementation from the npm registry.
const require = createRequire(import.meta.url);
const sigstoreMerkle = require('@sigstore/verify/dist/tlog/merkle.js') as {
  verifyMerkleInclusion(
    entry: { canonicalizedBody: Buffer; inclusionProof: { logIndex: string; hashes: Buffer[] } },
    checkpoint: { logSize: bigint; logHash: Buffer },
  ): void;
};

test('the empty tree, one leaf and two leaves hash as RFC 9162 §2.1.1 defines', () => {
  assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  assert.deepEqual(hashLeaf(a), sha(Buffer.of(0), a));
  assert.deepEqual(treeOf([a, b]).root(2), hashChildren(hashLeaf(a), hashLeaf(b)));
  assert.deepEqual(treeOf([]).root(0), EMPTY_ROOT);
});

test('roots, inclusion proofs and consistency proofs equal the RFC 9162 definitions for every size up to 70', () => {
  const data = leaves(70);
  const tree = treeOf(data);
  for (let n = 0; n <= data.length; n++) {
    const d = data.slice(0, n);
    assert.deepEqual(tree.root(n), mth(d), `root of ${n}`);
    for (let m = 0; m < n; m++) assert.deepEqual(tree.inclusionProof(m, n), path(m, d), `PATH(${m}, ${n})`);
    for (let m = 0; m <= n; m++) assert.deepEqual(tree.consistencyProof(m, n), proof(m, d), `PROOF(${m}, ${n})`);
  }
});

test('every inclusion proof verifies, and @sigstore/verify (an independent implementation) accepts it too', () => {
  const data = leaves(45);
  const tree = treeOf(data);
  for (let n = 1; n <= data.length; n++) {
    const root = tree.root(n);
    for (let m = 0; m < n; m++) {
      const p = tree.inclusionProof(m, n);
      verifyInclusion(m, n, hashLeaf(data[m] as Buffer), p, root);
      sigstoreMerkle.verifyMerkleInclusion(
        { canonicalizedBody: data[m] as Buffer, inclusionProof: { logIndex: String(m), hashes: p } },
        { logSize: BigInt(n), logHash: root },
      );
    }
  }
});

test('an altered leaf, a moved index, another tree size or a changed proof hash fails inclusion', () => {
  const data = leaves(13);
  const tree = treeOf(data);
  const root = tree.root(13);
  const p = tree.inclusionProof(5, 13);
  const fails = (fn: () => void, code: string) =>
    assert.throws(fn, (e: unknown) => e instanceof TransparencyError && e.code === code);
  fails(() => verifyInclusion(5, 13, hashLeaf(Buffer.from('leaf 5!')), p, root), 'ERR_TRANSPARENCY_INCLUSION_MISMATCH');
  fails(() => verifyInclusion(6, 13, hashLeaf(data[5] as Buffer), p, root), 'ERR_TRANSPARENCY_INCLUSION_MISMATCH');
  fails(
    () => verifyInclusion(5, 12, hashLeaf(data[5] as Buffer), p, tree.root(12)),
    'ERR_TRANSPARENCY_INCLUSION_MISMATCH',
  );
  const changed = p.map((h, i) => (i === 1 ? hashLeaf(h) : h));
  fails(
    () => verifyInclusion(5, 13, hashLeaf(data[5] as Buffer), changed, root),
    'ERR_TRANSPARENCY_INCLUSION_MISMATCH',
  );
  fails(() => verifyInclusion(5, 13, hashLeaf(data[5] as Buffer), p.slice(1), root), 'ERR_TRANSPARENCY_BAD_PROOF');
  fails(() => verifyInclusion(5, 13, hashLeaf(data[5] as Buffer), [...p, root], root), 'ERR_TRANSPARENCY_BAD_PROOF');
  fails(() => verifyInclusion(13, 13, hashLeaf(data[5] as Buffer), p, root), 'ERR_TRANSPARENCY_BAD_PROOF');
});

test('consistency proofs verify for every pair of sizes, and fail for a rewritten history', () => {
  const data = leaves(40);
  const tree = treeOf(data);
  const forked = treeOf(data.map((d, i) => (i === 17 ? Buffer.from('rewritten') : d)));
  for (let n = 1; n <= data.length; n++) {
    for (let m = 1; m <= n; m++) {
      verifyConsistency(m, n, tree.root(m), tree.root(n), tree.consistencyProof(m, n));
      if (m <= 17) continue;
      // The fork rewrote entry 17: no tree that held the original entry 17 is extended by the fork.
      assert.throws(
        () => verifyConsistency(m, n, tree.root(m), forked.root(n), forked.consistencyProof(m, n)),
        (e: unknown) => e instanceof TransparencyError && e.code === 'ERR_TRANSPARENCY_INCONSISTENT',
        `${m} → ${n}`,
      );
    }
  }
});

test('random trees: every proof verifies, and a flipped bit in any proof hash is caught (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 300 }), fc.nat(), fc.nat(), fc.nat(), (n, a, b, bit) => {
      const data = leaves(n);
      const tree = treeOf(data);
      const m = a % n;
      const first = 1 + (b % n);
      const incl = tree.inclusionProof(m, n);
      assert.deepEqual(rootFromInclusionProof(m, n, hashLeaf(data[m] as Buffer), incl), tree.root(n));
      const cons = tree.consistencyProof(first, n);
      verifyConsistency(first, n, tree.root(first), tree.root(n), cons);
      if (cons.length > 0) {
        const flipped = cons.map((h) => Buffer.from(h));
        const target = flipped[bit % flipped.length] as Buffer;
        target.writeUInt8((target.readUInt8(bit % 32) ^ 1) & 0xff, bit % 32);
        assert.throws(() => verifyConsistency(first, n, tree.root(first), tree.root(n), flipped));
      }
    }),
    { numRuns: 150 },
  );
});

test('proof requests outside the tree are refused with a precise code', () => {
  const tree = treeOf(leaves(4));
  const read = (level: number, index: number) => tree.node(level, index);
  assert.throws(() => inclusionProof(read, 4, 4), { code: 'ERR_TRANSPARENCY_BAD_PROOF_REQUEST' });
  assert.throws(() => consistencyProof(read, 5, 4), { code: 'ERR_TRANSPARENCY_BAD_PROOF_REQUEST' });
  assert.deepEqual(rootAt(read, 4), tree.root(4));
});
