// The log's tree with bounded memory: the hashes above 256-leaf chunks and the open chunk's leaf hashes stay
// in memory; a proof's nodes inside a closed chunk are rehashed from that chunk's stored leaves.
import { TransparencyError } from './errors.ts';
import { HASH_BYTES, type NodeReader, consistencyProof, hashChildren, inclusionProof, rootAt } from './merkle.ts';

/** Chunks of 2^CHUNK_LEVEL leaves: memory holds ~2 hashes per chunk (1/4 byte a leaf), a proof reads one or two. */
export const CHUNK_LEVEL = 8;
const CHUNK_LEAVES = 2 ** CHUNK_LEVEL;
const INITIAL_SLOTS = 64;

/** Reads the stored leaf hashes `[from, from + count)`, in order; fewer when the log is shorter. */
export type LeafHashReader = (from: number, count: number) => Promise<Buffer[]>;

export interface EdgeTree {
  readonly size: number;
  append(leafHash: Buffer): void;
  root(size?: number): Promise<Buffer>;
  inclusionProof(index: number, size: number): Promise<Buffer[]>;
  consistencyProof(first: number, second: number): Promise<Buffer[]>;
}

/** One level's hashes in one growable buffer (32 bytes a slot). */
class Level {
  #bytes = Buffer.alloc(INITIAL_SLOTS * HASH_BYTES);
  count = 0;

  push(hash: Buffer): void {
    if ((this.count + 1) * HASH_BYTES > this.#bytes.length) {
      const grown = Buffer.alloc(this.#bytes.length * 2);
      this.#bytes.copy(grown);
      this.#bytes = grown;
    }
    hash.copy(this.#bytes, this.count * HASH_BYTES);
    this.count += 1;
  }

  get(index: number): Buffer {
    if (index >= this.count)
      throw new TransparencyError('ERR_TRANSPARENCY_TREE', `tree node ${index} is not stored at this level`);
    return this.#bytes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }
}

/** Every perfect subtree hash of one chunk's leaves, level by level (level 0: the leaf hashes). */
function hashChunk(leafHashes: readonly Buffer[]): Buffer[][] {
  const levels: Buffer[][] = [[...leafHashes]];
  for (let l = 1; l <= CHUNK_LEVEL; l++) {
    const below = levels[l - 1] as Buffer[];
    const here: Buffer[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) here.push(hashChildren(below[i] as Buffer, below[i + 1] as Buffer));
    levels.push(here);
  }
  return levels;
}

const DUMMY = Buffer.alloc(HASH_BYTES);

export function createEdgeTree(readLeafHashes: LeafHashReader): EdgeTree {
  /** Levels CHUNK_LEVEL and up: upper[0] holds the closed chunks' roots. */
  const upper: Level[] = [];
  /** The open chunk's leaf hashes (fewer than CHUNK_LEAVES), copied in: a digest may pin a pooled slab. */
  const open = Buffer.alloc(CHUNK_LEAVES * HASH_BYTES);
  let openCount = 0;
  const openLeaves = (bytes: Buffer, count: number) =>
    Array.from({ length: count }, (_, i) => bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
  let size = 0;

  const upperLevel = (l: number) => {
    while (upper.length <= l - CHUNK_LEVEL) upper.push(new Level());
    return upper[l - CHUNK_LEVEL] as Level;
  };
  const closeChunk = (root: Buffer) => {
    let index = upperLevel(CHUNK_LEVEL).count;
    upperLevel(CHUNK_LEVEL).push(root);
    let hash = root;
    for (let l = CHUNK_LEVEL + 1; index % 2 === 1; l++) {
      hash = hashChildren(upperLevel(l - 1).get(index - 1), hash);
      index = (index - 1) / 2;
      upperLevel(l).push(hash);
    }
  };

  const checkSize = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0 || n > size) {
      throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF_REQUEST', `The log has ${size} entries, not ${n}.`);
    }
  };

  /** A closed chunk rehashed from storage; its root must be the one computed when it was appended. */
  const loadChunk = async (chunk: number): Promise<Buffer[][]> => {
    const hashes = await readLeafHashes(chunk * CHUNK_LEAVES, CHUNK_LEAVES);
    const levels = hashChunk(hashes);
    const root = levels[CHUNK_LEVEL]?.[0];
    if (hashes.length !== CHUNK_LEAVES || !root?.equals(upperLevel(CHUNK_LEVEL).get(chunk))) {
      throw new TransparencyError(
        'ERR_TRANSPARENCY_LOG_CORRUPT',
        `The stored entries ${chunk * CHUNK_LEAVES} to ${(chunk + 1) * CHUNK_LEAVES - 1} no longer hash to the tree: entries were altered, removed or reordered.`,
      );
    }
    return levels;
  };

  /**
   * Runs a proof computation twice: first to learn which closed chunks it reads below CHUNK_LEVEL (the
   * algorithms' paths depend on sizes and indexes only, never on hash values), then over those chunks.
   */
  const withNodes = async <T>(compute: (read: NodeReader) => T): Promise<T> => {
    // Appends may land while chunks load: the open chunk is taken as it is now (closed chunks never change).
    const openChunk = Math.floor(size / CHUNK_LEAVES);
    const openNow = Buffer.from(open.subarray(0, openCount * HASH_BYTES));
    const wanted = new Set<number>();
    compute((l, index) => {
      if (l < CHUNK_LEVEL) {
        const chunk = Math.floor((index * 2 ** l) / CHUNK_LEAVES);
        if (chunk !== openChunk) wanted.add(chunk);
      }
      return DUMMY;
    });
    const chunks = new Map<number, Buffer[][]>();
    for (const chunk of wanted) chunks.set(chunk, await loadChunk(chunk));
    let openLevels: Buffer[][] | undefined;
    return compute((l, index) => {
      if (l >= CHUNK_LEVEL) return upperLevel(l).get(index);
      const first = index * 2 ** l;
      const chunk = Math.floor(first / CHUNK_LEAVES);
      const levels =
        chunk === openChunk
          ? (openLevels ??= hashChunk(openLeaves(openNow, openNow.length / HASH_BYTES)))
          : chunks.get(chunk);
      const hash = levels?.[l]?.[index - chunk * 2 ** (CHUNK_LEVEL - l)];
      if (!hash) throw new TransparencyError('ERR_TRANSPARENCY_TREE', `tree node ${l}/${index} is not available`);
      return hash;
    });
  };

  return {
    get size() {
      return size;
    },
    append(leafHash) {
      leafHash.copy(open, openCount * HASH_BYTES);
      openCount += 1;
      size += 1;
      if (openCount === CHUNK_LEAVES) {
        closeChunk(Buffer.from(hashChunk(openLeaves(open, openCount))[CHUNK_LEVEL]?.[0] as Buffer));
        openCount = 0;
      }
    },
    async root(n = size) {
      checkSize(n);
      return withNodes((read) => rootAt(read, n));
    },
    async inclusionProof(index, n) {
      checkSize(n);
      return withNodes((read) => inclusionProof(read, index, n));
    },
    async consistencyProof(first, second) {
      checkSize(second);
      return withNodes((read) => consistencyProof(read, first, second));
    },
  };
}
