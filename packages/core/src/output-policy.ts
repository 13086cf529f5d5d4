// The output policy an image declares (label `sealroom.output_policy`): parsed once, carried into the token's claims.
import { createHash } from 'node:crypto';
import { CoreError } from './errors.ts';

/** The image label holding the policy as JSON; measured with the image config (its digest is `image_id`). */
export const OUTPUT_POLICY_LABEL = 'sealroom.output_policy';

export type DpMechanism = 'laplace' | 'gaussian';

/** Differential privacy of each release: (epsilon, delta) per release, out of a budget per collaborator. */
export interface DpPolicy {
  readonly mechanism: DpMechanism;
  readonly epsilon: number;
  readonly delta: number;
  readonly budget_epsilon: number;
  readonly budget_delta: number;
}

/** Field names are snake_case: the policy appears as is under `submods.sealroom.output_policy`. */
export interface OutputPolicy {
  /** A value is released only when at least this many distinct collaborators contributed to it. */
  readonly min_collaborators: number;
  /** …and when its count (its noisy count under DP) is at least this. */
  readonly min_count: number;
  readonly dp?: DpPolicy;
}

const MAX_COLLABORATORS = 1000;
const MAX_COUNT = 1_000_000_000;
const MAX_EPSILON = 100;

function fail(message: string): never {
  throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid output policy: ${message}.`);
}

function only(value: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) fail(`unknown field "${where}${key}"`);
}

function integer(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function real(value: unknown, name: string, check: (n: number) => boolean, rule: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) fail(`${name} must be ${rule}`);
  return value;
}

/** Parses and checks a policy object (the label's JSON, or the claim); unknown fields are refused. */
export function parseOutputPolicy(value: unknown): OutputPolicy {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('expected a JSON object');
  const v = value as Record<string, unknown>;
  only(v, ['min_collaborators', 'min_count', 'dp'], '');
  const policy = {
    min_collaborators: integer(v.min_collaborators, 'min_collaborators', 1, MAX_COLLABORATORS),
    min_count: integer(v.min_count, 'min_count', 1, MAX_COUNT, 1),
  };
  if (v.dp === undefined) return policy;
  if (v.dp === null || typeof v.dp !== 'object' || Array.isArray(v.dp)) fail('dp must be an object');
  const d = v.dp as Record<string, unknown>;
  only(d, ['mechanism', 'epsilon', 'delta', 'budget_epsilon', 'budget_delta'], 'dp.');
  if (d.mechanism !== 'laplace' && d.mechanism !== 'gaussian') fail('dp.mechanism must be "laplace" or "gaussian"');
  const epsilon = real(d.epsilon, 'dp.epsilon', (n) => n > 0 && n <= MAX_EPSILON, `above 0, at most ${MAX_EPSILON}`);
  // δ also bounds the chance that a value a single contribution added is released at all: it must be above 0.
  const delta = real(d.delta, 'dp.delta', (n) => n > 0 && n < 0.5, 'above 0 and below 0.5');
  const budgetEpsilon = real(d.budget_epsilon, 'dp.budget_epsilon', (n) => n >= epsilon, 'at least dp.epsilon');
  const budgetDelta = real(d.budget_delta, 'dp.budget_delta', (n) => n >= delta && n < 1, 'at least dp.delta, below 1');
  return {
    ...policy,
    dp: { mechanism: d.mechanism, epsilon, delta, budget_epsilon: budgetEpsilon, budget_delta: budgetDelta },
  };
}

/** Parses the label's text. */
export function parseOutputPolicyLabel(text: string): OutputPolicy {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(`the ${OUTPUT_POLICY_LABEL} label is not JSON`);
  }
  return parseOutputPolicy(value);
}

/** The canonical label text: fields in a fixed order, so equal policies have equal labels and digests. */
export function formatOutputPolicy(policy: OutputPolicy): string {
  const dp = policy.dp;
  return JSON.stringify({
    min_collaborators: policy.min_collaborators,
    min_count: policy.min_count,
    ...(dp
      ? {
          dp: {
            mechanism: dp.mechanism,
            epsilon: dp.epsilon,
            delta: dp.delta,
            budget_epsilon: dp.budget_epsilon,
            budget_delta: dp.budget_delta,
          },
        }
      : {}),
  });
}

/** `sha256:<hex>` of the canonical text, for a condition that pins one exact policy. */
export function outputPolicyDigest(policy: OutputPolicy): string {
  return `sha256:${createHash('sha256').update(formatOutputPolicy(policy)).digest('hex')}`;
}

/** The `submods.sealroom` claims of an image whose labels hold a policy (undefined when they hold none). */
export function outputPolicyClaims(
  labels: Readonly<Record<string, string>>,
): { output_policy: OutputPolicy; output_policy_digest: string } | undefined {
  const text = labels[OUTPUT_POLICY_LABEL];
  if (text === undefined) return undefined;
  const policy = parseOutputPolicyLabel(text);
  return { output_policy: policy, output_policy_digest: outputPolicyDigest(policy) };
}

/** One line a person reads: what a result released under this policy may contain. */
export function describeOutputPolicy(policy: OutputPolicy): string {
  const parts = [
    `a value is released only if at least ${policy.min_collaborators} distinct collaborator(s) contributed to it`,
    `and its count is at least ${policy.min_count}`,
  ];
  const dp = policy.dp;
  if (dp) {
    parts.push(
      `counts carry ${dp.mechanism} noise, each release spending ε=${dp.epsilon}, δ=${dp.delta} of a budget of ε=${dp.budget_epsilon}, δ=${dp.budget_delta} per collaborator`,
    );
  } else {
    parts.push('counts are exact (no differential privacy)');
  }
  return parts.join('; ');
}
