import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneJson } from './clone.ts';

test('a clone of a JSON tree is equal to it and shares nothing with it', () => {
  const body = JSON.parse('{"a":[1,{"b":"c"},null,true],"d":{"e":{"f":[]}},"g":1.5}') as {
    a: [number, { b: string }];
    d: { e: { f: unknown[] } };
  };
  const copy = cloneJson(body);
  assert.deepEqual(copy, body);
  assert.deepEqual(copy, structuredClone(body));
  copy.a[1].b = 'changed';
  copy.d.e.f.push(1);
  assert.equal(body.a[1].b, 'c');
  assert.deepEqual(body.d.e.f, []);
});

test('a "__proto__" member stays a member and never becomes the prototype', () => {
  const body = JSON.parse('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>;
  const copy = cloneJson(body);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal((copy as { polluted?: boolean }).polluted, undefined);
  assert.deepEqual(Object.keys(copy), ['__proto__', 'x']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { polluted: true });
});

test('values that are not plain JSON are copied as structuredClone copies them', () => {
  const value = {
    when: new Date(0),
    bytes: Uint8Array.of(1, 2),
    holes: Object.assign(new Array<number>(3), { 0: 1, 2: 3 }),
    missing: undefined,
  };
  const copy = cloneJson(value);
  assert.deepEqual(copy, structuredClone(value));
  assert.notEqual(copy.bytes, value.bytes);
  assert.equal(1 in copy.holes, false);
  assert.equal(Object.hasOwn(copy, 'missing'), true);
  assert.throws(() => cloneJson({ f: () => 1 }));
});
