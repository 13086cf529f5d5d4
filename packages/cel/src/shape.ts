// Upper bounds on the size of CEL values, which the static cost estimate reasons with.

/**
 * What is known about a value's size, as upper bounds. `len` bounds a string's UTF-16 length or a
 * bytes value's length, `items` a list's or map's entry count, `deep` the whole value: its
 * characters, plus 1 per list item and 2 per map entry (key and value), recursively, and at least
 * 1. `elem` bounds every element of a list and every key and value of a map. A scalar has len 0,
 * items 0, deep 1. A JSON text of n characters has a deep size of at most n.
 */
export interface Shape {
  readonly len: number;
  readonly items: number;
  readonly deep: number;
  readonly elem: Shape | undefined;
}

export const SCALAR: Shape = { len: 0, items: 0, deep: 1, elem: undefined };

/** a × b where 0 × ∞ is 0 (a loop over nothing costs nothing, however costly its body). */
export function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : a * b;
}

export function stringShape(length: number): Shape {
  return { len: length, items: 0, deep: Math.max(1, length), elem: undefined };
}

export function listShape(items: number, elem: Shape, deep?: number): Shape {
  return { len: 0, items, deep: Math.max(1, deep ?? items + mul(items, elem.deep)), elem };
}

/** A map of up to `items` entries whose keys and values are bounded by `elem`. */
export function mapShape(items: number, elem: Shape): Shape {
  return { len: 0, items, deep: Math.max(1, 2 * items + mul(2 * items, elem.deep)), elem };
}

/**
 * Any JSON value whose text is at most `chars` characters: strings of up to `chars`, lists and
 * maps of up to chars/2 entries (`[0,0,…]`), every part bounded the same way.
 */
export function jsonShape(chars: number): Shape {
  return selfSimilar(chars, Math.ceil(chars / 2), chars);
}

/** A value nothing is known about (an undeclared variable). */
export const UNBOUNDED: Shape = jsonShape(Number.POSITIVE_INFINITY);

const MAX_JOIN_DEPTH = 16;

/** The least shape bounding both (either may be undefined: no elements). */
export function joinShapes(a: Shape | undefined, b: Shape | undefined, depth = 0): Shape | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  const len = Math.max(a.len, b.len);
  const items = Math.max(a.items, b.items);
  const deep = Math.max(a.deep, b.deep);
  if (depth >= MAX_JOIN_DEPTH || a.elem === a || b.elem === b) {
    // Bound everything below by one self-similar shape, as JSON is.
    const [aLen, aItems] = nestedBounds(a);
    const [bLen, bItems] = nestedBounds(b);
    const inner = selfSimilar(Math.max(aLen, bLen), Math.max(aItems, bItems), deep);
    return { len, items, deep, elem: a.elem === undefined && b.elem === undefined ? undefined : inner };
  }
  return { len, items, deep, elem: joinShapes(a.elem, b.elem, depth + 1) };
}

/** Bounds on len and items of anything nested inside `shape` (a part is never larger than its whole). */
function nestedBounds(shape: Shape): [len: number, items: number] {
  if (shape.elem === undefined) return [0, 0];
  if (shape.elem === shape) return [shape.len, shape.items];
  return [shape.deep, shape.deep];
}

function selfSimilar(len: number, items: number, deep: number): Shape {
  const shape: { len: number; items: number; deep: number; elem: Shape | undefined } = {
    len,
    items,
    deep: Math.max(1, deep),
    elem: undefined,
  };
  shape.elem = shape;
  return shape;
}

/** The shape of a part of `shape` whose deep size is at most `size`. */
export function capShape(shape: Shape, size: number): Shape {
  if (shape.deep <= size) return shape;
  const len = Math.min(shape.len, size);
  const items = Math.min(shape.items, size);
  if (shape.elem === shape) return selfSimilar(len, items, size);
  const elem = shape.elem === undefined ? undefined : capShape(shape.elem, size);
  return { len, items, deep: Math.max(1, size), elem };
}

/**
 * A bound on traversalOf (cost-model.ts) for any value of the shape: 1 per value, 0.1 per
 * character. 1 + deep always bounds it; a list or map of known elements is walked item by item.
 */
export function traversalBound(shape: Shape): number {
  const byDeep = 1 + shape.deep;
  if (shape.elem === shape) return byDeep;
  const asText = 1 + 0.1 * shape.len;
  const asContainer = shape.elem === undefined ? 1 : 1 + mul(2 * shape.items, traversalBound(shape.elem));
  return Math.min(byDeep, Math.max(asText, asContainer));
}
