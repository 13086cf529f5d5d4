// The cost limits every stored CEL policy is held to: an estimate checked when it is saved, a meter when it runs.

/**
 * In cost units of cost-model.ts (about 0.2 µs of CPU each at worst on the reference machine).
 * `estimated` bounds a stored expression's static worst case, for all of a provider's mapping and
 * condition together and for all the conditions of one IAM policy together. `runtime` aborts any
 * single evaluation (a provider's whole decision, or one IAM condition) past it; the result is a
 * denial. Estimates are upper bounds, so an admitted expression stays under the runtime limit on
 * any input within the size bounds it was estimated with.
 */
export const CEL_COST_LIMITS = {
  estimated: 1_000_000,
  runtime: 1_000_000,
} as const;
