// List concatenation in amortized O(appended) time, so `map` and `filter` build their result in linear time.
import { type CelList, type CelValue, isCelList } from '@bufbuild/cel';

// @bufbuild/cel recognises its lists by this registered symbol (list.js); a regression test
// fails if an upgrade changes it.
const CEL_LIST_BRAND = Symbol.for('@bufbuild/cel/list');

/**
 * A view of the first `length` items of a shared array. Appending to the newest view pushes onto
 * the array and returns a longer view; older views keep their length, so every view stays
 * immutable. (@bufbuild/cel 0.6.1 nests one wrapper per `+`, which makes a list built by `map`
 * over n items cost O(n²) to read back.)
 */
class AppendList {
  readonly [CEL_LIST_BRAND] = {};
  readonly #items: CelValue[];
  readonly #length: number;

  constructor(items: CelValue[], length: number) {
    this.#items = items;
    this.#length = length;
  }

  get size(): number {
    return this.#length;
  }

  get(index: number): CelValue | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.#length) return undefined;
    return this.#items[index];
  }

  *values(): IterableIterator<CelValue> {
    for (let i = 0; i < this.#length; i++) yield this.#items[i] as CelValue;
  }

  [Symbol.iterator](): IterableIterator<CelValue> {
    return this.values();
  }

  /** Whether `+` can push onto the shared array (this is its newest view). */
  isNewest(): boolean {
    return this.#length === this.#items.length;
  }

  append(right: CelList): AppendList {
    const items = this.isNewest() ? this.#items : this.#items.slice(0, this.#length);
    for (const item of right) items.push(item);
    return new AppendList(items, items.length);
  }
}

// The library's list type is closed to outside implementations by an unexported symbol; the brand
// above is what it checks at run time.
const asCelList = (list: AppendList): CelList => list as unknown as CelList;

/** The number of items `left + right` copies: what the cost meter charges for it. */
export function appendCopies(left: CelList, right: CelList): number {
  return left instanceof AppendList && left.isNewest() ? right.size : left.size + right.size;
}

/** CEL `list + list`. */
export function appendLists(left: CelList, right: CelList): CelList {
  if (left instanceof AppendList) return asCelList(left.append(right));
  const items: CelValue[] = [];
  for (const item of left) items.push(item);
  for (const item of right) items.push(item);
  return asCelList(new AppendList(items, items.length));
}

/** True when @bufbuild/cel recognises an AppendList as one of its lists (checked by a test). */
export function isRecognisedList(): boolean {
  return isCelList(asCelList(new AppendList([], 0)));
}
