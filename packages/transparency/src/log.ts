// The deployment's transparency log: batched appends, the tree, periodic and on-demand signed checkpoints, proofs.
import { randomBytes } from 'node:crypto';
import type { Clock, Logger, Sealer, SqlExecutor } from '@sealroom/core';
import { formatCheckpoint } from './checkpoint.ts';
import { type Decision, toLeaf } from './entry.ts';
import { type EdgeTree, createEdgeTree } from './edge-tree.ts';
import { TransparencyError } from './errors.ts';
import { hashLeaf } from './merkle.ts';
import { type Ed25519NoteKey, checkKeyName, noteKeyFromSeed, parseNote, signNote } from './note.ts';
import { formatReceipt } from './receipt.ts';
import type { StoredCheckpoint, StoredLeaf, TransparencyStore } from './store.ts';

/** A checkpoint is signed this often while the tree grows, and at once when a receipt needs one. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/** Cosignatures kept per checkpoint (C2SP: verifiers must accept at least 16 signatures). */
export const MAX_COSIGNATURES = 15;
const LOAD_BATCH = 5000;

export interface TransparencyLogOptions {
  readonly store: TransparencyStore;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The origin (and log key name) a new log takes; an existing log keeps the one it was created with. */
  readonly origin: string;
  readonly checkpointIntervalMs?: number;
}

/** A decision's leaf, built and waiting for a transaction to append it. */
export interface PendingLeaf {
  readonly projectNumber: string;
  readonly kind: string;
  readonly time: number;
  readonly leaf: Buffer;
}

export interface LogCheckpoint extends StoredCheckpoint {
  /** The signed note with the witnesses' cosignature lines appended. */
  readonly cosignedNote: string;
}

export interface TransparencyLog {
  readonly origin: string;
  /** The log's note verifier key, `origin+keyid+base64(0x01 || key)`. */
  readonly verifierKey: string;
  /** Appends a decision; resolves with its index once it is durable. */
  append(decision: Decision): Promise<number>;
  /** Builds a decision's leaf now, so a malformed decision or a corrupt log fails its own caller, not a batch. */
  prepareAppend(decision: Decision): PendingLeaf;
  /**
   * Appends leaves inside the caller's transaction, which must serialize on `TRANSPARENCY_LOG_LOCK` (and may
   * hold other writes: the audit entries of the same decisions). The function it returns brings the tree up
   * to date; call it once the transaction committed, before answering anyone.
   */
  appendWithin(tx: SqlExecutor, leaves: readonly PendingLeaf[]): Promise<() => Promise<void>>;
  size(): number;
  latestCheckpoint(): Promise<LogCheckpoint | undefined>;
  /** The latest checkpoint if it holds `size` leaves or more, else a new one signed now. */
  checkpointCovering(size: number): Promise<LogCheckpoint>;
  checkpointAt(size: number): Promise<LogCheckpoint | undefined>;
  consistencyProof(first: number, second: number): Promise<Buffer[]>;
  leaf(index: number): Promise<StoredLeaf | undefined>;
  leavesOfProject: TransparencyStore['leavesOfProject'];
  /** A tlog-proof receipt of leaf `index` at a signed tree size (the smallest one holding it by default). */
  receipt(index: number, treeSize?: number): Promise<string>;
  /** Adds a witness's cosignature of a checkpoint this log signed, verified by the caller. */
  addCosignature(size: number, witness: string, keyId: number, line: string): Promise<void>;
  /** Re-hashes the stored leaves and compares the tree with the latest signed checkpoint. */
  checkStorage(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

function sealContext(origin: string): string {
  return `sealroom/transparency/log-key\0${origin}`;
}

async function loadOrCreateKey(options: TransparencyLogOptions): Promise<Ed25519NoteKey> {
  const { store, sealer } = options;
  let stored = await store.getKey();
  if (!stored) {
    checkKeyName(options.origin);
    const seed = randomBytes(32);
    const key = noteKeyFromSeed(options.origin, seed);
    stored = await store.putKey(
      {
        origin: options.origin,
        sealedSeed: sealer.seal(seed, sealContext(options.origin)),
        verifierKey: key.verifierKey,
      },
      options.clock.now(),
    );
    options.logger.info({ origin: stored.origin, verifierKey: stored.verifierKey }, 'transparency log key created');
  }
  const key = noteKeyFromSeed(stored.origin, sealer.open(stored.sealedSeed, sealContext(stored.origin)));
  if (key.verifierKey !== stored.verifierKey) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_LOG_CORRUPT',
      'The stored log key does not match its published verifier key.',
    );
  }
  return key;
}

export async function openTransparencyLog(options: TransparencyLogOptions): Promise<TransparencyLog> {
  const { store, clock, logger } = options;
  const key = await loadOrCreateKey(options);
  const intervalMs = options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
  /** Proofs rehash closed chunks from the stored leaves, read in index order. */
  const readLeafHashes = async (from: number, count: number) => {
    const leaves = await store.leavesFrom(from, count);
    return leaves.filter((l, i) => l.index === from + i).map((l) => hashLeaf(l.leaf));
  };
  const newTree = () => createEdgeTree(readLeafHashes);
  let tree: EdgeTree = newTree();
  /** Set when storage no longer matches a signed checkpoint: the log then signs and serves nothing. */
  let corrupt: TransparencyError | undefined;

  /** Hashes stored leaves from the tree's size on (another replica may have appended). */
  const catchUp = async (into: EdgeTree) => {
    for (;;) {
      const leaves = await store.leavesFrom(into.size, LOAD_BATCH);
      for (const l of leaves) {
        if (l.index !== into.size) {
          throw new TransparencyError(
            'ERR_TRANSPARENCY_LOG_CORRUPT',
            `The stored log has a gap at entry ${into.size}.`,
          );
        }
        into.append(hashLeaf(l.leaf));
      }
      if (leaves.length < LOAD_BATCH) return;
    }
  };

  const checkAgainstCheckpoint = async (candidate: EdgeTree) => {
    const latest = await store.latestCheckpoint();
    if (!latest) return;
    if (candidate.size < latest.size || !(await candidate.root(latest.size)).equals(latest.root)) {
      throw new TransparencyError(
        'ERR_TRANSPARENCY_LOG_CORRUPT',
        `The stored entries do not hash to the signed checkpoint of size ${latest.size}: entries were altered, removed or reordered.`,
      );
    }
  };

  const rebuild = async () => {
    const fresh = newTree();
    await catchUp(fresh);
    await checkAgainstCheckpoint(fresh);
    tree = fresh;
  };

  try {
    await rebuild();
  } catch (error) {
    if (!(error instanceof TransparencyError)) throw error;
    corrupt = error;
    logger.error({ code: error.code, reason: error.message }, 'TRANSPARENCY LOG CORRUPT: it signs and serves nothing');
  }

  const failIfCorrupt = () => {
    if (corrupt) throw corrupt;
  };

  /** Changes to the tree, one at a time: a catch-up racing an append would see a gap that is not there. */
  let treeWork: Promise<unknown> = Promise.resolve();
  const onTree = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const run = treeWork.then(fn);
    treeWork = run.catch(() => {});
    return run;
  };
  const syncTree = () => onTree(() => catchUp(tree));
  /** Adds committed leaves that start at `start`; another replica may have appended before them. */
  const applyAppended = (start: number, leaves: readonly PendingLeaf[]) =>
    onTree(async () => {
      if (start === tree.size) for (const item of leaves) tree.append(hashLeaf(item.leaf));
      else if (tree.size < start + leaves.length) await catchUp(tree);
    });

  // Appends are group-committed, as the audit log's are: one transaction per batch of concurrent callers.
  let pending: (PendingLeaf & { done: (index?: number, error?: unknown) => void })[] = [];
  let scheduled = false;
  let writing: Promise<void> = Promise.resolve();

  const flush = async () => {
    const batch = pending;
    pending = [];
    scheduled = false;
    try {
      failIfCorrupt();
      const start = await store.appendLeaves(batch);
      await applyAppended(start, batch);
      for (const [i, item] of batch.entries()) item.done(start + i);
    } catch (error) {
      for (const item of batch) item.done(undefined, error);
    }
  };

  const withCosignatures = async (c: StoredCheckpoint): Promise<LogCheckpoint> => {
    const lines = await store.cosignatures(c.size);
    return { ...c, cosignedNote: c.note + lines.join('') };
  };

  let signing: Promise<unknown> = Promise.resolve();
  /**
   * The last checkpoint this tree was seen to extend. The tree only grows and never changes below its size,
   * so it still does; a newer checkpoint (another replica's) is checked, which may read a stored chunk.
   */
  let extended: { size: number; root: Buffer } | undefined;
  const extendsCheckpoint = async (c: { size: number; root: Buffer }) =>
    (extended !== undefined && extended.size === c.size && extended.root.equals(c.root)) ||
    (await tree.root(c.size)).equals(c.root);
  /** Signs the current tree unless the latest checkpoint already has its size. */
  const signNow = (): Promise<StoredCheckpoint | undefined> => {
    const run = signing.then(async () => {
      failIfCorrupt();
      const latest = await store.latestCheckpoint();
      const size = tree.size;
      if (latest && latest.size >= size) return latest;
      if (latest && !(await extendsCheckpoint(latest))) {
        corrupt = new TransparencyError(
          'ERR_TRANSPARENCY_LOG_CORRUPT',
          `The tree no longer extends the signed checkpoint of size ${latest.size}.`,
        );
        logger.error({ code: corrupt.code }, 'TRANSPARENCY LOG CORRUPT: it signs and serves nothing');
        throw corrupt;
      }
      const root = await tree.root(size);
      const note = signNote(formatCheckpoint({ origin: key.name, size, root }), [key]);
      const checkpoint = { size, root, note, time: clock.now() };
      await store.putCheckpoint(checkpoint);
      extended = { size, root };
      return (await store.checkpointAt(size)) ?? checkpoint;
    });
    signing = run.catch(() => {});
    return run;
  };

  const checkpointCovering = async (size: number): Promise<LogCheckpoint> => {
    failIfCorrupt();
    await writing;
    if ((await store.size()) !== tree.size) await syncTree();
    const latest = await store.latestCheckpoint();
    if (latest && latest.size >= size) return withCosignatures(latest);
    const signed = await signNow();
    if (!signed || signed.size < size) {
      throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF_REQUEST', `The log has fewer than ${size} entries.`);
    }
    return withCosignatures(signed);
  };

  let timer: NodeJS.Timeout | undefined;

  const buildLeaf = (decision: Decision): PendingLeaf => {
    const time = clock.now();
    return { projectNumber: decision.project, kind: decision.kind, time, leaf: toLeaf(decision, time) };
  };
  /** A corrupt log fails the decision's own caller here, not the audit batch it would join. */
  const prepareAppend = (decision: Decision): PendingLeaf => {
    failIfCorrupt();
    return buildLeaf(decision);
  };

  return {
    origin: key.name,
    verifierKey: key.verifierKey,
    prepareAppend,
    async appendWithin(tx, leaves) {
      failIfCorrupt();
      const start = await store.appendLeavesIn(tx, leaves);
      return () => applyAppended(start, leaves);
    },
    append(decision) {
      // Built here, so a malformed decision fails its own caller and never the batch it would have joined.
      const prepared = buildLeaf(decision);
      return new Promise<number>((resolve, reject) => {
        pending.push({
          ...prepared,
          done: (index, error) => (index === undefined ? reject(error) : resolve(index)),
        });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            writing = writing.then(flush);
          });
        }
      });
    },
    size: () => tree.size,
    async latestCheckpoint() {
      failIfCorrupt();
      const latest = await store.latestCheckpoint();
      return latest ? withCosignatures(latest) : undefined;
    },
    checkpointCovering,
    async checkpointAt(size) {
      failIfCorrupt();
      const c = await store.checkpointAt(size);
      return c ? withCosignatures(c) : undefined;
    },
    async consistencyProof(first, second) {
      failIfCorrupt();
      if (second > tree.size) await syncTree();
      return tree.consistencyProof(first, second);
    },
    leaf: (index) => store.leaf(index),
    leavesOfProject: (projectNumber, options) => store.leavesOfProject(projectNumber, options),
    async receipt(index, treeSize) {
      failIfCorrupt();
      const leaf = await store.leaf(index);
      if (!leaf) throw new TransparencyError('ERR_TRANSPARENCY_BAD_PROOF_REQUEST', `The log has no entry ${index}.`);
      const checkpoint =
        treeSize === undefined
          ? ((await store.checkpointCovering(index)) ?? (await checkpointCovering(index + 1)))
          : await store.checkpointAt(treeSize);
      if (!checkpoint) {
        throw new TransparencyError(
          'ERR_TRANSPARENCY_CHECKPOINT_UNKNOWN',
          `The log signed no checkpoint of size ${treeSize}.`,
        );
      }
      if (index >= checkpoint.size) {
        throw new TransparencyError(
          'ERR_TRANSPARENCY_BAD_PROOF_REQUEST',
          `Entry ${index} is not in the checkpoint of size ${checkpoint.size}.`,
        );
      }
      if (checkpoint.size > tree.size) await syncTree();
      const { cosignedNote } = await withCosignatures(checkpoint);
      return formatReceipt({
        leaf: leaf.leaf,
        index,
        proof: await tree.inclusionProof(index, checkpoint.size),
        checkpointNote: cosignedNote,
      });
    },
    async addCosignature(size, witness, keyId, line) {
      failIfCorrupt();
      if (!(await store.checkpointAt(size))) {
        throw new TransparencyError(
          'ERR_TRANSPARENCY_CHECKPOINT_UNKNOWN',
          `The log signed no checkpoint of size ${size}.`,
        );
      }
      parseNote(`x\n\n${line}`);
      if (!(await store.addCosignature(size, witness, keyId, line, clock.now(), MAX_COSIGNATURES))) {
        throw new TransparencyError(
          'ERR_TRANSPARENCY_COSIGNATURE_LIMIT',
          `The checkpoint of size ${size} already carries ${MAX_COSIGNATURES} cosignatures.`,
        );
      }
    },
    async checkStorage() {
      const fresh = newTree();
      await catchUp(fresh);
      await checkAgainstCheckpoint(fresh);
    },
    start() {
      timer = setInterval(() => {
        if (corrupt) return;
        void store
          .latestCheckpoint()
          .then((latest) => (tree.size > (latest?.size ?? -1) ? signNow() : undefined))
          .catch((error: unknown) => logger.error({ error }, 'signing a checkpoint failed'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await writing;
      await treeWork;
      await signing;
    },
  };
}
