// The one authorization decision every service calls: policies on a resource and its ancestors.
import { type Authorizer, type Caller, type ProjectResolver, permissionDenied } from '@sealroom/core';
import { type Member, memberMatches, parseMember } from './members.ts';
import type { DecisionCache } from './decisions.ts';
import type { PolicyStore } from './policy-store.ts';
import { canonicalResource } from './resource-canonical.ts';
import { roleGrants } from './roles/index.ts';

/** Evaluates an IAM condition; without one, conditional bindings never grant (fail closed). */
export type ConditionEvaluator = (
  expression: string,
  facts: { resource: string; nowMs: number },
) => boolean | Promise<boolean>;

export interface AuthorizerOptions {
  readonly policies: PolicyStore;
  readonly projects: ProjectResolver;
  readonly universe: string;
  readonly now: () => number;
  readonly evaluateCondition?: ConditionEvaluator;
  /** The deployment-managed groups a user or service account belongs to (read on each decision asked). */
  readonly groupsOf?: (principal: string) => Promise<readonly string[]>;
  /**
   * Where allowed decisions are kept for reuse (`createDecisionCache` over the database's IAM changes): only
   * those granted by a binding without a condition, dropped on any IAM change in any replica. Without it, every
   * call is evaluated.
   */
  readonly decisions?: DecisionCache;
}

export interface IamAuthorizer extends Authorizer {
  /** The canonical form policies are stored under (`projects/{number}/…`), or undefined when the project is unknown. */
  canonicalize(resource: string): Promise<string | undefined>;
}

export function createAuthorizer(options: AuthorizerOptions): IamAuthorizer {
  const members = new Map<string, Member | null>();
  const parse = (text: string): Member | null => {
    let member = members.get(text);
    if (member === undefined) {
      try {
        member = parseMember(text, options.universe);
      } catch {
        member = null;
      }
      if (members.size > 10_000) members.clear();
      members.set(text, member);
    }
    return member;
  };

  const canonicalize = (resource: string) => canonicalResource(options.projects, resource);

  /** `granted` by a binding without a condition, `conditional` by one with, or `false`. */
  const evaluate = async (
    caller: Caller | undefined,
    permission: string,
    resource: string,
  ): Promise<'granted' | 'conditional' | false> => {
    if (caller && caller.expiresAt <= options.now()) return false;
    const canonical = await canonicalize(resource);
    if (!canonical) return false;
    const segments = canonical.split('/');
    const chain: string[] = [];
    for (let n = 2; n <= segments.length; n += 2) chain.push(segments.slice(0, n).join('/'));
    const policies = await options.policies.getMany(chain);
    let groups: ReadonlySet<string> | undefined;
    const groupsOfCaller = async (): Promise<ReadonlySet<string>> => {
      if (!groups) {
        const member = caller && caller.kind !== 'federated' ? caller.principal : undefined;
        groups = new Set(member && options.groupsOf ? await options.groupsOf(member) : []);
      }
      return groups;
    };
    for (const policy of policies) {
      for (const binding of policy.bindings) {
        if (!roleGrants(binding.role, permission)) continue;
        if (binding.condition) {
          const evaluate = options.evaluateCondition;
          if (!evaluate) continue;
          let holds = false;
          try {
            holds = await evaluate(binding.condition.expression, { resource: canonical, nowMs: options.now() });
          } catch {
            holds = false;
          }
          if (!holds) continue;
        }
        for (const text of binding.members) {
          const member = parse(text);
          if (!member) continue;
          const managed = member.type === 'group' ? await groupsOfCaller() : undefined;
          if (memberMatches(member, caller, managed)) return binding.condition ? 'conditional' : 'granted';
        }
      }
    }
    return false;
  };

  /** `evaluate`, answered from the decision cache when an unconditional grant to this credential is kept. */
  const decision = async (
    caller: Caller | undefined,
    permission: string,
    resource: string,
  ): Promise<'granted' | 'conditional' | false> => {
    const { decisions } = options;
    if (decisions === undefined || caller === undefined) return evaluate(caller, permission, resource);
    if (decisions.allows(caller, permission, resource)) return 'granted';
    const askedAt = decisions.generation();
    const outcome = await evaluate(caller, permission, resource);
    if (outcome === 'granted') decisions.remember(caller, permission, resource, askedAt);
    return outcome;
  };

  const isAllowed = async (caller: Caller | undefined, permission: string, resource: string): Promise<boolean> =>
    (await decision(caller, permission, resource)) !== false;

  return {
    canonicalize,
    isAllowed,
    async decide(caller, permission, resource) {
      const outcome = await decision(caller, permission, resource);
      return { allowed: outcome !== false, reusable: outcome === 'granted' };
    },
    async authorize(caller, permission, resource) {
      if (!(await isAllowed(caller, permission, resource))) throw permissionDenied(permission, resource);
    },
  };
}
