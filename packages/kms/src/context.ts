// What the KMS domain needs from the deployment, and the guard every method runs: resolve, authorize, audit.
import {
  type AuditLog,
  type Authorizer,
  type Caller,
  type Clock,
  type Logger,
  type ProjectResolver,
  permissionDenied,
  type ResourceTemplate,
  type Sealer,
} from '@sealroom/core';
import { createServiceAccess, type ServiceAccess } from '@sealroom/iam';
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

const accesses = new WeakMap<KmsDeps, ServiceAccess>();

/**
 * The deployment's authorize-run-audit path over these deps, made once per deps. Its authorizer reuses
 * allowed decisions until IAM changes (the deployment's is made with a decision cache).
 */
function accessOf(deps: KmsDeps): ServiceAccess {
  let access = accesses.get(deps);
  if (access === undefined) {
    access = createServiceAccess({ authorizer: deps.authorizer, audit: deps.audit, clock: deps.clock });
    accesses.set(deps, access);
  }
  return access;
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
  await accessOf(deps).require({
    caller,
    permission,
    resource: canonical,
    shownAs: rawName,
    denial: { project: project.projectId, method: KMS_METHOD_PREFIX + method },
  });
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
  return accessOf(deps).run(
    { caller, project: resolved.projectId, method: KMS_METHOD_PREFIX + method, resource: resolved.name },
    run,
  );
}

/** The sealing context of a version's material: binds the blob to exactly that version. */
export function materialContext(versionName: string): string {
  return `sealroom/kms/material\0${versionName}`;
}
