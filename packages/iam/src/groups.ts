// Groups the deployment administers: the only source of `group:` membership (a token's claims never are).
import { type Clock, CoreError, type SqlDatabase } from '@sealroom/core';
import { parseMember } from './members.ts';
import { signalIamChange } from './decisions.ts';

export const GROUP_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_groups (
     email TEXT PRIMARY KEY,
     display_name TEXT NOT NULL,
     description TEXT NOT NULL,
     create_time INTEGER NOT NULL
   );
   CREATE TABLE iam_group_members (
     group_email TEXT NOT NULL REFERENCES iam_groups (email),
     member TEXT NOT NULL,
     create_time INTEGER NOT NULL,
     PRIMARY KEY (group_email, member)
   );
   CREATE INDEX iam_group_members_member ON iam_group_members (member)`,
];

export const MAX_GROUP_MEMBERS = 5000;

export interface Group {
  readonly email: string;
  readonly displayName: string;
  readonly description: string;
  readonly createTime: number;
  readonly members: readonly string[];
}

export interface GroupStore {
  create(email: string, displayName: string, description: string): Promise<Group>;
  get(email: string): Promise<Group | undefined>;
  list(): Promise<Group[]>;
  delete(email: string): Promise<boolean>;
  /** Adds a `user:` or `serviceAccount:` member; true when it was not there yet. */
  addMember(email: string, member: string): Promise<boolean>;
  removeMember(email: string, member: string): Promise<boolean>;
  /** The groups `principal` (`user:E` or `serviceAccount:E`, email in lower case as callers carry it) belongs to. */
  groupsOf(principal: string): Promise<string[]>;
}

interface GroupRow {
  [key: string]: string | number;
  email: string;
  display_name: string;
  description: string;
  create_time: number;
}

/** Canonical member text: `user:` and `serviceAccount:` only (nesting groups is not offered), lower case. */
export function checkGroupMember(member: string, universe: string): string {
  const parsed = parseMember(member, universe);
  if (parsed.type !== 'user' && parsed.type !== 'serviceAccount') {
    throw new CoreError(
      'ERR_INVALID_ARGUMENT',
      'Group members are user:EMAIL or serviceAccount:EMAIL; federated identities use principalSet://…/group/G of their pool.',
    );
  }
  return `${parsed.type}:${parsed.value}`;
}

export function createSqlGroupStore(db: SqlDatabase, clock: Clock): GroupStore {
  const get = async (email: string): Promise<Group | undefined> => {
    const row = await db.get<GroupRow>('SELECT * FROM iam_groups WHERE email = ?', [email.toLowerCase()]);
    if (!row) return undefined;
    const members = await db.all<{ member: string }>(
      'SELECT member FROM iam_group_members WHERE group_email = ? ORDER BY member',
      [row.email],
    );
    return {
      email: row.email,
      displayName: row.display_name,
      description: row.description,
      createTime: row.create_time,
      members: members.map((m) => m.member),
    };
  };
  return {
    get,
    async create(email, displayName, description) {
      const lower = email.toLowerCase();
      return db.transaction(async (tx) => {
        if (await tx.get('SELECT 1 AS x FROM iam_groups WHERE email = ?', [lower])) {
          throw new CoreError('ERR_ALREADY_EXISTS', `Group ${lower} already exists.`);
        }
        const now = clock.now();
        await tx.run('INSERT INTO iam_groups (email, display_name, description, create_time) VALUES (?, ?, ?, ?)', [
          lower,
          displayName,
          description,
          now,
        ]);
        return { email: lower, displayName, description, createTime: now, members: [] };
      });
    },
    async list() {
      const rows = await db.all<GroupRow>('SELECT * FROM iam_groups ORDER BY email');
      const out: Group[] = [];
      for (const row of rows) {
        const group = await get(row.email);
        if (group) out.push(group);
      }
      return out;
    },
    async delete(email) {
      const deleted = await db.transaction(async (tx) => {
        await tx.run('DELETE FROM iam_group_members WHERE group_email = ?', [email.toLowerCase()]);
        const { changes } = await tx.run('DELETE FROM iam_groups WHERE email = ?', [email.toLowerCase()]);
        return changes === 1;
      });
      signalIamChange(db);
      return deleted;
    },
    async addMember(email, member) {
      const lower = email.toLowerCase();
      return db.transaction(async (tx) => {
        if (!(await tx.get('SELECT 1 AS x FROM iam_groups WHERE email = ?', [lower]))) {
          throw new CoreError('ERR_NOT_FOUND', `Group ${lower} not found.`);
        }
        if (await tx.get('SELECT 1 AS x FROM iam_group_members WHERE group_email = ? AND member = ?', [lower, member]))
          return false;
        const count = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM iam_group_members WHERE group_email = ?', [
          lower,
        ]);
        if (Number(count?.n ?? 0) >= MAX_GROUP_MEMBERS) {
          throw new CoreError('ERR_RESOURCE_EXHAUSTED', `A group holds at most ${MAX_GROUP_MEMBERS} members.`);
        }
        await tx.run('INSERT INTO iam_group_members (group_email, member, create_time) VALUES (?, ?, ?)', [
          lower,
          member,
          clock.now(),
        ]);
        return true;
      });
    },
    async removeMember(email, member) {
      const lower = email.toLowerCase();
      if (!(await db.get('SELECT 1 AS x FROM iam_groups WHERE email = ?', [lower]))) {
        throw new CoreError('ERR_NOT_FOUND', `Group ${lower} not found.`);
      }
      const { changes } = await db.run('DELETE FROM iam_group_members WHERE group_email = ? AND member = ?', [
        lower,
        member,
      ]);
      signalIamChange(db);
      return changes === 1;
    },
    async groupsOf(principal) {
      const rows = await db.all<{ group_email: string }>('SELECT group_email FROM iam_group_members WHERE member = ?', [
        principal,
      ]);
      return rows.map((r) => r.group_email);
    },
  };
}
