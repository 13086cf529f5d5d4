// Where firewall rules are kept: one row per rule of a project's default network (the table is in COMPUTE_MIGRATIONS).
import type { SqlDatabase, SqlValue } from '@sealroom/core';
import type { Firewall } from './firewall.ts';

export interface FirewallStore {
  /** Inserts; false when the project already has a rule of that name. */
  insert(firewall: Firewall): Promise<boolean>;
  get(projectNumber: string, name: string): Promise<Firewall | undefined>;
  list(projectNumber: string): Promise<Firewall[]>;
  delete(id: string): Promise<void>;
}

interface Row {
  [key: string]: SqlValue;
  body: string;
}

/** The compute migrations must have run (openSqlInstanceStore runs them). */
export function createSqlFirewallStore(db: SqlDatabase): FirewallStore {
  return {
    async insert(firewall) {
      const result = await db.run(
        `INSERT INTO compute_firewalls (id, project_number, name, body) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [firewall.id, firewall.projectNumber, firewall.name, JSON.stringify(firewall)],
      );
      return result.changes === 1;
    },
    async get(projectNumber, name) {
      const row = await db.get<Row>('SELECT body FROM compute_firewalls WHERE project_number = ? AND name = ?', [
        projectNumber,
        name,
      ]);
      return row ? (JSON.parse(row.body) as Firewall) : undefined;
    },
    async list(projectNumber) {
      const rows = await db.all<Row>('SELECT body FROM compute_firewalls WHERE project_number = ? ORDER BY name', [
        projectNumber,
      ]);
      return rows.map((row) => JSON.parse(row.body) as Firewall);
    },
    async delete(id) {
      await db.run('DELETE FROM compute_firewalls WHERE id = ?', [id]);
    },
  };
}
