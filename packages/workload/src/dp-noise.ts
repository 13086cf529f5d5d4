// Exact samplers of discrete Laplace and discrete Gaussian noise from a CSPRNG (Canonne, Kamath, Steinke 2020).
// Integer arithmetic and rational parameters throughout: no floating-point sampling, so none of the
// floating-point attacks on textbook Laplace noise (Mironov 2012) apply.
import { randomBytes } from 'node:crypto';
import { WorkloadError } from './errors.ts';

/** Uniform integers in [0, n) from a cryptographic source; injectable for tests. */
export type UniformSource = (n: bigint) => bigint;

/** Rejection sampling over whole bytes: exactly uniform, from `crypto.randomBytes`. */
export const cryptoUniform: UniformSource = (n) => {
  if (n <= 0n) throw new WorkloadError('ERR_WORKLOAD_DP_PARAMETER', 'uniform over an empty range');
  if (n === 1n) return 0n;
  const bits = (n - 1n).toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const candidate = BigInt(`0x${randomBytes(bytes).toString('hex')}`) & mask;
    if (candidate < n) return candidate;
  }
};

/** A non-negative rational num/den. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** The exact rational of a finite decimal number as JavaScript prints it (0.1 → 1/10, 1e-6 → 1/1000000). */
export function toRational(x: number): Rational {
  if (!Number.isFinite(x) || x < 0)
    throw new WorkloadError('ERR_WORKLOAD_DP_PARAMETER', `not a non-negative finite number: ${x}`);
  const [mantissa = '0', exponentText] = x.toString().split('e');
  const [whole = '0', fraction = ''] = mantissa.split('.');
  let num = BigInt(whole + fraction);
  let den = 10n ** BigInt(fraction.length);
  const exponent = Number(exponentText ?? 0);
  if (exponent > 0) num *= 10n ** BigInt(exponent);
  if (exponent < 0) den *= 10n ** BigInt(-exponent);
  return { num, den };
}

/** Bernoulli(num/den), num ≤ den. */
function bernoulli(p: Rational, uniform: UniformSource): boolean {
  return uniform(p.den) < p.num;
}

/** Bernoulli(exp(−γ)) for a rational γ ≥ 0 (CKS20 Algorithm 1). */
export function bernoulliExp(gamma: Rational, uniform: UniformSource): boolean {
  if (gamma.num <= gamma.den) {
    let k = 1n;
    for (;;) {
      if (!bernoulli({ num: gamma.num, den: gamma.den * k }, uniform)) break;
      k += 1n;
    }
    return k % 2n === 1n;
  }
  for (let i = 0n; i < gamma.num / gamma.den; i++) {
    if (!bernoulliExp({ num: 1n, den: 1n }, uniform)) return false;
  }
  return bernoulliExp({ num: gamma.num % gamma.den, den: gamma.den }, uniform);
}

/** A sample of the discrete Laplace distribution with scale t/s: P[x] ∝ exp(−|x|·s/t) (CKS20 Algorithm 2). */
export function sampleDiscreteLaplace(s: bigint, t: bigint, uniform: UniformSource = cryptoUniform): bigint {
  for (;;) {
    const u = uniform(t);
    if (!bernoulliExp({ num: u, den: t }, uniform)) continue;
    let v = 0n;
    while (bernoulliExp({ num: 1n, den: 1n }, uniform)) v += 1n;
    const y = (u + t * v) / s;
    const negative = uniform(2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** A sample of the discrete Gaussian N_Z(0, σ²) for a rational σ² (CKS20 Algorithm 3). */
export function sampleDiscreteGaussian(sigma2: Rational, uniform: UniformSource = cryptoUniform): bigint {
  const t = isqrt(sigma2.num / sigma2.den) + 1n;
  for (;;) {
    const y = sampleDiscreteLaplace(1n, t, uniform);
    // γ = (|y| − σ²/t)² / (2σ²) = (|y|·den·t − num)² / (2·num·den·t²)
    const a = (y < 0n ? -y : y) * sigma2.den * t - sigma2.num;
    if (bernoulliExp({ num: a * a, den: 2n * sigma2.num * sigma2.den * t * t }, uniform)) return y;
  }
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}

/**
 * σ² of the discrete Gaussian that gives (ε, δ)-DP at sensitivity 1: it is ρ-zCDP with ρ = 1/(2σ²)
 * (CKS20 Thm 4), and ρ-zCDP implies (ρ + 2√(ρ·ln(1/δ)), δ)-DP (Bun & Steinke 2016, Prop 1.3); ρ solves
 * that for ε. Rounded up, so the noise is never smaller than the accounting assumes.
 */
export function gaussianSigma2(epsilon: number, delta: number): Rational {
  const l = Math.log(1 / delta);
  const rootRho = Math.sqrt(l + epsilon) - Math.sqrt(l);
  const sigma2 = 1 / (2 * rootRho * rootRho);
  const den = 1n << 20n;
  return { num: BigInt(Math.ceil(sigma2 * Number(den))), den };
}
