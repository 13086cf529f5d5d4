// Results kept between requests: pure functions of their key (a log and the PCRs it is bound to, a certificate),
// bounded, and deep-frozen, because every later caller is handed the same object.

/**
 * Freezes `value` and everything it holds (byte arrays cannot be frozen and are left as they are; a Map's values
 * are frozen, its entries stay settable), so a caller handed a shared result cannot change what the next one reads.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of value instanceof Map ? value.values() : Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** At most `limit` results, the least recently used going first; a computation that throws is never kept. */
export class KeptResults<K, V> {
  readonly #limit: number;
  readonly #results = new Map<K, V>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#results.size;
  }

  /** The result kept under `key`, or `compute()`'s, deep-frozen and kept. */
  get(key: K, compute: () => V): V {
    const kept = this.#results.get(key);
    if (kept !== undefined) {
      this.#results.delete(key);
      this.#results.set(key, kept);
      return kept;
    }
    const result = deepFreeze(compute());
    if (this.#results.size >= this.#limit) this.#results.delete(this.#results.keys().next().value as K);
    this.#results.set(key, result);
    return result;
  }
}
