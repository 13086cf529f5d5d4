// Who is calling and whether they may: IAM decisions with a short positive cache, and audit of refusals.
import type { AuditLog, Authorizer, Caller, Clock } from '@sealroom/core';
import { projectOf } from '@sealroom/core';

/**
 * A request's identity. `trusted` marks the plaintext emulator port, which an operator enables on
 * purpose: like Google's emulator it has no identities, so IAM is not consulted there.
 */
export interface Access {
  readonly caller: Caller | undefined;
  readonly trusted?: boolean;
}

/** Allowed decisions are reused this long; IAM changes reach data-path calls within it. */
const DECISION_TTL_MS = 5000;
const DECISION_CACHE_LIMIT = 10_000;

export class AccessControl {
  readonly #authorizer: Authorizer;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #allowed = new Map<string, number>();

  constructor(authorizer: Authorizer, audit: AuditLog, clock: Clock) {
    this.#authorizer = authorizer;
    this.#audit = audit;
    this.#clock = clock;
  }

  /** Throws Google's PERMISSION_DENIED unless the caller holds `permission` on `resource`. */
  async require(access: Access, permission: string, resource: string, method: string): Promise<void> {
    if (access.trusted) return;
    const caller = access.caller;
    const key = caller ? `${caller.credentialId}\n${permission}\n${resource}` : undefined;
    const now = this.#clock.now();
    if (key !== undefined) {
      const until = this.#allowed.get(key);
      if (until !== undefined && until > now && (caller?.expiresAt ?? 0) > now) return;
    }
    try {
      await this.#authorizer.authorize(caller, permission, resource);
    } catch (error) {
      await this.#audit.record({
        project: projectOf(resource) ?? '-',
        method,
        resource,
        caller,
        outcome: 'DENIED',
        status: 'PERMISSION_DENIED',
        details: { permission },
      });
      throw error;
    }
    if (key !== undefined) {
      if (this.#allowed.size >= DECISION_CACHE_LIMIT) this.#allowed.clear();
      this.#allowed.set(key, now + DECISION_TTL_MS);
    }
  }

  /** Records an allowed administrative change (creates, updates, deletes). */
  async recordChange(access: Access, method: string, resource: string, details?: Record<string, unknown>) {
    await this.#audit.record({
      project: projectOf(resource) ?? '-',
      method,
      resource,
      caller: access.caller,
      outcome: 'ALLOWED',
      ...(details ? { details } : {}),
    });
  }
}
