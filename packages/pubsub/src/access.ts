// Who is calling and whether they may: Pub/Sub's view of the shared authorize-run-audit path.
import { projectOf } from '@sealroom/core';
import type { Caller } from '@sealroom/core';
import type { ServiceAccess } from '@sealroom/iam';

/**
 * A request's identity. `trusted` marks the plaintext emulator port, which an operator enables on
 * purpose: like Google's emulator it has no identities, so IAM is not consulted there.
 */
export interface Access {
  readonly caller: Caller | undefined;
  readonly trusted?: boolean;
}

export interface AccessControl {
  /** Throws Google's PERMISSION_DENIED unless the caller holds `permission` on `resource`; refusals are audited. */
  require(access: Access, permission: string, resource: string, method: string): Promise<void>;
  /** Records an allowed administrative change (creates, updates, deletes). */
  recordChange(access: Access, method: string, resource: string, details?: Record<string, unknown>): Promise<void>;
}

/**
 * Pub/Sub over the shared path. The deployment hands it a decision cache: the data path (publish, pull,
 * acknowledge) asks IAM again only when IAM state changed or the cached allow aged out.
 */
export function createAccessControl(access: ServiceAccess): AccessControl {
  return {
    async require(request, permission, resource, method) {
      if (request.trusted) return;
      await access.require({
        caller: request.caller,
        permission,
        resource,
        denial: { project: projectOf(resource) ?? '-', method },
      });
    },
    async recordChange(request, method, resource, details) {
      await access.record({ caller: request.caller, project: projectOf(resource) ?? '-', method, resource }, details);
    },
  };
}
