// Identifiers: version 7 UUIDs in the shape RFC 9562 gives, sorting in the order they were made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newUuidV7 } from './ids.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('newUuidV7: version 7, RFC 9562 variant, the given milliseconds in its first 48 bits', () => {
  const at = Date.UTC(2026, 11, 3, 12, 0, 0, 123);
  const id = newUuidV7(at);
  assert.match(id, UUID);
  assert.equal(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16), at);
});

test('newUuidV7: ids made one after another sort in that order while the 12-bit sequence does not wrap', () => {
  const start = Date.UTC(2026, 0, 1);
  const ids: string[] = [];
  // The sequence continues from earlier calls: stay within one turn of it whatever it starts at.
  const first = Number.parseInt(newUuidV7(start - 1).slice(15, 18), 16);
  for (let i = 0; i < 4095 - first; i++) ids.push(newUuidV7(start + Math.floor(i / 50)));
  assert.ok(ids.length > 0);
  assert.deepEqual([...ids].sort(), ids);
  for (const id of ids) assert.match(id, UUID);
  assert.equal(new Set(ids).size, ids.length);
});
