// IAM policies: parsing and validating `{version, bindings, etag}` exactly as Google's IAM API takes them.
import { checkIamConditions } from '@sealroom/cel';
import { fromBase64Lenient, toBase64 } from '@sealroom/core';
import { z } from 'zod';
import { IamError } from './errors.ts';
import { parseMember } from './members.ts';
import { isKnownRole } from './roles/index.ts';

export interface Binding {
  readonly role: string;
  readonly members: readonly string[];
  readonly condition?: { readonly expression: string; readonly title?: string; readonly description?: string };
}

export interface Policy {
  readonly version: number;
  readonly bindings: readonly Binding[];
  readonly etag: string;
}

/** The etag Google returns for a resource that never had a policy. */
export const EMPTY_POLICY_ETAG = 'ACAB';
export const MAX_MEMBERS_PER_POLICY = 1500;

const ConditionSchema = z
  .object({
    expression: z.string().min(1).max(12800),
    title: z.string().max(100).optional(),
    description: z.string().max(256).optional(),
    location: z.string().optional(),
  })
  .strict();

const BindingSchema = z
  .object({
    role: z.string(),
    members: z.array(z.string()).default([]),
    condition: ConditionSchema.optional(),
  })
  .strict();

const PolicySchema = z
  .object({
    version: z.union([z.number(), z.string()]).optional(),
    bindings: z.array(BindingSchema).default([]),
    etag: z.string().optional(),
    auditConfigs: z.array(z.unknown()).optional(),
  })
  .strict();

export interface ParsedPolicyInput {
  readonly version: number;
  readonly bindings: readonly Binding[];
  readonly etag: string | undefined;
}

/** Parses the `policy` of a setIamPolicy request and checks roles, members, version rules and limits. */
export function parsePolicyInput(input: unknown, universe: string): ParsedPolicyInput {
  const parsed = PolicySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IamError(
      'ERR_IAM_INVALID_POLICY',
      `Invalid policy: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'malformed'}.`,
    );
  }
  const raw = parsed.data;
  const version = raw.version === undefined ? 1 : Number(raw.version);
  if (![0, 1, 3].includes(version))
    throw new IamError('ERR_IAM_INVALID_POLICY', `Invalid policy version ${String(raw.version)}: use 1 or 3.`);
  // An etag is bytes: gcloud decodes the one it read and sends it back in the URL-safe alphabet, protobuf JSON
  // parsers accept both alphabets with or without padding. Compare bytes, so keep the canonical encoding.
  const etag = raw.etag === undefined ? undefined : toBase64(fromBase64Lenient(raw.etag, 'policy.etag'));
  let memberCount = 0;
  const bindings: Binding[] = [];
  for (const binding of raw.bindings) {
    if (!isKnownRole(binding.role)) {
      throw new IamError('ERR_IAM_UNKNOWN_ROLE', `Role ${binding.role} is not supported for this resource.`);
    }
    if (binding.condition && version !== 3) {
      throw new IamError('ERR_IAM_INVALID_POLICY', 'Conditional role bindings require policy version 3.');
    }
    const members = [...new Set(binding.members)];
    for (const member of members) parseMember(member, universe);
    memberCount += members.length;
    if (members.length === 0) continue;
    const condition = binding.condition
      ? {
          expression: binding.condition.expression,
          ...(binding.condition.title === undefined ? {} : { title: binding.condition.title }),
          ...(binding.condition.description === undefined ? {} : { description: binding.condition.description }),
        }
      : undefined;
    bindings.push({ role: binding.role, members, ...(condition ? { condition } : {}) });
  }
  if (memberCount > MAX_MEMBERS_PER_POLICY) {
    throw new IamError('ERR_IAM_INVALID_POLICY', `A policy may hold at most ${MAX_MEMBERS_PER_POLICY} members.`);
  }
  return { version: version === 0 ? 1 : version, bindings, etag };
}

/**
 * Compiles every condition of a parsed policy and checks it against the CEL cost estimate, alone
 * and all together, since one authorization may evaluate all of them (ERR_CEL_SYNTAX,
 * ERR_CEL_TOO_LONG, ERR_CEL_COST_ESTIMATE). Costly enough to run only for an authorized caller.
 */
export function checkPolicyConditions(policy: Pick<ParsedPolicyInput, 'bindings'>): void {
  checkIamConditions(policy.bindings.flatMap((b) => (b.condition ? [b.condition.expression] : [])));
}

/** Adds `member` to the binding of `role` (creating it), as `add-iam-policy-binding` does. */
export function addBinding(policy: Policy, role: string, member: string): Binding[] {
  const bindings = policy.bindings.map((b) => ({ ...b, members: [...b.members] }));
  const existing = bindings.find((b) => b.role === role && !b.condition);
  if (existing) {
    if (!existing.members.includes(member)) existing.members.push(member);
  } else {
    bindings.push({ role, members: [member] });
  }
  return bindings;
}

/** Removes `member` from the unconditional binding of `role`; drops the binding when it empties. */
export function removeBinding(policy: Policy, role: string, member: string): Binding[] {
  return policy.bindings
    .map((b) => (b.role === role && !b.condition ? { ...b, members: b.members.filter((m) => m !== member) } : b))
    .filter((b) => b.members.length > 0);
}
