// What the compute service stores: instances (one row each, facts in JSON) and their serial output.
import type { SqlDatabase, SqlValue } from '@sealroom/core';
import type { Instance } from './instance.types.ts';

export const COMPUTE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE compute_instances (
     id TEXT PRIMARY KEY,
     project_number TEXT NOT NULL,
     zone TEXT NOT NULL,
     name TEXT NOT NULL,
     body TEXT NOT NULL,
     UNIQUE (project_number, zone, name)
   );`,
  `CREATE TABLE compute_serial (
     instance_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     line TEXT NOT NULL,
     PRIMARY KEY (instance_id, seq)
   );`,
  `CREATE TABLE compute_firewalls (
     id TEXT PRIMARY KEY,
     project_number TEXT NOT NULL,
     name TEXT NOT NULL,
     body TEXT NOT NULL,
     UNIQUE (project_number, name)
   );`,
  // Which server process (replica) powered each instance on: its host agent is the one that runs it.
  `CREATE TABLE compute_runners (
     instance_id TEXT PRIMARY KEY,
     runner TEXT NOT NULL
   );`,
];

/** Serial output kept per instance; older lines are dropped beyond this many. */
export const MAX_SERIAL_LINES = 10_000;

export interface InstanceStore {
  /** Inserts; returns false when the project already has an instance with that name in the zone. */
  insert(instance: Instance): Promise<boolean>;
  get(projectNumber: string, zone: string, name: string): Promise<Instance | undefined>;
  getById(id: string): Promise<Instance | undefined>;
  list(projectNumber: string, zone: string): Promise<Instance[]>;
  /** Every zone's instances of a project (the aggregated list). */
  listProject(projectNumber: string): Promise<Instance[]>;
  /** All instances of every project (the host agent's view at start-up). */
  listAll(): Promise<Instance[]>;
  /** Applies `change` to the current row; returns the new instance, or undefined when it is gone. */
  update(id: string, change: (current: Instance) => Instance): Promise<Instance | undefined>;
  delete(id: string): Promise<void>;
  /** Records that the server process `runner` powered the instance on (its lease says whether it lives). */
  setRunner(id: string, runner: string): Promise<void>;
  runnerOf(id: string): Promise<string | undefined>;
  appendSerial(id: string, lines: readonly string[]): Promise<void>;
  serial(id: string): Promise<string[]>;
  /** Lines after `afterSeq` (0 for all), oldest first, at most `limit`; `seq` orders them across reads. */
  serialSince(id: string, afterSeq: number, limit: number): Promise<{ seq: number; line: string }[]>;
}

interface Row {
  [key: string]: SqlValue;
  body: string;
}

const parse = (row: Row | undefined): Instance | undefined => (row ? (JSON.parse(row.body) as Instance) : undefined);

export async function openSqlInstanceStore(db: SqlDatabase): Promise<InstanceStore> {
  await db.migrate('compute', COMPUTE_MIGRATIONS);
  // One counter for every instance's lines: the order of a line is its insertion order.
  const last = await db.get<{ m: number | null }>('SELECT MAX(seq) AS m FROM compute_serial');
  let seq = Number(last?.m ?? 0);
  return {
    async insert(instance) {
      const result = await db.run(
        `INSERT INTO compute_instances (id, project_number, zone, name, body) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
        [instance.id, instance.projectNumber, instance.zone, instance.name, JSON.stringify(instance)],
      );
      return result.changes === 1;
    },
    async get(projectNumber, zone, name) {
      return parse(
        await db.get<Row>('SELECT body FROM compute_instances WHERE project_number = ? AND zone = ? AND name = ?', [
          projectNumber,
          zone,
          name,
        ]),
      );
    },
    async getById(id) {
      return parse(await db.get<Row>('SELECT body FROM compute_instances WHERE id = ?', [id]));
    },
    async list(projectNumber, zone) {
      const rows = await db.all<Row>(
        'SELECT body FROM compute_instances WHERE project_number = ? AND zone = ? ORDER BY name',
        [projectNumber, zone],
      );
      return rows.map((r) => parse(r) as Instance);
    },
    async listProject(projectNumber) {
      const rows = await db.all<Row>(
        'SELECT body FROM compute_instances WHERE project_number = ? ORDER BY zone, name',
        [projectNumber],
      );
      return rows.map((r) => parse(r) as Instance);
    },
    async listAll() {
      const rows = await db.all<Row>('SELECT body FROM compute_instances ORDER BY id');
      return rows.map((r) => parse(r) as Instance);
    },
    async update(id, change) {
      return db.transaction(async (tx) => {
        const current = parse(await tx.get<Row>('SELECT body FROM compute_instances WHERE id = ?', [id]));
        if (!current) return undefined;
        const next = change(current);
        await tx.run('UPDATE compute_instances SET body = ? WHERE id = ?', [JSON.stringify(next), id]);
        return next;
      });
    },
    async delete(id) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM compute_instances WHERE id = ?', [id]);
        await tx.run('DELETE FROM compute_serial WHERE instance_id = ?', [id]);
        await tx.run('DELETE FROM compute_runners WHERE instance_id = ?', [id]);
      });
    },
    async setRunner(id, runner) {
      await db.run(
        'INSERT INTO compute_runners (instance_id, runner) VALUES (?, ?) ON CONFLICT (instance_id) DO UPDATE SET runner = excluded.runner',
        [id, runner],
      );
    },
    async runnerOf(id) {
      const row = await db.get<{ runner: string }>('SELECT runner FROM compute_runners WHERE instance_id = ?', [id]);
      return row?.runner;
    },
    async appendSerial(id, lines) {
      if (lines.length === 0) return;
      await db.transaction(
        async (tx) => {
          // Replicas on one database each count on their own: a line follows the instance's last one, whoever wrote it.
          let next = seq;
          if (db.dialect !== 'sqlite') {
            const top = await tx.get<{ m: number | null }>(
              'SELECT MAX(seq) AS m FROM compute_serial WHERE instance_id = ?',
              [id],
            );
            next = Math.max(next, Number(top?.m ?? 0));
          }
          for (const line of lines) {
            await tx.run('INSERT INTO compute_serial (instance_id, seq, line) VALUES (?, ?, ?)', [id, ++next, line]);
          }
          seq = Math.max(seq, next);
          await tx.run(
            `DELETE FROM compute_serial WHERE instance_id = ? AND seq <= (
             SELECT seq FROM compute_serial WHERE instance_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
            [id, id, MAX_SERIAL_LINES],
          );
        },
        { serializeOn: `compute_serial:${id}` },
      );
    },
    async serial(id) {
      const rows = await db.all<{ line: string }>(
        'SELECT line FROM compute_serial WHERE instance_id = ? ORDER BY seq',
        [id],
      );
      return rows.map((r) => r.line);
    },
    async serialSince(id, afterSeq, limit) {
      const rows = await db.all<{ seq: number; line: string }>(
        'SELECT seq, line FROM compute_serial WHERE instance_id = ? AND seq > ? ORDER BY seq LIMIT ?',
        [id, afterSeq, limit],
      );
      return rows.map((r) => ({ seq: Number(r.seq), line: r.line }));
    },
  };
}
