// Output controls inside the workload: k distinct collaborators per value, a minimum count, and optional
// differential privacy with a per-collaborator (ε, δ) budget that is sealed before anything is released.
import { type DpPolicy, type OutputPolicy, parseOutputPolicy } from '@sealroom/core';
import {
  type Rational,
  type UniformSource,
  cryptoUniform,
  gaussianSigma2,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  toRational,
} from './dp-noise.ts';
import { WorkloadError } from './errors.ts';

/** One value of a result: its count and who contributed to it. */
export interface ValueTally {
  readonly count: number;
  readonly collaborators: readonly string[];
}

/** Spent budget per collaborator, as exact rationals (`num/den`), so no rounding ever lets a release through. */
export interface PrivacyLedgerSnapshot {
  readonly version: 1;
  readonly spent: Readonly<Record<string, { readonly epsilon: string; readonly delta: string }>>;
  readonly releases: number;
}

export interface PrivacyLedger {
  /** What a collaborator has spent so far. */
  spent(collaborator: string): { epsilon: number; delta: number };
  /** Charges one release to every collaborator, or throws (charging none) when one budget would be exceeded. */
  charge(collaborators: readonly string[], dp: DpPolicy): void;
  snapshot(): PrivacyLedgerSnapshot;
}

const ZERO: Rational = { num: 0n, den: 1n };
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
const add = (a: Rational, b: Rational): Rational => {
  const num = a.num * b.den + b.num * a.den;
  const den = a.den * b.den;
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
};
const atMost = (a: Rational, b: Rational) => a.num * b.den <= b.num * a.den;
const show = (r: Rational) => `${r.num}/${r.den}`;
const read = (text: string): Rational => {
  const match = /^(\d+)\/([1-9]\d*)$/.exec(text);
  if (!match) throw new WorkloadError('ERR_WORKLOAD_PRIVACY_BUDGET', 'the sealed privacy ledger is malformed');
  return { num: BigInt(match[1] as string), den: BigInt(match[2] as string) };
};

export function createPrivacyLedger(from?: PrivacyLedgerSnapshot): PrivacyLedger {
  const spent = new Map<string, { epsilon: Rational; delta: Rational }>(
    Object.entries(from?.spent ?? {}).map(([c, s]) => [c, { epsilon: read(s.epsilon), delta: read(s.delta) }]),
  );
  let releases = from?.releases ?? 0;
  return {
    spent(collaborator) {
      const s = spent.get(collaborator);
      return s
        ? { epsilon: Number(s.epsilon.num) / Number(s.epsilon.den), delta: Number(s.delta.num) / Number(s.delta.den) }
        : { epsilon: 0, delta: 0 };
    },
    charge(collaborators, dp) {
      const cost = { epsilon: toRational(dp.epsilon), delta: toRational(dp.delta) };
      const budget = { epsilon: toRational(dp.budget_epsilon), delta: toRational(dp.budget_delta) };
      const next = collaborators.map((c) => {
        const s = spent.get(c) ?? { epsilon: ZERO, delta: ZERO };
        return [c, { epsilon: add(s.epsilon, cost.epsilon), delta: add(s.delta, cost.delta) }] as const;
      });
      const over = next.find(([, s]) => !atMost(s.epsilon, budget.epsilon) || !atMost(s.delta, budget.delta));
      if (over) {
        throw new WorkloadError(
          'ERR_WORKLOAD_PRIVACY_BUDGET',
          `the privacy budget of ${over[0]} (ε=${dp.budget_epsilon}, δ=${dp.budget_delta}) does not allow another release`,
        );
      }
      for (const [c, s] of next) spent.set(c, s);
      releases += 1;
    },
    snapshot: () => ({
      version: 1,
      spent: Object.fromEntries([...spent].map(([c, s]) => [c, { epsilon: show(s.epsilon), delta: show(s.delta) }])),
      releases,
    }),
  };
}

export interface ReleaseOptions {
  /** Whose budgets a release spends: every collaborator whose data the result draws on. */
  readonly collaborators: readonly string[];
  /** Required when the policy has `dp`: the budgets, kept in the workload's sealed state. */
  readonly ledger?: PrivacyLedger;
  /** Seals the ledger (with the rest of the state) after the charge and before anything is released. */
  readonly persist?: () => Promise<void>;
  readonly uniform?: UniformSource;
}

export interface Release {
  /** The values released, with their (noisy, under DP) counts. */
  readonly values: Readonly<Record<string, number>>;
  /** How many values were withheld; which ones is never said. */
  readonly withheld: number;
  readonly policy: OutputPolicy;
  readonly privacy?: {
    readonly mechanism: DpPolicy['mechanism'];
    readonly epsilon: number;
    readonly delta: number;
    /** The count a noisy value needs to be released: max(min_count, the δ stability threshold). */
    readonly threshold: number;
    /** Each collaborator's spent budget after this release. */
    readonly spent: Readonly<Record<string, { epsilon: number; delta: number }>>;
  };
}

/**
 * The count a value that one contribution alone added must not reach but with probability δ: noise above
 * τ − 1 has probability ≤ e^{−ε(τ−1)} (discrete Laplace) or ≤ e^{−(τ−1)²/2σ²} (discrete Gaussian).
 */
function stabilityThreshold(dp: DpPolicy, sigma2: Rational | undefined): number {
  if (dp.mechanism === 'laplace') return 1 + Math.ceil(Math.log(1 / dp.delta) / dp.epsilon);
  const sigma = Math.sqrt(Number(sigma2?.num ?? 0n) / Number(sigma2?.den ?? 1n));
  return 1 + Math.ceil(sigma * Math.sqrt(2 * Math.log(2 / dp.delta)));
}

/**
 * Applies an output policy to a result and returns what may leave the workload: values contributed by
 * fewer than `min_collaborators` distinct collaborators are withheld; under DP, one release is charged to
 * every collaborator's budget and sealed (`persist`) first, counts get discrete Laplace or Gaussian noise
 * from a CSPRNG, and a value is released only if its noisy count reaches the threshold; without DP, only
 * if its count reaches `min_count`.
 */
export async function releaseResult(
  result: Readonly<Record<string, ValueTally>>,
  policy: OutputPolicy,
  options: ReleaseOptions,
): Promise<Release> {
  const entries = Object.entries(result).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const eligible = entries.filter(([, v]) => new Set(v.collaborators).size >= policy.min_collaborators);
  const dp = policy.dp;
  if (!dp) {
    const values = Object.fromEntries(
      eligible.filter(([, v]) => v.count >= policy.min_count).map(([k, v]) => [k, v.count]),
    );
    return { values, withheld: entries.length - Object.keys(values).length, policy };
  }
  if (!options.ledger) {
    throw new WorkloadError('ERR_WORKLOAD_PRIVACY_BUDGET', 'a policy with differential privacy needs a privacy ledger');
  }
  options.ledger.charge(options.collaborators, dp);
  await options.persist?.();
  const uniform = options.uniform ?? cryptoUniform;
  // Gaussian: half of δ for the mechanism, half for the threshold; Laplace: all of δ for the threshold.
  const sigma2 = dp.mechanism === 'gaussian' ? gaussianSigma2(dp.epsilon, dp.delta / 2) : undefined;
  const epsilon = toRational(dp.epsilon);
  const noise = () =>
    sigma2 ? sampleDiscreteGaussian(sigma2, uniform) : sampleDiscreteLaplace(epsilon.num, epsilon.den, uniform);
  const threshold = Math.max(policy.min_count, stabilityThreshold(dp, sigma2));
  const values: Record<string, number> = {};
  for (const [key, v] of eligible) {
    const noisy = v.count + Number(noise());
    if (noisy >= threshold) values[key] = noisy;
  }
  return {
    values,
    withheld: entries.length - Object.keys(values).length,
    policy,
    privacy: {
      mechanism: dp.mechanism,
      epsilon: dp.epsilon,
      delta: dp.delta,
      threshold,
      spent: Object.fromEntries(
        options.collaborators.map((c) => [c, options.ledger?.spent(c) ?? { epsilon: 0, delta: 0 }]),
      ),
    },
  };
}

/** What `outputPolicyOfClaims` reads of a token's claims; `Claims` (core's claims contract) is one. */
export interface OutputPolicyClaims {
  readonly submods?: { readonly sealroom?: { readonly output_policy?: unknown } };
}

/** The output policy in a token's claims (`submods.sealroom.output_policy`), or undefined when it has none. */
export function outputPolicyOfClaims(claims: OutputPolicyClaims): OutputPolicy | undefined {
  const value = claims.submods?.sealroom?.output_policy;
  if (value === undefined) return undefined;
  try {
    return parseOutputPolicy(value);
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'the token carries an output policy that does not parse', {
      cause,
    });
  }
}
