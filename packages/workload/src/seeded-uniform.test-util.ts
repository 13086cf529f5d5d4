// Tests only: a seeded uniform source, so statistical checks of the DP samplers are reproducible.
import type { UniformSource } from './dp-noise.ts';

/** A seeded source (xorshift128+ with rejection) so the statistical checks below are reproducible. */
export function seededUniform(seed: number): UniformSource {
  let s0 = BigInt(seed) | 1n;
  let s1 = 0x9e3779b97f4a7c15n;
  const mask = (1n << 64n) - 1n;
  const next = () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & mask;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (s1 + y) & mask;
  };
  return (n) => {
    const bits = BigInt((n - 1n).toString(2).length);
    for (;;) {
      let v = 0n;
      for (let have = 0n; have < bits; have += 64n) v = (v << 64n) | next();
      v &= (1n << bits) - 1n;
      if (v < n) return v;
    }
  };
}
