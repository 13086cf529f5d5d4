// The resource manager: projects with an id and a 12-digit number; the root of every resource name.
import {
  CoreError,
  newProjectNumber,
  PROJECT_ID_PATTERN,
  type ProjectRef,
  type ProjectResolver,
  type SqlDatabase,
  toRfc3339,
} from '@sealroom/core';
import { writePolicy } from './policy-store.ts';

export const PROJECT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE rm_projects (
     project_number TEXT PRIMARY KEY,
     project_id TEXT NOT NULL UNIQUE,
     display_name TEXT NOT NULL,
     state TEXT NOT NULL,
     create_time INTEGER NOT NULL,
     creator TEXT NOT NULL
   );
   CREATE TABLE rm_services (
     project_number TEXT NOT NULL,
     service TEXT NOT NULL,
     enable_time INTEGER NOT NULL,
     PRIMARY KEY (project_number, service)
   );`,
];

export interface Project extends ProjectRef {
  readonly displayName: string;
  readonly state: 'ACTIVE' | 'DELETE_REQUESTED';
  readonly createTime: number;
  readonly creator: string;
}

/** The CRM v1 JSON shape google-auth-library and gcloud read. */
export function toProjectJson(project: Project): Record<string, unknown> {
  return {
    projectNumber: project.projectNumber,
    projectId: project.projectId,
    lifecycleState: project.state,
    name: project.displayName,
    createTime: toRfc3339(project.createTime),
  };
}

export interface ProjectStore extends ProjectResolver {
  /**
   * Creates the project with `creator` (a `user:` member) as its owner: the project and its owner
   * policy are written in one transaction, so a failure leaves neither.
   */
  create(projectId: string, displayName: string, creator: string, now: number): Promise<Project>;
  get(idOrNumber: string): Promise<Project | undefined>;
  list(): Promise<Project[]>;
  enableServices(projectNumber: string, services: readonly string[], now: number): Promise<void>;
  listServices(projectNumber: string): Promise<{ service: string; enableTime: number }[]>;
}

interface ProjectRow {
  [key: string]: string | number;
  project_number: string;
  project_id: string;
  display_name: string;
  state: string;
  create_time: number;
  creator: string;
}

export function createSqlProjectStore(db: SqlDatabase): ProjectStore {
  const cache = new Map<string, Project>();
  const get = async (idOrNumber: string): Promise<Project | undefined> => {
    const cached = cache.get(idOrNumber);
    if (cached) return cached;
    const column = /^\d+$/.test(idOrNumber) ? 'project_number' : 'project_id';
    const row = await db.get<ProjectRow>(`SELECT * FROM rm_projects WHERE ${column} = ?`, [idOrNumber]);
    if (!row) return undefined;
    const project = toProject(row);
    if (cache.size > 10_000) cache.clear();
    cache.set(project.projectId, project);
    cache.set(project.projectNumber, project);
    return project;
  };
  return {
    get,
    async resolve(idOrNumber) {
      const project = await get(idOrNumber);
      return project && project.state === 'ACTIVE'
        ? { projectId: project.projectId, projectNumber: project.projectNumber }
        : undefined;
    },
    async create(projectId, displayName, creator, now) {
      if (!PROJECT_ID_PATTERN.test(projectId)) {
        throw new CoreError(
          'ERR_INVALID_ARGUMENT',
          `Invalid project id '${projectId.slice(0, 64)}': use 6 to 30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen.`,
        );
      }
      return db.transaction(async (tx) => {
        const existing = await tx.get('SELECT project_number FROM rm_projects WHERE project_id = ?', [projectId]);
        if (existing) throw new CoreError('ERR_ALREADY_EXISTS', `Project ${projectId} already exists.`);
        let number = newProjectNumber();
        while (await tx.get('SELECT 1 AS x FROM rm_projects WHERE project_number = ?', [number]))
          number = newProjectNumber();
        await tx.run(
          'INSERT INTO rm_projects (project_number, project_id, display_name, state, create_time, creator) VALUES (?, ?, ?, ?, ?, ?)',
          [number, projectId, displayName, 'ACTIVE', now, creator],
        );
        await writePolicy(tx, `projects/${number}`, 1, [{ role: 'roles/owner', members: [creator] }], now);
        return { projectId, projectNumber: number, displayName, state: 'ACTIVE', createTime: now, creator } as const;
      });
    },
    async list() {
      const rows = await db.all<ProjectRow>('SELECT * FROM rm_projects ORDER BY create_time, project_id');
      return rows.map(toProject);
    },
    async enableServices(projectNumber, services, now) {
      await db.transaction(async (tx) => {
        for (const service of services) {
          await tx.run(
            'INSERT INTO rm_services (project_number, service, enable_time) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
            [projectNumber, service, now],
          );
        }
      });
    },
    async listServices(projectNumber) {
      const rows = await db.all<{ service: string; enable_time: number }>(
        'SELECT service, enable_time FROM rm_services WHERE project_number = ? ORDER BY service',
        [projectNumber],
      );
      return rows.map((r) => ({ service: r.service, enableTime: r.enable_time }));
    },
  };
}

function toProject(row: ProjectRow): Project {
  return {
    projectNumber: row.project_number,
    projectId: row.project_id,
    displayName: row.display_name,
    state: row.state === 'ACTIVE' ? 'ACTIVE' : 'DELETE_REQUESTED',
    createTime: row.create_time,
    creator: row.creator,
  };
}
