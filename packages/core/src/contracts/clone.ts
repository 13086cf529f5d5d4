// Deep copies of JSON trees (request bodies, token claims) without structuredClone's serialisation round trip.

/**
 * A deep copy of `value`. Plain objects, arrays and primitives (what `JSON.parse` yields) are copied member by
 * member, several times faster than `structuredClone`; anything else (a `Date`, a typed array, a `Map`) is
 * handed to `structuredClone`, so the result is the same as `structuredClone(value)` would give.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') {
    // structuredClone refuses functions and symbols; so does this.
    return typeof value === 'function' || typeof value === 'symbol' ? structuredClone(value) : value;
  }
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) if (i in value) copy[i] = cloneJson(value[i]);
    return copy as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = cloneJson((value as Record<string, unknown>)[key]);
    // `JSON.parse` makes "__proto__" an own member; an assignment would set the copy's prototype instead.
    if (key === '__proto__') {
      Object.defineProperty(copy, key, { value: member, enumerable: true, writable: true, configurable: true });
    } else copy[key] = member;
  }
  return copy as T;
}
