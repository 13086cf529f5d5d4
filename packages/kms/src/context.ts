// What the KMS domain needs from the deployment, and the guard every method runs: resolve, authorize, audit.
import {
  type AuditLog,
  type AuditOutcome,
  type Authorizer,
  type Caller,
  type Clock,
  isSealroomError,
  type Logger,
  type ProjectResolver,
  permissionDenied,
  type ResourceTemplate,
  type Sealer,
} from '@sealroom/core';
import type { KmsStore } from './store.ts';

export interface KmsDeps {
  readonly store: KmsStore;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly authorizer: Authorizer;
  readonly audit: AuditLog;
  readonly projects: ProjectResolver;
  readonly logger: Logger;
}

export const KMS_METHOD_PREFIX = 'google.cloud.kms.v1.KeyManagementService.';

/** A request's resource after its project id or number was resolved to the project id. */
export interface Resolved<K extends string> {
  readonly name: string;
  readonly projectId: string;
  readonly parts: Record<K, string>;
}

/**
 * Parses `name`, resolves its project (an unknown project answers like a denial, as Google does) and
 * checks `permission` on it. A denial is written to the project's audit log before it is thrown.
 */
export async function guard<K extends 'project' | string>(
  deps: KmsDeps,
  caller: Caller | undefined,
  template: ResourceTemplate<K>,
  rawName: string,
  permission: string,
  method: string,
): Promise<Resolved<K>> {
  const parts = template.parse(rawName) as Record<K, string> & { project: string };
  const project = await deps.projects.resolve(parts.project);
  if (!project) throw permissionDenied(permission, rawName);
  const canonical = template.format({ ...parts, project: project.projectId });
  const allowed = await deps.authorizer.isAllowed(caller, permission, canonical);
  if (!allowed) {
    await deps.audit.record({
      project: project.projectId,
      method: KMS_METHOD_PREFIX + method,
      resource: canonical,
      caller,
      outcome: 'DENIED',
      status: 'PERMISSION_DENIED',
      details: { permission },
    });
    throw permissionDenied(permission, rawName);
  }
  return { name: canonical, projectId: project.projectId, parts: { ...parts, project: project.projectId } };
}

/** Runs an allowed operation and records its outcome; refusals keep their error code, never data. */
export async function audited<T>(
  deps: KmsDeps,
  caller: Caller | undefined,
  resolved: Resolved<string>,
  method: string,
  run: () => Promise<{ result: T; details?: Record<string, unknown> }>,
): Promise<T> {
  let outcome: AuditOutcome = 'ALLOWED';
  let status: string | undefined;
  let details: Record<string, unknown> | undefined;
  try {
    const done = await run();
    details = done.details;
    return done.result;
  } catch (error) {
    outcome = 'FAILED';
    status = isSealroomError(error) ? error.code : 'ERR_INTERNAL';
    throw error;
  } finally {
    await deps.audit.record({
      project: resolved.projectId,
      method: KMS_METHOD_PREFIX + method,
      resource: resolved.name,
      caller,
      outcome,
      ...(status === undefined ? {} : { status }),
      ...(details === undefined ? {} : { details }),
    });
  }
}

/** The sealing context of a version's material: binds the blob to exactly that version. */
export function materialContext(versionName: string): string {
  return `sealroom/kms/material\0${versionName}`;
}
