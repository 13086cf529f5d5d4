// The one "authorize, run, audit" path every service takes: IAM decides, refusals and outcomes are audited.
import {
  type AuditLog,
  type AuditOutcome,
  type Authorizer,
  type Caller,
  type Clock,
  isSealroomError,
  permissionDenied,
} from '@sealroom/core';
import type { DecisionCache } from './decisions.ts';

export interface ServiceAccessOptions {
  readonly authorizer: Authorizer;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** Reuses allowed decisions (see `createDecisionCache`); without it every check asks IAM. */
  readonly decisions?: DecisionCache;
}

/** The audit entry a refusal writes. Without one, a refusal is only thrown (nothing is logged). */
export interface DenialAudit {
  /** Project id or number whose audit log receives the entry. */
  readonly project: string;
  readonly method: string;
  /** The resource the entry names; the checked resource by default. */
  readonly resource?: string;
  /** `{ permission }` by default. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AccessCheck {
  readonly caller: Caller | undefined;
  readonly permission: string;
  /** The resource IAM decides on (its policies and its ancestors' apply). */
  readonly resource: string;
  readonly denial?: DenialAudit;
  /**
   * The resource the PERMISSION_DENIED error names, when it must differ from the checked one (the name as
   * the caller wrote it, so that denied and missing read the same).
   */
  readonly shownAs?: string;
}

/** Where an allowed operation's outcome is recorded. */
export interface AuditTarget {
  readonly caller: Caller | undefined;
  readonly project: string;
  readonly method: string;
  readonly resource: string;
}

export interface ServiceAccess {
  /** Whether IAM allows the check; a refusal is audited when the check says how. */
  allows(check: AccessCheck): Promise<boolean>;
  /** Throws PERMISSION_DENIED ("… (or it may not exist).") unless IAM allows the check. */
  require(check: AccessCheck): Promise<void>;
  /**
   * Runs an allowed operation and records its outcome: ALLOWED with the details it returns, or FAILED with
   * the error's code (never its data).
   */
  run<T>(target: AuditTarget, work: () => Promise<{ result: T; details?: Record<string, unknown> }>): Promise<T>;
  /** Records an allowed operation that needs no outcome tracking (a create, an update, a delete). */
  record(target: AuditTarget, details?: Readonly<Record<string, unknown>>): Promise<void>;
}

/**
 * Builds the path over the deployment's authorizer and audit log.
 *
 * @example
 * const access = createServiceAccess({ authorizer: ctx.authorizer, audit: ctx.audit, clock: ctx.clock });
 * await access.require({
 *   caller, permission: 'cloudkms.cryptoKeyVersions.useToDecrypt', resource: keyName,
 *   denial: { project: projectId, method: 'google.cloud.kms.v1.KeyManagementService.Decrypt' },
 * });
 * const plaintext = await access.run(
 *   { caller, project: projectId, method: 'google.cloud.kms.v1.KeyManagementService.Decrypt', resource: keyName },
 *   async () => ({ result: await decrypt(keyName, ciphertext) }),
 * );
 */
export function createServiceAccess(options: ServiceAccessOptions): ServiceAccess {
  const { authorizer, audit, decisions } = options;

  const decide = async (caller: Caller | undefined, permission: string, resource: string): Promise<boolean> => {
    if (!caller || !decisions) return authorizer.isAllowed(caller, permission, resource);
    if (decisions.allows(caller, permission, resource)) return true;
    const askedAt = decisions.generation();
    const { allowed, reusable } = authorizer.decide
      ? await authorizer.decide(caller, permission, resource)
      : { allowed: await authorizer.isAllowed(caller, permission, resource), reusable: true };
    if (allowed && reusable) decisions.remember(caller, permission, resource, askedAt);
    return allowed;
  };

  const allows = async (check: AccessCheck): Promise<boolean> => {
    const { caller, permission, resource, denial } = check;
    if (await decide(caller, permission, resource)) return true;
    if (denial) {
      await audit.record({
        project: denial.project,
        method: denial.method,
        resource: denial.resource ?? resource,
        caller,
        outcome: 'DENIED',
        status: 'PERMISSION_DENIED',
        details: denial.details ?? { permission },
      });
    }
    return false;
  };

  return {
    allows,
    async require(check) {
      if (!(await allows(check))) throw permissionDenied(check.permission, check.shownAs ?? check.resource);
    },
    async run(target, work) {
      let outcome: AuditOutcome = 'ALLOWED';
      let status: string | undefined;
      let details: Record<string, unknown> | undefined;
      try {
        const done = await work();
        details = done.details;
        return done.result;
      } catch (error) {
        outcome = 'FAILED';
        status = isSealroomError(error) ? error.code : 'ERR_INTERNAL';
        throw error;
      } finally {
        await audit.record({
          project: target.project,
          method: target.method,
          resource: target.resource,
          caller: target.caller,
          outcome,
          ...(status === undefined ? {} : { status }),
          ...(details === undefined ? {} : { details }),
        });
      }
    },
    async record(target, details) {
      await audit.record({
        project: target.project,
        method: target.method,
        resource: target.resource,
        caller: target.caller,
        outcome: 'ALLOWED',
        ...(details === undefined ? {} : { details }),
      });
    },
  };
}
