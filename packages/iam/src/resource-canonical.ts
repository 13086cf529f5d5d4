// Canonical resource names for policy storage: the project segment as its number.
import type { ProjectResolver } from '@sealroom/core';

const SA_EMAIL = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;

/**
 * `projects/{id or number}/…` → `projects/{number}/…`; `projects/-/serviceAccounts/EMAIL` takes its
 * project from the email. Undefined when the name is not project-scoped or the project is unknown.
 */
export async function canonicalResource(projects: ProjectResolver, resource: string): Promise<string | undefined> {
  const segments = resource.split('/');
  if (segments[0] !== 'projects' || segments.length < 2 || segments.length % 2 !== 0) return undefined;
  let projectKey = segments[1] as string;
  if (projectKey === '-' && segments[2] === 'serviceAccounts') {
    const match = SA_EMAIL.exec(segments[3] ?? '');
    if (!match) return undefined;
    projectKey = match[1] as string;
  }
  const project = await projects.resolve(projectKey);
  if (!project) return undefined;
  segments[1] = project.projectNumber;
  return segments.join('/');
}
