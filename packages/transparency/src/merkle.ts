// RFC 9162 §2.1 Merkle tree hashing, and the generation and verification of inclusion and consistency proofs.
import { createHash, hash } from 'node:crypto';
import { TransparencyError } from './errors.ts';

export const HASH_BYTES = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** MTH({d(0)}) = SHA-256(0x00 || d(0)). One-shot: a hash object and its updates cost more than the copy. */
export function hashLeaf(leaf: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + leaf.byteLength);
  input[0] = LEAF_PREFIX;
  input.set(leaf, 1);
  return hash('sha256', input, 'buffer');
}

/** SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + left.byteLength + right.byteLength);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.byteLength);
  return hash('sha256', input, 'buffer');
}

/** The largest power of two smaller than n (n > 1), the `k` of RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Reads the hash of a perfect subtree: `level` 0 is leaf hashes, level l covers the 2^l leaves starting at
 * `index * 2^l`. Only subtrees entirely inside the tree are ever asked for.
 */
export type NodeReader = (level: number, index: number) => Buffer;

/** MTH(D[start:end]) for a range whose start is aligned as in every range RFC 9162's recursions produce. */
export function rangeHash(read: NodeReader, start: number, end: number): Buffer {
  const size = end - start;
  if (size <= 0) return EMPTY_ROOT;
  if (isPowerOfTwo(size) && start % size === 0) return read(Math.log2(size), start / size);
  const k = splitPoint(size);
  return hashChildren(rangeHash(read, start, start + k), rangeHash(read, start + k, end));
}

/** The root of the first `size` leaves. */
export function rootAt(read: NodeReader, size: number): Buffer {
  return rangeHash(read, 0, size);
}

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1, from the leaf's sibling up to the root's child. */
export function inclusionProof(read: NodeReader, index: number, size: number): Buffer[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF_REQUEST', `Leaf ${index} is not in a tree of ${size}.`);
  }
  const path: Buffer[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(rangeHash(read, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(rangeHash(read, start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** PROOF(m, D[n]) of RFC 9162 §2.1.4.1; empty when m is 0 or m == n. */
export function consistencyProof(read: NodeReader, first: number, second: number): Buffer[] {
  if (!Number.isSafeInteger(first) || first < 0 || first > second) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_BAD_PROOF_REQUEST',
      `No consistency proof from size ${first} to size ${second}.`,
    );
  }
  if (first === 0 || first === second) return [];
  const proof: Buffer[] = [];
  const subproof = (m: number, start: number, end: number, whole: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!whole) proof.push(rangeHash(read, start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, start, start + k, whole);
      proof.push(rangeHash(read, start + k, end));
    } else {
      subproof(m - k, start + k, end, false);
      proof.push(rangeHash(read, start, start + k));
    }
  };
  subproof(first, 0, second, true);
  return proof;
}

const isOdd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

function checkHashes(hashes: readonly Uint8Array[]): void {
  if (hashes.some((h) => h.byteLength !== HASH_BYTES)) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF', 'A proof hash is not 32 bytes.');
  }
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–5, without the final comparison);
 * throws ERR_TRANSPARENCY_BAD_PROOF when the proof has the wrong shape for the index and size.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer {
  checkHashes(proof);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF', `Leaf index ${index} is outside a tree of ${size}.`);
  }
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF', 'The inclusion proof is too long.');
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF', 'The inclusion proof is too short.');
  return r;
}

/** Throws ERR_TRANSPARENCY_INCLUSION_MISMATCH unless the proof leads from the leaf hash to `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  if (!rootFromInclusionProof(index, size, leafHash, proof).equals(root)) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_INCLUSION_MISMATCH',
      `Entry ${index} is not included in the tree of size ${size}: the proof leads to another root.`,
    );
  }
}

/**
 * RFC 9162 §2.1.4.2: throws ERR_TRANSPARENCY_INCONSISTENT unless the tree of size `second` with root
 * `secondRoot` extends the tree of size `first` with root `firstRoot`.
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  checkHashes(proof);
  const inconsistent = (why: string) =>
    new TransparencyError(
      'ERR_TRANSPARENCY_INCONSISTENT',
      `The tree of size ${second} does not extend the tree of size ${first}: ${why}.`,
    );
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF', `No consistency from size ${first} to ${second}.`);
  }
  if (first === 0) {
    if (proof.length > 0) throw inconsistent('a proof from the empty tree must be empty');
    return;
  }
  if (first === second) {
    if (proof.length > 0) throw inconsistent('a proof between equal sizes must be empty');
    if (!Buffer.from(firstRoot).equals(Buffer.from(secondRoot))) throw inconsistent('same size, different roots');
    return;
  }
  if (proof.length === 0) throw inconsistent('the proof is empty');
  // Step 2: a power-of-two first tree is a perfect subtree of the second, and its root starts the path.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = Buffer.from(path[0] as Uint8Array);
  for (const c of path.slice(1)) {
    if (sn === 0) throw inconsistent('the proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw inconsistent('the proof is too short');
  if (!fr.equals(Buffer.from(firstRoot))) throw inconsistent('the proof does not lead to the older root');
  if (!sr.equals(Buffer.from(secondRoot))) throw inconsistent('the proof does not lead to the newer root');
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
