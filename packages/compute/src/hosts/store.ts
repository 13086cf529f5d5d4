// What the control plane keeps about hosts: enrolment tokens (hashed, single use) and the hosts that joined.
import type { SqlDatabase, SqlValue } from '@sealroom/core';

export const HOST_MIGRATIONS: readonly string[] = [
  `CREATE TABLE compute_host_tokens (
     hash TEXT PRIMARY KEY,
     pool TEXT NOT NULL,
     create_time INTEGER NOT NULL,
     expire_time INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     used_time INTEGER,
     used_by TEXT
   );`,
  `CREATE TABLE compute_hosts (
     name TEXT PRIMARY KEY,
     pool TEXT NOT NULL,
     fingerprint TEXT NOT NULL UNIQUE,
     join_time INTEGER NOT NULL,
     last_seen INTEGER NOT NULL
   );`,
  // What the control plane recorded of each instance's events: a host replays unacknowledged ones after a
  // reconnect, to this replica or another, and those at or below the mark are not recorded twice.
  `CREATE TABLE compute_host_event_marks (
     host TEXT NOT NULL,
     instance_id TEXT NOT NULL,
     boot TEXT NOT NULL,
     seq INTEGER NOT NULL,
     PRIMARY KEY (host, instance_id)
   );`,
  // Replicas on one database: which replica holds each host's channel (until expires_at, renewed while it
  // does), which host runs each instance (and what it was asked to boot), and where each replica listens.
  `CREATE TABLE compute_host_channels (
     host TEXT PRIMARY KEY,
     replica TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );`,
  `CREATE TABLE compute_host_placements (
     instance_id TEXT PRIMARY KEY,
     host TEXT NOT NULL,
     request TEXT NOT NULL
   );`,
  `CREATE TABLE compute_host_replicas (
     replica TEXT PRIMARY KEY,
     endpoint TEXT NOT NULL,
     seen INTEGER NOT NULL
   );`,
];

export interface HostRecord {
  readonly name: string;
  readonly pool: string;
  /** SHA-256 (hex) of the DER of the host's current client certificate: the channel authenticates by it. */
  readonly fingerprint: string;
  readonly joinTime: number;
  readonly lastSeen: number;
}

export interface EnrolmentTokenRecord {
  readonly hash: string;
  readonly pool: string;
  readonly createTime: number;
  readonly expireTime: number;
  readonly createdBy: string;
}

export interface HostStore {
  insertToken(token: EnrolmentTokenRecord): Promise<void>;
  /**
   * Marks the token used by `hostName` and returns it, in one statement, so that two joins racing with one
   * token cannot both win; undefined when it is unknown, used or expired.
   */
  redeemToken(hash: string, hostName: string, nowMs: number): Promise<EnrolmentTokenRecord | undefined>;
  /** Inserts or replaces the host (a host joining again under its name gets a new certificate). */
  putHost(host: HostRecord): Promise<void>;
  getHost(name: string): Promise<HostRecord | undefined>;
  hostByFingerprint(fingerprint: string): Promise<HostRecord | undefined>;
  listHosts(): Promise<HostRecord[]>;
  touch(name: string, nowMs: number): Promise<void>;
  /** The last recorded event of each instance of `host`, by instance id. */
  eventMarks(host: string): Promise<Map<string, EventMark>>;
  /** Raises the instance's mark (a lower one, from a slower writer, never lowers it within a boot). */
  saveEventMark(host: string, instanceId: string, mark: EventMark): Promise<void>;
  /** The instance was deleted: its marks go. */
  deleteEventMarks(instanceId: string): Promise<void>;
  /** The host connected to `replica`: it holds the channel now, whoever held it before (the host chose). */
  claimChannel(host: string, replica: string, expiresAt: number): Promise<void>;
  /** Extends the hold; false when another replica holds the channel now. */
  renewChannel(host: string, replica: string, expiresAt: number): Promise<boolean>;
  /** Gives up the hold of `replica` (or a lapsed one of any replica). */
  releaseChannel(host: string, replica: string, nowMs: number): Promise<void>;
  channels(): Promise<ChannelHold[]>;
  /** Inserts or replaces the instance's placement. */
  putPlacement(placement: PlacementRecord): Promise<void>;
  /** Removes the placement (of that host only, when given); true when this call removed it. */
  deletePlacement(instanceId: string, host?: string): Promise<boolean>;
  placements(): Promise<PlacementRecord[]>;
  /** Where `replica`'s channel listener is, seen now. */
  putReplicaEndpoint(replica: string, endpoint: string, nowMs: number): Promise<void>;
  /** The channel endpoints of the replicas seen since `sinceMs`, most recently seen first. */
  replicaEndpoints(sinceMs: number): Promise<string[]>;
}

export interface ChannelHold {
  readonly host: string;
  readonly replica: string;
  readonly expiresAt: number;
}

export interface PlacementRecord {
  readonly instanceId: string;
  readonly host: string;
  /** The boot request (JSON) the host gets in its desired state. */
  readonly request: string;
}

/** The last event of an instance the control plane recorded: the host agent's run and the sequence number. */
export interface EventMark {
  readonly boot: string;
  readonly seq: number;
}

interface HostRow {
  [key: string]: SqlValue;
  name: string;
  pool: string;
  fingerprint: string;
  join_time: number;
  last_seen: number;
}

const toHost = (row: HostRow | undefined): HostRecord | undefined =>
  row
    ? {
        name: row.name,
        pool: row.pool,
        fingerprint: row.fingerprint,
        joinTime: Number(row.join_time),
        lastSeen: Number(row.last_seen),
      }
    : undefined;

export async function openSqlHostStore(db: SqlDatabase): Promise<HostStore> {
  await db.migrate('compute-hosts', HOST_MIGRATIONS);
  return {
    async insertToken(token) {
      await db.run(
        'INSERT INTO compute_host_tokens (hash, pool, create_time, expire_time, created_by) VALUES (?, ?, ?, ?, ?)',
        [token.hash, token.pool, token.createTime, token.expireTime, token.createdBy],
      );
    },
    async redeemToken(hash, hostName, nowMs) {
      return db.transaction(async (tx) => {
        const result = await tx.run(
          `UPDATE compute_host_tokens SET used_time = ?, used_by = ?
           WHERE hash = ? AND used_time IS NULL AND expire_time > ?`,
          [nowMs, hostName, hash, nowMs],
        );
        if (result.changes !== 1) return undefined;
        const row = await tx.get<{ pool: string; create_time: number; expire_time: number; created_by: string }>(
          'SELECT pool, create_time, expire_time, created_by FROM compute_host_tokens WHERE hash = ?',
          [hash],
        );
        return row
          ? {
              hash,
              pool: row.pool,
              createTime: Number(row.create_time),
              expireTime: Number(row.expire_time),
              createdBy: row.created_by,
            }
          : undefined;
      });
    },
    async putHost(host) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM compute_hosts WHERE name = ?', [host.name]);
        await tx.run(
          'INSERT INTO compute_hosts (name, pool, fingerprint, join_time, last_seen) VALUES (?, ?, ?, ?, ?)',
          [host.name, host.pool, host.fingerprint, host.joinTime, host.lastSeen],
        );
      });
    },
    async getHost(name) {
      return toHost(await db.get<HostRow>('SELECT * FROM compute_hosts WHERE name = ?', [name]));
    },
    async hostByFingerprint(fingerprint) {
      return toHost(await db.get<HostRow>('SELECT * FROM compute_hosts WHERE fingerprint = ?', [fingerprint]));
    },
    async listHosts() {
      const rows = await db.all<HostRow>('SELECT * FROM compute_hosts ORDER BY pool, name');
      return rows.map((r) => toHost(r) as HostRecord);
    },
    async touch(name, nowMs) {
      await db.run('UPDATE compute_hosts SET last_seen = ? WHERE name = ?', [nowMs, name]);
    },
    async eventMarks(host) {
      const rows = await db.all<{ instance_id: string; boot: string; seq: number }>(
        'SELECT instance_id, boot, seq FROM compute_host_event_marks WHERE host = ?',
        [host],
      );
      return new Map(rows.map((r) => [r.instance_id, { boot: r.boot, seq: Number(r.seq) }]));
    },
    async saveEventMark(host, instanceId, mark) {
      await db.run(
        `INSERT INTO compute_host_event_marks (host, instance_id, boot, seq) VALUES (?, ?, ?, ?)
         ON CONFLICT (host, instance_id) DO UPDATE SET boot = excluded.boot, seq = excluded.seq
         WHERE compute_host_event_marks.boot <> excluded.boot OR compute_host_event_marks.seq < excluded.seq`,
        [host, instanceId, mark.boot, mark.seq],
      );
    },
    async deleteEventMarks(instanceId) {
      await db.run('DELETE FROM compute_host_event_marks WHERE instance_id = ?', [instanceId]);
    },
    async claimChannel(host, replica, expiresAt) {
      await db.run(
        `INSERT INTO compute_host_channels (host, replica, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (host) DO UPDATE SET replica = excluded.replica, expires_at = excluded.expires_at`,
        [host, replica, expiresAt],
      );
    },
    async renewChannel(host, replica, expiresAt) {
      const { changes } = await db.run(
        'UPDATE compute_host_channels SET expires_at = ? WHERE host = ? AND replica = ?',
        [expiresAt, host, replica],
      );
      return changes === 1;
    },
    async releaseChannel(host, replica, nowMs) {
      await db.run('DELETE FROM compute_host_channels WHERE host = ? AND (replica = ? OR expires_at <= ?)', [
        host,
        replica,
        nowMs,
      ]);
    },
    async channels() {
      const rows = await db.all<{ host: string; replica: string; expires_at: number }>(
        'SELECT host, replica, expires_at FROM compute_host_channels',
      );
      return rows.map((r) => ({ host: r.host, replica: r.replica, expiresAt: Number(r.expires_at) }));
    },
    async putPlacement(placement) {
      await db.run(
        `INSERT INTO compute_host_placements (instance_id, host, request) VALUES (?, ?, ?)
         ON CONFLICT (instance_id) DO UPDATE SET host = excluded.host, request = excluded.request`,
        [placement.instanceId, placement.host, placement.request],
      );
    },
    async deletePlacement(instanceId, host) {
      const { changes } =
        host === undefined
          ? await db.run('DELETE FROM compute_host_placements WHERE instance_id = ?', [instanceId])
          : await db.run('DELETE FROM compute_host_placements WHERE instance_id = ? AND host = ?', [instanceId, host]);
      return changes === 1;
    },
    async placements() {
      const rows = await db.all<{ instance_id: string; host: string; request: string }>(
        'SELECT instance_id, host, request FROM compute_host_placements ORDER BY instance_id',
      );
      return rows.map((r) => ({ instanceId: r.instance_id, host: r.host, request: r.request }));
    },
    async putReplicaEndpoint(replica, endpoint, nowMs) {
      await db.run(
        `INSERT INTO compute_host_replicas (replica, endpoint, seen) VALUES (?, ?, ?)
         ON CONFLICT (replica) DO UPDATE SET endpoint = excluded.endpoint, seen = excluded.seen`,
        [replica, endpoint, nowMs],
      );
    },
    async replicaEndpoints(sinceMs) {
      const rows = await db.all<{ endpoint: string }>(
        'SELECT DISTINCT endpoint, seen FROM compute_host_replicas WHERE seen >= ? ORDER BY seen DESC',
        [sinceMs],
      );
      return [...new Set(rows.map((r) => r.endpoint))];
    },
  };
}
