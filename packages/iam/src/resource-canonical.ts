// Canonical resource names for policy storage: the project segment as its number.
import type { ProjectResolver } from '@sealroom/core';

const SA_EMAIL = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;

/**
 * `projects/{id or number}/…` → `projects/{number}/…`; `projects/-/serviceAccounts/EMAIL` takes its
 * project from the email. Undefined when the name is not project-scoped, the project is unknown, or a
 * service account's email names another project than the path (an account lives only in its own project,
 * so no tenant can hang a policy on another tenant's account under its own project).
 */
export async function canonicalResource(projects: ProjectResolver, resource: string): Promise<string | undefined> {
  const segments = resource.split('/');
  if (segments[0] !== 'projects' || segments.length < 2 || segments.length % 2 !== 0) return undefined;
  let projectKey = segments[1] as string;
  const accountProject = segments[2] === 'serviceAccounts' ? SA_EMAIL.exec(segments[3] ?? '')?.[1] : undefined;
  if (projectKey === '-' && segments[2] === 'serviceAccounts') {
    if (!accountProject) return undefined;
    projectKey = accountProject;
  }
  const project = await projects.resolve(projectKey);
  if (!project) return undefined;
  if (accountProject !== undefined && accountProject !== project.projectId) return undefined;
  segments[1] = project.projectNumber;
  return segments.join('/');
}
