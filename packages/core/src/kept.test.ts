import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeptResults, deepFreeze } from './kept.ts';

describe('KeptResults', () => {
  it('computes once per key, hands every caller the same frozen result, and keeps no failure', () => {
    const kept = new KeptResults<string, { list: string[]; nested: { n: number } }>(4);
    let computed = 0;
    const make = () => {
      computed++;
      return { list: ['a'], nested: { n: 1 } };
    };
    const first = kept.get('k', make);
    assert.equal(kept.get('k', make), first);
    assert.equal(computed, 1);
    assert.throws(() => first.list.push('b'), TypeError);
    assert.throws(() => {
      first.nested.n = 2;
    }, TypeError);
    for (let round = 0; round < 2; round++) {
      assert.throws(
        () =>
          kept.get('bad', () => {
            computed++;
            throw new Error('refused');
          }),
        /refused/,
      );
    }
    assert.equal(computed, 3, 'a failure is computed again each time');
    assert.equal(kept.size, 1);
  });

  it('lets the least recently used go first when full', () => {
    const kept = new KeptResults<number, { v: number }>(3);
    const computed: number[] = [];
    const get = (k: number) =>
      kept.get(k, () => {
        computed.push(k);
        return { v: k };
      });
    for (const k of [1, 2, 3]) get(k);
    get(1); // now the most recently used: 2 goes first
    get(4);
    assert.equal(kept.size, 3);
    get(1);
    get(3);
    get(4);
    assert.deepEqual(computed, [1, 2, 3, 4]);
    get(2);
    assert.deepEqual(computed, [1, 2, 3, 4, 2], '2 was let go, and is computed again');
  });
});

describe('deepFreeze', () => {
  it("freezes objects, arrays and a Map's values, and leaves byte arrays as they are", () => {
    const bytes = Uint8Array.of(1, 2);
    const value = deepFreeze({ a: [{ b: 1 }], m: new Map([[1, { c: [2] }]]), bytes });
    assert.ok(Object.isFrozen(value) && Object.isFrozen(value.a) && Object.isFrozen(value.a[0]));
    assert.ok(Object.isFrozen(value.m.get(1)) && Object.isFrozen(value.m.get(1)?.c));
    bytes[0] = 9;
    assert.equal(value.bytes[0], 9);
  });
});
