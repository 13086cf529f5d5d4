// List concatenation: amortized in-place appends that keep every CEL list immutable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { celList, isCelList } from '@bufbuild/cel';
import { appendCopies, appendLists, isRecognisedList } from './append-list.ts';
import { toCelInput } from './input.ts';
import { compileCel } from './program.ts';

describe('list concatenation', () => {
  it('is recognised by @bufbuild/cel as one of its lists (its brand symbol still matches)', () => {
    assert.equal(isRecognisedList(), true);
  });

  it('keeps every list immutable while appending in place to the newest one', () => {
    const base = appendLists(celList([1n]), celList([2n]));
    const longer = appendLists(base, celList([3n]));
    const other = appendLists(base, celList([4n]));
    assert.ok(isCelList(longer) && isCelList(other));
    assert.deepEqual([...base], [1n, 2n]);
    assert.deepEqual([...longer], [1n, 2n, 3n]);
    assert.deepEqual([...other], [1n, 2n, 4n]);
    const result = compileCel('[1, 2, 3].map(x, x * 2) == [2, 4, 6] && [1, 2].filter(x, x > 1) + [5] == [2, 5]');
    assert.deepEqual(result.evaluate({}), { ok: true, value: true });
  });

  it('copies each item once when a map builds its result, and reads a long result back', () => {
    let built = celList([]);
    let copies = 0;
    for (let i = 0; i < 1000; i++) {
      const item = celList([BigInt(i)]);
      copies += appendCopies(built, item);
      built = appendLists(built, item);
    }
    assert.equal(copies, 1000);
    // @bufbuild/cel 0.6.1 nested one generator per `+`: reading this back overflowed the stack.
    const program = compileCel('l.map(x, x).exists(y, y == -1)', { runtimeCostLimit: Number.POSITIVE_INFINITY });
    const l = toCelInput(Array.from({ length: 20_000 }, (_, i) => i));
    assert.deepEqual(program.evaluate({ l }), { ok: true, value: false });
  });
});
