import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bernoulliExp,
  cryptoUniform,
  gaussianSigma2,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  toRational,
} from './dp-noise.ts';
import { seededUniform } from './seeded-uniform.test-util.ts';

const stats = (samples: bigint[]) => {
  const xs = samples.map(Number);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, variance, zero: xs.filter((x) => x === 0).length / xs.length };
};

test('decimals become exact rationals', () => {
  assert.deepEqual(toRational(0.5), { num: 5n, den: 10n });
  assert.deepEqual(toRational(0.1), { num: 1n, den: 10n });
  assert.deepEqual(toRational(1e-6), { num: 1n, den: 1000000n });
  assert.deepEqual(toRational(3), { num: 3n, den: 1n });
  assert.deepEqual(toRational(2.5e-7), { num: 25n, den: 100000000n });
  assert.throws(() => toRational(-1));
});

test('Bernoulli(exp(−γ)) has the right frequency below and above γ = 1', () => {
  const uniform = seededUniform(7);
  for (const [gamma, expected] of [
    [{ num: 1n, den: 2n }, Math.exp(-0.5)],
    [{ num: 5n, den: 2n }, Math.exp(-2.5)],
  ] as const) {
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (bernoulliExp(gamma, uniform)) hits += 1;
    assert.ok(Math.abs(hits / 20_000 - expected) < 0.015, `${hits / 20_000} vs ${expected}`);
  }
});

test('discrete Laplace noise at ε = 1 has mean 0, P[0] = tanh(1/2) and variance 2e/(e−1)²', () => {
  const uniform = seededUniform(11);
  const { mean, variance, zero } = stats(Array.from({ length: 20_000 }, () => sampleDiscreteLaplace(1n, 1n, uniform)));
  const q = Math.exp(-1);
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(zero - (1 - q) / (1 + q)) < 0.015, `P[0] ${zero}`);
  assert.ok(Math.abs(variance - (2 * q) / (1 - q) ** 2) < 0.12, `variance ${variance}`);
});

test('discrete Gaussian noise with σ² = 9 has mean 0 and variance ≈ 9', () => {
  const uniform = seededUniform(13);
  const { mean, variance } = stats(
    Array.from({ length: 10_000 }, () => sampleDiscreteGaussian({ num: 9n, den: 1n }, uniform)),
  );
  assert.ok(Math.abs(mean) < 0.12, `mean ${mean}`);
  assert.ok(Math.abs(variance - 9) < 0.5, `variance ${variance}`);
});

test('the Gaussian σ² meets the (ε, δ) target through zCDP, rounded towards more noise', () => {
  const targets: [number, number][] = [
    [1, 1e-5],
    [0.3, 1e-6],
    [4, 1e-9],
  ];
  for (const [epsilon, delta] of targets) {
    const s = gaussianSigma2(epsilon, delta);
    const rho = 1 / (2 * (Number(s.num) / Number(s.den)));
    const achieved = rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
    assert.ok(achieved <= epsilon && achieved > epsilon * 0.999, `${epsilon}: ${achieved}`);
  }
});

test('the crypto source is uniform over a small range', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[Number(cryptoUniform(3n))]! += 1;
  for (const c of counts) assert.ok(c > 850 && c < 1150, counts.join(','));
});
