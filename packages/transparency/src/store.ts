// Where the log lives: leaves, signed checkpoints, cosignatures and the sealed log key (the tree is rebuilt from leaves).
import type { SqlDatabase, SqlExecutor, SqlStatement } from '@sealroom/core';

export const TRANSPARENCY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE tlog_key (
     key_slot INTEGER PRIMARY KEY,
     origin TEXT NOT NULL,
     sealed_seed BLOB NOT NULL,
     verifier_key TEXT NOT NULL,
     create_time INTEGER NOT NULL
   );
   CREATE TABLE tlog_leaves (
     leaf_index INTEGER PRIMARY KEY,
     project_number TEXT NOT NULL,
     kind TEXT NOT NULL,
     log_time INTEGER NOT NULL,
     leaf BLOB NOT NULL
   );
   CREATE INDEX tlog_leaves_by_project ON tlog_leaves (project_number, leaf_index);
   CREATE TABLE tlog_checkpoints (
     tree_size INTEGER PRIMARY KEY,
     root BLOB NOT NULL,
     note TEXT NOT NULL,
     sign_time INTEGER NOT NULL
   );
   CREATE TABLE tlog_cosignatures (
     tree_size INTEGER NOT NULL,
     witness TEXT NOT NULL,
     key_id INTEGER NOT NULL,
     line TEXT NOT NULL,
     add_time INTEGER NOT NULL,
     PRIMARY KEY (tree_size, witness, key_id)
   );`,
];

export interface StoredLeaf {
  readonly index: number;
  readonly projectNumber: string;
  readonly kind: string;
  readonly time: number;
  readonly leaf: Buffer;
}

export interface StoredCheckpoint {
  readonly size: number;
  readonly root: Buffer;
  /** The log-signed note, without cosignatures. */
  readonly note: string;
  readonly time: number;
}

export interface StoredKey {
  readonly origin: string;
  readonly sealedSeed: Buffer;
  readonly verifierKey: string;
}

export interface TransparencyStore {
  getKey(): Promise<StoredKey | undefined>;
  /** Inserts the log key unless one exists; returns the one that is stored. */
  putKey(key: StoredKey, time: number): Promise<StoredKey>;
  /**
   * Appends leaves in one transaction at the end of the stored log (another replica may have appended
   * since this one last looked); returns the index the first of them got.
   */
  appendLeaves(leaves: readonly Omit<StoredLeaf, 'index'>[]): Promise<number>;
  /** `appendLeaves` inside a transaction of the caller's, which must serialize on `TRANSPARENCY_LOG_LOCK`. */
  appendLeavesIn(tx: SqlExecutor, leaves: readonly Omit<StoredLeaf, 'index'>[]): Promise<number>;
  size(): Promise<number>;
  /** Leaves from `from` on, in index order. */
  leavesFrom(from: number, limit: number): Promise<StoredLeaf[]>;
  leaf(index: number): Promise<StoredLeaf | undefined>;
  leavesOfProject(
    projectNumber: string,
    options: { afterIndex?: number; pageSize: number; kind?: string },
  ): Promise<StoredLeaf[]>;
  putCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  checkpointAt(size: number): Promise<StoredCheckpoint | undefined>;
  /** The smallest signed checkpoint whose tree holds leaf `index`. */
  checkpointCovering(index: number): Promise<StoredCheckpoint | undefined>;
  cosignatures(size: number): Promise<string[]>;
  /** Adds a witness's cosignature line; false when the checkpoint already holds `limit` others. */
  addCosignature(
    size: number,
    witness: string,
    keyId: number,
    line: string,
    time: number,
    limit: number,
  ): Promise<boolean>;
}

/** The lock every append takes (`TransactionOptions.serializeOn`): replicas append to one log, one at a time. */
export const TRANSPARENCY_LOG_LOCK = 'sealroom-transparency-log';

type Row = Record<string, string | number | bigint | null | Uint8Array>;
/** 5 parameters a row: well under SQLite's and PostgreSQL's limits on one statement's parameters. */
const INSERT_ROWS_PER_STATEMENT = 200;

const toLeaf = (row: Row): StoredLeaf => ({
  index: Number(row.leaf_index),
  projectNumber: String(row.project_number),
  kind: String(row.kind),
  time: Number(row.log_time),
  leaf: Buffer.from(row.leaf as Uint8Array),
});
const toCheckpoint = (row: Row): StoredCheckpoint => ({
  size: Number(row.tree_size),
  root: Buffer.from(row.root as Uint8Array),
  note: String(row.note),
  time: Number(row.sign_time),
});

export async function openSqlTransparencyStore(db: SqlDatabase): Promise<TransparencyStore> {
  await db.migrate('transparency', TRANSPARENCY_MIGRATIONS);
  const getKey = async (): Promise<StoredKey | undefined> => {
    const row = await db.get('SELECT origin, sealed_seed, verifier_key FROM tlog_key WHERE key_slot = 1');
    return row
      ? {
          origin: String(row.origin),
          sealedSeed: Buffer.from(row.sealed_seed as Uint8Array),
          verifierKey: String(row.verifier_key),
        }
      : undefined;
  };
  // MAX over the primary key is a lookup, where COUNT(*) would scan the table.
  const sizeIn = async (tx: SqlExecutor) => {
    const max = (await tx.get('SELECT MAX(leaf_index) AS m FROM tlog_leaves'))?.m;
    return max === null || max === undefined ? 0 : Number(max) + 1;
  };
  const appendLeavesIn = async (tx: SqlExecutor, leaves: readonly Omit<StoredLeaf, 'index'>[]) => {
    const start = await sizeIn(tx);
    // Many rows per statement, sent with the commit: on a networked database each round trip is time the
    // log's lock is held.
    const writes: SqlStatement[] = [];
    for (let i = 0; i < leaves.length; i += INSERT_ROWS_PER_STATEMENT) {
      const chunk = leaves.slice(i, i + INSERT_ROWS_PER_STATEMENT);
      writes.push({
        sql: `INSERT INTO tlog_leaves (leaf_index, project_number, kind, log_time, leaf) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        params: chunk.flatMap((l, j) => [start + i + j, l.projectNumber, l.kind, l.time, l.leaf]),
      });
    }
    await tx.runBatch(writes);
    return start;
  };
  return {
    getKey,
    async putKey(key, time) {
      await db.run(
        'INSERT INTO tlog_key (key_slot, origin, sealed_seed, verifier_key, create_time) VALUES (1, ?, ?, ?, ?) ON CONFLICT (key_slot) DO NOTHING',
        [key.origin, key.sealedSeed, key.verifierKey, time],
      );
      return (await getKey()) ?? key;
    },
    appendLeaves(leaves) {
      // Replicas append to one log: one append at a time, each after the last one's leaves.
      return db.transaction((tx) => appendLeavesIn(tx, leaves), { serializeOn: TRANSPARENCY_LOG_LOCK });
    },
    appendLeavesIn,
    size: () => sizeIn(db),
    async leavesFrom(from, limit) {
      const rows = await db.all('SELECT * FROM tlog_leaves WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?', [
        from,
        limit,
      ]);
      return rows.map(toLeaf);
    },
    async leaf(index) {
      const row = await db.get('SELECT * FROM tlog_leaves WHERE leaf_index = ?', [index]);
      return row ? toLeaf(row) : undefined;
    },
    async leavesOfProject(projectNumber, options) {
      const clauses = ['project_number = ?', 'leaf_index > ?'];
      const params: (string | number)[] = [projectNumber, options.afterIndex ?? -1];
      if (options.kind) {
        clauses.push('kind = ?');
        params.push(options.kind);
      }
      const rows = await db.all(
        `SELECT * FROM tlog_leaves WHERE ${clauses.join(' AND ')} ORDER BY leaf_index LIMIT ?`,
        [...params, options.pageSize],
      );
      return rows.map(toLeaf);
    },
    async putCheckpoint(c) {
      // Two replicas signing the same tree produce the same note (Ed25519 is deterministic): keep the first.
      await db.run(
        'INSERT INTO tlog_checkpoints (tree_size, root, note, sign_time) VALUES (?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING',
        [c.size, c.root, c.note, c.time],
      );
    },
    async latestCheckpoint() {
      const row = await db.get('SELECT * FROM tlog_checkpoints ORDER BY tree_size DESC LIMIT 1');
      return row ? toCheckpoint(row) : undefined;
    },
    async checkpointAt(size) {
      const row = await db.get('SELECT * FROM tlog_checkpoints WHERE tree_size = ?', [size]);
      return row ? toCheckpoint(row) : undefined;
    },
    async checkpointCovering(index) {
      const row = await db.get('SELECT * FROM tlog_checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT 1', [
        index,
      ]);
      return row ? toCheckpoint(row) : undefined;
    },
    async cosignatures(size) {
      const rows = await db.all('SELECT line FROM tlog_cosignatures WHERE tree_size = ? ORDER BY add_time, witness', [
        size,
      ]);
      return rows.map((r) => String(r.line));
    },
    async addCosignature(size, witness, keyId, line, time, limit) {
      return db.transaction(async (tx) => {
        const others = Number(
          (
            await tx.get(
              'SELECT COUNT(*) AS n FROM tlog_cosignatures WHERE tree_size = ? AND NOT (witness = ? AND key_id = ?)',
              [size, witness, keyId],
            )
          )?.n ?? 0,
        );
        if (others >= limit) return false;
        await tx.run(
          'INSERT INTO tlog_cosignatures (tree_size, witness, key_id, line, add_time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size, witness, key_id) DO UPDATE SET line = excluded.line, add_time = excluded.add_time',
          [size, witness, keyId, line, time],
        );
        return true;
      });
    },
  };
}
