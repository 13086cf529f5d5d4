// A whole tree in memory, every perfect subtree hash level by level (the reference the log's edge-tree.ts is tested against).
import { TransparencyError } from './errors.ts';
import { HASH_BYTES, consistencyProof, hashChildren, inclusionProof, rootAt } from './merkle.ts';

/** A perfect subtree created by an append: level ≥ 1, covering leaves [index·2^level, (index+1)·2^level). */
export interface TreeNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Buffer;
}

export interface HashTree {
  readonly size: number;
  /** Adds a leaf hash; returns the perfect subtrees it completed (what storage keeps besides the leaf). */
  append(leafHash: Buffer): TreeNode[];
  /** Restores a stored node without recomputing it (loading). */
  put(level: number, index: number, hash: Buffer): void;
  node(level: number, index: number): Buffer;
  root(size?: number): Buffer;
  inclusionProof(index: number, size: number): Buffer[];
  consistencyProof(first: number, second: number): Buffer[];
}

const INITIAL_SLOTS = 1024;

/** One level's hashes in one growable buffer (32 bytes a slot), so a large tree costs 2·32 bytes a leaf. */
class Level {
  #bytes = Buffer.alloc(INITIAL_SLOTS * HASH_BYTES);
  count = 0;

  set(index: number, hash: Buffer): void {
    if (index > this.count)
      throw new TransparencyError(
        'ERR_TRANSPARENCY_TREE',
        `tree level written out of order (${index} after ${this.count})`,
      );
    if ((index + 1) * HASH_BYTES > this.#bytes.length) {
      const grown = Buffer.alloc(Math.max(this.#bytes.length * 2, (index + 1) * HASH_BYTES));
      this.#bytes.copy(grown);
      this.#bytes = grown;
    }
    hash.copy(this.#bytes, index * HASH_BYTES);
    if (index === this.count) this.count += 1;
  }

  get(index: number): Buffer {
    if (index >= this.count)
      throw new TransparencyError('ERR_TRANSPARENCY_TREE', `tree node ${index} is not stored at this level`);
    return this.#bytes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }
}

export function createMemoryTree(): HashTree {
  const levels: Level[] = [];
  const level = (l: number) => {
    while (levels.length <= l) levels.push(new Level());
    return levels[l] as Level;
  };
  const node = (l: number, index: number) => level(l).get(index);
  const size = () => levels[0]?.count ?? 0;
  const checkSize = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0 || n > size()) {
      throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF_REQUEST', `The log has ${size()} entries, not ${n}.`);
    }
  };
  return {
    get size() {
      return size();
    },
    append(leafHash) {
      const created: TreeNode[] = [];
      let index = size();
      level(0).set(index, leafHash);
      let hash = leafHash;
      for (let l = 1; index % 2 === 1; l++) {
        hash = hashChildren(node(l - 1, index - 1), hash);
        index = (index - 1) / 2;
        level(l).set(index, hash);
        created.push({ level: l, index, hash });
      }
      return created;
    },
    put(l, index, hash) {
      level(l).set(index, hash);
    },
    node,
    root(n = size()) {
      checkSize(n);
      return rootAt(node, n);
    },
    inclusionProof(index, n) {
      checkSize(n);
      return inclusionProof(node, index, n);
    },
    consistencyProof(first, second) {
      checkSize(second);
      return consistencyProof(node, first, second);
    },
  };
}
